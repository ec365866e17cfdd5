"""Operator commands: flask --app wsgi ecoflow ..."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .assessment import report
from .assessment.facts import rebuild_facts
from .assessment.hotspots import find_hotspots, raise_alerts
from .assessment.schemas import assessment_filter_schema
from .casework.clocks import retime_working_day_clocks
from .casework.trail import verify_audit_trails
from .complaints.history import rehash_complainants
from .complaints.leads import backfill_lead_cards
from .demo import load_demo
from .errors import ApiError
from .escalation.jobs import sweep
from .evidence.services import verify_attachments
from .exchange.cli import exchange_cli
from .extensions import db
from .intake.services import create_client, revoke_client
from .notifications.services import deliver_pending
from .officers import admin
from .officers.models import Officer
from .officers.schemas import officer_create_schema, officer_update_schema, unit_create_schema, unit_update_schema
from .rest import load
from .scheduling import make_scheduler
from .timeutil import SHANGHAI, as_utc, utcnow
from .transaction import unit_of_work

ecoflow_cli = AppGroup("ecoflow", help="EcoFlow operator commands.")
ecoflow_cli.add_command(exchange_cli)


@ecoflow_cli.command("seed-demo")
def seed_demo():
    """Load the demo bureaus, units, officers and complaints into an empty database."""
    with unit_of_work():
        loaded = load_demo()
    if not loaded:
        click.echo("The database already has data; demo data not loaded.")
        return
    click.echo("Demo data loaded: bureaus BJ, TJ, HE; password for every demo officer: ecoflow-demo")


@ecoflow_cli.group("audit")
def audit_cli():
    """The audit trail (留痕)."""


@audit_cli.command("verify")
def audit_verify():
    """Check every case's hash chain; name the cases whose records were changed or removed."""
    broken = verify_audit_trails()
    for case_no, problems in broken.items():
        click.echo(f"{case_no}: " + "; ".join(problems))
    # An attachment's hash is on its case's trail: a file swapped, or a row pointed at another file, shows here.
    evidence = verify_attachments()
    swapped = evidence["changed"] + evidence["off_record"]
    for item in swapped:
        click.echo(f"attachment {item['attachment']}: its file is not the one on the case's trail ({item['sha256']})")
    if broken or swapped:
        click.echo(f"{len(broken)} case(s) with a broken audit trail, {len(swapped)} attachment(s) not as recorded.")
        sys.exit(1)
    click.echo("Every audit trail is intact.")


@ecoflow_cli.group("attachments")
def attachments_cli():
    """Attachments (证据材料): their rows and their files."""


@attachments_cli.command("verify")
@click.option("--fix", is_flag=True, help="Remove files no attachment refers to (written over an hour ago).")
def attachments_verify(fix):
    """Report files without rows, rows whose file is missing or changed, rows not as on the trail."""
    report = verify_attachments(fix=fix)
    for item in report["missing"]:
        click.echo(f"attachment {item['attachment']}: file {item['sha256']} is missing")
    for item in report["changed"]:
        click.echo(f"attachment {item['attachment']}: file {item['sha256']} does not have that hash (changed)")
    for item in report["off_record"]:
        click.echo(f"attachment {item['attachment']}: hash {item['sha256']} is not the one on the case's trail")
    removed = set(report["removed"])
    for key in report["orphans"]:
        click.echo(f"file {key}: no attachment refers to it" + (" (removed)" if key in removed else ""))
    problems = len(report["missing"]) + len(report["changed"]) + len(report["off_record"])
    orphans = len(report["orphans"]) - len(removed)
    if problems or orphans:
        click.echo(f"{problems} attachment(s) with a problem, {orphans} file(s) without an attachment.")
        sys.exit(1)
    click.echo(f"Every attachment has its file; {len(removed)} orphan file(s) removed.")


