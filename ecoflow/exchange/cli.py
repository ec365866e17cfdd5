"""Operator commands: flask --app wsgi ecoflow exchange ...; run by the server's operator, they see and
retry every hosted bureau's messages (the API shows an officer his own bureaus' only)."""

import json
from pathlib import Path

import click
from flask import current_app

from ecoflow.errors import ApiError
from ecoflow.timeutil import utcnow
from ecoflow.transaction import unit_of_work

from . import outbox
from .trust import get_trust, new_private_key, public_key_text


@click.group("exchange")
def exchange_cli():
    """The exchange between bureaus: keys, monitoring, delivery, dead letters."""


@exchange_cli.command("keygen")
@click.argument("bureau")
@click.option("--force", is_flag=True, help="Replace an existing key (peers must then be given the new public key).")
def keygen(bureau, force):
    """Make BUREAU's Ed25519 key pair here; prints the public key for the peers' configuration."""
    path = Path(current_app.config["EXCHANGE_KEYS_DIR"]) / f"{bureau}.pem"
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; --force replaces it.")
    key = new_private_key(path)
    click.echo(f"Private key written to {path} (keep it there; never commit it).")
    click.echo(f"Public key of {bureau} for the peers registry:")
    click.echo(public_key_text(key))


@exchange_cli.command("public-key")
@click.argument("bureau")
def public_key(bureau):
    """Print the public key of a bureau this instance hosts."""
    trust = get_trust()
    if not trust.is_local(bureau):
        raise click.ClickException(f"This instance does not host {bureau}.")
    click.echo(public_key_text(trust.private[bureau]))


@exchange_cli.command("status")
def status():
    """Outbox and inbox per peer: queued, failing, delivered, dead; applied and refused."""
    click.echo(json.dumps(outbox.exchange_status(), ensure_ascii=False, indent=2))


@exchange_cli.command("deliver")
def deliver():
    """Deliver every due outbox message now (the scheduler does this on its own)."""
    click.echo(f"{outbox.deliver_outbox(utcnow())} message(s) delivered.")


@exchange_cli.command("retry")
@click.argument("message_id", required=False)
@click.option("--dead", is_flag=True, help="Every dead message (of --peer, if given).")
@click.option("--peer", help="With --dead: only those to this bureau.")
def retry(message_id, dead, peer):
    """Queue a dead or failing message again (by id), or every dead one (--dead)."""
    now = utcnow()
    if not dead and not message_id:
        raise click.UsageError("Name a message id or give --dead.")
    try:
        with unit_of_work():
            if dead:
                count = outbox.retry_dead(peer, now)
            else:
                outbox.retry(outbox.get_message(message_id), now)
                count = 1
    except ApiError as exc:  # unknown, or delivered already: said, not a traceback
        raise click.ClickException(exc.message) from None
    click.echo(f"{count} message(s) queued again.")
