"""Operator commands: flask --app wsgi ecoflow ..."""

import sys

import click
from flask.cli import AppGroup

from .extensions import db

ecoflow_cli = AppGroup("ecoflow", help="EcoFlow operator commands.")


@ecoflow_cli.command("seed-demo")
def seed_demo():
    """Load the demo bureaus, units, officers and complaints into an empty database."""
    from .demo import load_demo

    if not load_demo():
        click.echo("The database already has data; demo data not loaded.")
        return
    db.session.commit()
    click.echo("Demo data loaded: bureaus BJ, TJ, HE; password for every demo officer: ecoflow-demo")


@ecoflow_cli.group("audit")
def audit_cli():
    """The audit trail (留痕)."""


@audit_cli.command("verify")
def audit_verify():
    """Check every case's hash chain; name the cases whose records were changed or removed."""
    from .complaints.services import verify_audit_trails

    broken = verify_audit_trails()
    for case_no, problems in broken.items():
        click.echo(f"{case_no}: " + "; ".join(problems))
    if broken:
        click.echo(f"{len(broken)} case(s) with a broken audit trail.")
        sys.exit(1)
    click.echo("Every audit trail is intact.")