@ecoflow_cli.command("backfill-leads")
def backfill_leads_command():
    """Give the leads received before lead cards existed a card, from what this database still knows."""
    with unit_of_work():
        counts = backfill_lead_cards()
    click.echo(
        f"{counts['filled']} lead card(s) filled from the origin's message; {counts['partial']} with the origin's "
        "bureau and case number only (the message is at the origin's instance)."
    )


@ecoflow_cli.command("rehash-complainants")
def rehash_complainants_command():
    """Key every complainant's phone number and address with HISTORY_KEY, for matching across bureaus."""
    with unit_of_work():
        changed = rehash_complainants()
    click.echo(f"{changed} complaint(s) rehashed.")


AT_FORMATS = ["%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M"]


@ecoflow_cli.command("sweep")
@click.option(
    "--at",
    "at",
    type=click.DateTime(AT_FORMATS),
    help="Sweep as if now were this time (Asia/Shanghai unless it names a zone).",
)
def sweep_command(at):
    """Run one sweep of the escalation ladder and print what it fired."""
    now = as_utc(at) if at else utcnow()
    fired = sweep(now)  # a unit of work per batch
    with unit_of_work():
        deliver_pending(now)
    for item in fired:
        click.echo(" ".join(f"{k}={v}" for k, v in item.items()))
    click.echo(f"{len(fired)} rung(s) fired at {now.isoformat()}.")


@ecoflow_cli.command("retime-clocks")
def retime_clocks_command():
    """Time every running working-day clock again by the calendar as it is now: run it after adding
    newly announced holidays to workflows/calendar.yaml and restarting."""
    with unit_of_work():
        moved = retime_working_day_clocks(utcnow())
    for case_no, kind, before, after in moved:
        before, after = (f"{t.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" for t in (before, after))
        click.echo(f"{case_no} {kind}: {before} → {after}")
    click.echo(f"{len(moved)} deadline(s) moved.")


@ecoflow_cli.command("scheduler")
def scheduler_command():
    """Run the scheduled jobs (the sweep every minute, notices) in this process, in the foreground."""
    click.echo("Scheduler started; Ctrl+C stops it.")
    make_scheduler(current_app._get_current_object(), blocking=True).start()


@ecoflow_cli.group("assessment")
def assessment_cli():
    """Assessment (三率 and more): facts, hotspots, the monthly report."""


@assessment_cli.command("rebuild")
def assessment_rebuild():
    """Recompute every assessment fact from the cases (once after upgrading a database with cases)."""
    with unit_of_work():
        written = rebuild_facts()
    click.echo(f"{written} assessment fact(s) written.")


@assessment_cli.command("hotspots")
@click.option("--at", "at", type=click.DateTime(AT_FORMATS), help="As if now were this time (Asia/Shanghai).")
@click.option("--alert/--no-alert", default=False, help="Also alert the coordination office, as the scheduler does.")
def assessment_hotspots(at, alert):
    """List the hotspots of the sliding window (and raise the alerts due)."""
    now = as_utc(at) if at else utcnow()
    with unit_of_work():
        alerted = {(c.area, c.category) for c in raise_alerts(now)} if alert else set()
    for cluster in find_hotspots(now):
        mark = " ALERT" if (cluster.area, cluster.category) in alerted else ""
        click.echo(
            f"{cluster.label} {cluster.category} cases={cluster.cases} previous={cluster.previous} "
            f"growth={cluster.growth:+d} bureaus={','.join(sorted(cluster.bureaus))}{mark}"
        )


@assessment_cli.command("report")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--bureau", help="One bureau (BJ, TJ, HE); default: every bureau the officer sees.")
@click.option("--as", "username", required=True, help="The officer the report is for (a leader, supervisor, ...).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Where to write the .xlsx.")
def assessment_report(month, bureau, username, output):
    """Write the monthly report (月报) as an Excel workbook."""
    officer = db.session.scalar(select(Officer).where(Officer.username == username))
    if officer is None:
        raise click.BadParameter(f"no officer named {username}", param_hint="--as")
    filters = load(assessment_filter_schema, {"month": month, **({"bureau": bureau} if bureau else {})})
    data = report.monthly_report(officer, filters, utcnow())
    output = output or report.filename(data)
    with open(output, "wb") as out:
        out.write(report.workbook(data).getvalue())
    click.echo(f"Monthly report {data['month']} written to {output}.")


