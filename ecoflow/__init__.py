"""EcoFlow: the 京津冀生态环境接诉即办 norm as a Flask application."""

from __future__ import annotations

import logging
import os

from flask import Flask
from sqlalchemy.exc import DBAPIError

from .assessment.api import bp as assessment_api
from .assessment.facts import keep_facts
from .assessment.rules import load_rules
from .assessment.views import bp as assessment_views
from .casework.engine import CONDITIONS, check_tables
from .citizens.api import bp as citizens_api
from .citizens.open311 import bp as open311
from .citizens.views import bp as citizens_views
from .cli import ecoflow_cli
from .complaints.api import bp as complaints_api
from .complaints.intake import keep_masked_copy
from .complaints.schemas import action_schemas, complaint_create_schema
from .complaints.search_views import bp as search_views
from .complaints.views import bp as complaints_views
from .config import ProductionConfigError, load_config
from .escalation.api import bp as escalation_api
from .escalation.views import bp as escalation_views
from .evidence.api import bp as evidence_api
from .evidence.storage import keep_written, make_storage, remove_written
from .evidence.views import bp as evidence_views
from .exchange import inbox
from .exchange.api import bp as exchange_api
from .exchange.api import peer_bp as exchange_peer_api
from .exchange.handlers import HANDLERS
from .exchange.trust import Trust
from .exposure.api import bp as exposure_api
from .exposure.views import bp as exposure_views
from .extensions import configure_engine, db, limiter, listen_to_session, migrate
from .health import bp as health
from .intake.api import bp as intake_api
from .norm import current, load_norm
from .notifications.api import bp as notifications_api
from .notifications.views import bp as notifications_views
from .officers.admin_api import bp as admin_api
from .officers.admin_api import views_bp as personal_data_api
from .officers.admin_views import bp as admin_views
from .officers.api import bp as officers_api
from .officers.services import active_demo_accounts, forget_changed_officers, note_officer_changes
from .officers.views import bp as officers_views
from .openapi import bp as openapi_api
from .petitions.api import bp as petitions_api
from .petitions.reception_api import bp as receptions_api
from .petitions.views import bp as petitions_views
from .rest import RowId
from .routing import warm_up
from .scheduling import init_scheduler
from .timeutil import SHANGHAI, utcnow
from .web import init_web, register_errorhandlers


def create_app(config: dict | None = None) -> Flask:
    """Build the application; `config` overrides the defaults and the environment."""
    app = Flask(__name__, instance_relative_config=True)
    app.json.ensure_ascii = False  # Chinese text as UTF-8, not \u escapes
    load_config(app, config)
    register_norm(app)
    register_extensions(app)
    app.url_map.converters["int"] = RowId
    register_blueprints(app)
    register_errorhandlers(app)
    register_cli(app)
    if app.config["ENV_NAME"] == "production" and not os.environ.get("FLASK_RUN_FROM_CLI"):
        refuse_demo_accounts(app)  # the web; a command (flask ecoflow officer deactivate ...) may still run
    if app.config["WARM_UP"]:
        warm_up()
    init_scheduler(app)
    return app


def refuse_demo_accounts(app: Flask):
    """A production web start with an active account of `seed-demo` (its password is published) stops here."""
    with app.app_context():
        try:
            demo = active_demo_accounts()
        except DBAPIError:  # no schema yet: /readyz says so
            db.session.rollback()
            return
        finally:
            db.session.remove()
        if demo:
            db.engine.dispose()  # this app goes no further
    if demo:
        raise ProductionConfigError(
            f"ECOFLOW_ENV=production: the demo accounts {', '.join(demo)} are active (their password is published). "
            "Deactivate them: flask --app wsgi ecoflow officer deactivate <username>."
        )


def register_extensions(app: Flask):
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    limiter.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    # What every unit of work does besides its own: the assessment facts of what it wrote, and the
    # officer cache forgotten when officers or roles change.
    listen_to_session("after_flush", keep_facts)
    listen_to_session("before_flush", note_officer_changes)
    listen_to_session("before_flush", keep_masked_copy)
    listen_to_session("after_commit", forget_changed_officers)
    # Attachments' files: kept with their rows, removed again when the unit of work rolls back.
    app.extensions["ecoflow.storage"] = make_storage(app.config)
    listen_to_session("after_commit", keep_written)
    listen_to_session("after_soft_rollback", remove_written)


def register_norm(app: Flask):
    """Load workflows/ once; a broken file, or an engine table that does not fit it, stops start-up
    here, naming the file and the fault."""
    norm = load_norm(app.config["WORKFLOWS_DIR"])
    check_tables(norm)
    for year in norm.calendar.unknown_years(utcnow().astimezone(SHANGHAI).date()):
        app.logger.warning(
            "The official holidays of %s are not known yet: deadlines running into %s count weekends only. "
            "Add the announced holidays and make-up working days to workflows/calendar.yaml.",
            year,
            year,
        )
    current.install(app, norm, norm.build_machine(CONDITIONS))
    app.extensions["ecoflow.trust"] = Trust(app.config, list(norm.catalog["bureaus"]))
    app.extensions["ecoflow.schemas"] = {
        "create": complaint_create_schema(norm),
        "actions": action_schemas(norm),
    }
    app.extensions["ecoflow.assessment"] = load_rules(app.config["WORKFLOWS_DIR"], norm)
    inbox.install_handlers(app, HANDLERS)


def register_blueprints(app: Flask):
    apis = (officers_api, complaints_api, escalation_api, notifications_api, exchange_api, exchange_peer_api,
            intake_api, open311, citizens_api, assessment_api, exposure_api, openapi_api, evidence_api, admin_api,
            personal_data_api, petitions_api, receptions_api, health)  # fmt: skip
    public = (citizens_views,)  # the citizens' lookup: no session, nothing for a forged form to borrow
    pages = (officers_views, complaints_views, search_views, escalation_views, notifications_views, assessment_views,
             exposure_views, evidence_views, admin_views, petitions_views)  # fmt: skip
    for blueprint in (*apis, *public, *pages):
        app.register_blueprint(blueprint)
    init_web(app, (*apis, *public))


def register_cli(app: Flask):
    app.cli.add_command(ecoflow_cli)
    if not app.debug:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # a line per run of each job