def _create_client(name: str, channel: str, bureau: str, callback_url: str | None = None, decides_extensions=False):
    try:
        with unit_of_work():
            client, key = create_client(name, channel, bureau, callback_url, decides_extensions)
            line = f"{client.name} ({client.channel}, {client.bureau_code}): {key}"
            secret = client.secret
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    if secret is None:
        click.echo(line)
    else:  # a hotline centre: its token, and the secret that signs the calls both ways
        click.echo(f"{name} ({channel}, {bureau})")
        click.echo(f"token: {key}")
        click.echo(f"secret: {secret}")
    click.echo("Keep this key secret; it is shown only once.", err=True)


def _revoke_client(name: str, channel_prefix: str):
    try:
        with unit_of_work():
            revoke_client(name, channel_prefix)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{name}: key revoked.")


@ecoflow_cli.group("open311-key")
def open311_key_cli():
    """Keys of Open311 clients (citizen apps, city portals)."""


@open311_key_cli.command("create")
@click.argument("name")
@click.option("--bureau", required=True, help="The bureau the client files with: BJ, TJ or HE.")
def open311_key_create(name, bureau):
    """Create an Open311 client and print its api_key."""
    _create_client(name, "online", bureau)


@open311_key_cli.command("revoke")
@click.argument("name")
def open311_key_revoke(name):
    """Revoke an Open311 client's api_key."""
    _revoke_client(name, "online")


@ecoflow_cli.group("hotline-account")
def hotline_account_cli():
    """System accounts of the 12345 and 12369 hotline centres."""


@hotline_account_cli.command("create")
@click.argument("name")
@click.option("--line", type=click.Choice(["12345", "12369"]), required=True, help="The hotline.")
@click.option("--bureau", required=True, help="The bureau the centre sends orders to: BJ, TJ or HE.")
@click.option("--callback-url", help="Where the centre takes its 回单 (https://; http:// on loopback only).")
@click.option("--decides-extensions", is_flag=True,
              help="The centre approves or refuses extension requests itself (needs --callback-url).")  # fmt: skip
def hotline_account_create(name, line, bureau, callback_url, decides_extensions):
    """Create a hotline centre's system account; print its token (Authorization: Bearer ...) and the
    secret that signs the calls between it and EcoFlow (docs/centres.md)."""
    _create_client(name, f"hotline_{line}", bureau, callback_url, decides_extensions)


@hotline_account_cli.command("revoke")
@click.argument("name")
def hotline_account_revoke(name):
    """Revoke a hotline centre's token."""
    _revoke_client(name, "hotline_")


# --- 管理: units and officers, the same rules (and the same trail) as the pages and the API ---------


def _administer(change, data: dict | None = None, schema=None):
    """Run an administration change as one unit of work (the operator on the server: actor None);
    what it returns, or the error as the command's failure."""
    try:
        payload = load(schema, data) if schema is not None else None
        with unit_of_work():
            return change(payload)
    except ApiError as exc:
        fields = exc.details.get("fields")
        raise click.ClickException(exc.message + (f" {fields}" if fields else "")) from None


def _roles(values) -> list[dict]:
    """--role officer or --role leader@tongzhou (a role held for one unit)."""
    return [dict(zip(("role", "unit"), value.split("@", 1), strict=False)) for value in values]


def _print_password(username: str, password: str):
    click.echo(f"{username}: one-time password {password}")
    click.echo("Shown only once; it must be changed at the first login.", err=True)


@ecoflow_cli.command("bootstrap")
@click.option("--bureau", required=True, help="The bureau of workflows/catalog.yaml: BJ, TJ or HE.")
@click.option("--admin", "username", required=True, help="The first administrator's username.")
@click.option("--name", default="系统管理员", show_default=True, help="The administrator's name.")
def bootstrap_command(bureau, username, name):
    """First run: the bureau and its first administrator, with a one-time password printed once."""
    data = {"username": username, "name": name, "roles": [{"role": "admin"}], "bureau": bureau}
    officer, password = _administer(
        lambda d: admin.bootstrap(d["bureau"], d["username"], d["name"], utcnow()), data, officer_create_schema
    )
    _print_password(officer.username, password)


@ecoflow_cli.group("unit")
def unit_cli():
    """A bureau's units (承办单位)."""


@unit_cli.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--bureau", required=True)
@click.option("--leader", help="The username of its 分管领导.")
def unit_create(code, name, bureau, leader):
    """Create a unit."""
    data = {"code": code, "name": name, "bureau": bureau, "leader": leader}
    unit = _administer(lambda d: admin.create_unit(None, d, utcnow()), data, unit_create_schema)
    click.echo(f"{unit.bureau_code} {unit.code}: {unit.name}")


@unit_cli.command("update")
@click.argument("code")
@click.option("--bureau", required=True)
@click.option("--name")
@click.option("--leader", help="The username of its 分管领导; '' for nobody.")
@click.option("--active/--inactive", default=None, help="Put in use, or deactivate (refused while it has open cases).")
def unit_update(code, bureau, name, leader, active):
    """Rename a unit, set its 分管领导, deactivate or reactivate it."""
    data = {k: v for k, v in {"name": name, "leader": leader, "active": active}.items() if v is not None}
    if leader == "":
        data["leader"] = None
    unit = _administer(lambda d: admin.update_unit(None, bureau, code, d, utcnow()), data, unit_update_schema)
    click.echo(f"{unit.bureau_code} {unit.code}: {unit.name}{'' if unit.is_active else ' (deactivated)'}")


@ecoflow_cli.group("officer")
def officer_cli():
    """A bureau's officers: create, change roles, deactivate, unlock, reset a password."""


@officer_cli.command("create")
@click.argument("username")
@click.option("--name", required=True)
@click.option("--bureau", required=True)
@click.option("--unit", help="The unit's code.")
@click.option("--phone")
@click.option("--role", "roles", multiple=True, required=True, help="A role, or role@unit; repeat for several.")
def officer_create(username, name, bureau, unit, phone, roles):
    """Create an officer and print a one-time password."""
    data = {"username": username, "name": name, "bureau": bureau, "unit": unit, "phone": phone, "roles": _roles(roles)}
    officer, password = _administer(lambda d: admin.create_officer(None, d, utcnow()), data, officer_create_schema)
    _print_password(officer.username, password)


@officer_cli.command("update")
@click.argument("username")
@click.option("--name")
@click.option("--unit")
@click.option("--phone")
@click.option("--role", "roles", multiple=True, help="A role, or role@unit: replaces the officer's roles.")
def officer_update(username, name, unit, phone, roles):
    """Change an officer's name, unit, phone or roles."""
    data = {k: v for k, v in {"name": name, "unit": unit, "phone": phone}.items() if v is not None}
    if roles:
        data["roles"] = _roles(roles)
    officer = _administer(lambda d: admin.update_officer(None, username, d, utcnow()), data, officer_update_schema)
    click.echo(f"{officer.username}: saved.")


@officer_cli.command("deactivate")
@click.argument("username")
def officer_deactivate(username):
    """Deactivate an officer (refused while they hold open cases); their sessions and tokens end."""
    _administer(lambda _: admin.deactivate_officer(None, username, utcnow()))
    click.echo(f"{username}: deactivated.")


@officer_cli.command("unlock")
@click.argument("username")
def officer_unlock(username):
    """Lift a lockout after too many wrong passwords."""
    _administer(lambda _: admin.unlock_officer(None, username, utcnow()))
    click.echo(f"{username}: unlocked.")


@officer_cli.command("reset-password")
@click.argument("username")
def officer_reset_password(username):
    """Print a one-time password, to be changed at the next login."""
    _print_password(username, _administer(lambda _: admin.reset_password(None, username, utcnow())))
