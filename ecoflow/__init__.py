"""EcoFlow: the 京津冀生态环境接诉即办 norm as a Flask application."""

from __future__ import annotations

import logging

from flask import Flask

from .config import load_config
from .extensions import db, limiter, migrate
from .rest import RowId
from .scheduling import init_scheduler
from .timeutil import SHANGHAI, utcnow


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
    init_scheduler(app)
    return app


def register_extensions(app: Flask):
    from .extensions import configure_engine

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    limiter.init_app(app)
    with app.app_context():
        configure_engine(db.engine)


def register_norm(app: Flask):
    """Load workflows/ once; a broken file stops start-up here, naming the file and the fault."""
    from .casework.engine import CONDITIONS, EFFECTS, check_effects
    from .complaints.schemas import action_schemas, complaint_create_schema
    from .exchange.trust import Trust
    from .norm import current, load_norm

    norm = load_norm(app.config["WORKFLOWS_DIR"])
    for year in norm.calendar.unknown_years(utcnow().astimezone(SHANGHAI).date()):
        app.logger.warning(
            "The official holidays of %s are not known yet: deadlines running into %s count weekends only. "
            "Add the announced holidays and make-up working days to workflows/calendar.yaml.",
            year,
            year,
        )
    check_effects(norm, EFFECTS)
    current.install(app, norm, norm.build_machine(CONDITIONS))
    app.extensions["ecoflow.trust"] = Trust(app.config, list(norm.catalog["bureaus"]))
    app.extensions["ecoflow.schemas"] = {
        "create": complaint_create_schema(norm),
        "actions": action_schemas(norm),
    }
    register_assessment(app, norm)


def register_assessment(app: Flask, norm):
    """The assessment rules (workflows/assessment.yaml), and the listener that keeps its facts."""
    from .assessment import facts  # noqa: F401  (registers the listener)
    from .assessment.rules import load_rules

    app.extensions["ecoflow.assessment"] = load_rules(app.config["WORKFLOWS_DIR"], norm)


def register_blueprints(app: Flask):
    from .assessment.api import bp as assessment_api
    from .assessment.views import bp as assessment_views
    from .citizens.api import bp as citizens_api
    from .citizens.open311 import bp as open311
    from .citizens.views import bp as citizens_views
    from .complaints.api import bp as complaints_api
    from .complaints.views import bp as complaints_views
    from .escalation.api import bp as escalation_api
    from .escalation.views import bp as escalation_views
    from .exchange.api import bp as exchange_api
    from .exchange.api import peer_bp as exchange_peer_api
    from .exposure.api import bp as exposure_api
    from .exposure.views import bp as exposure_views
    from .intake.api import bp as intake_api
    from .notifications.api import bp as notifications_api
    from .notifications.views import bp as notifications_views
    from .officers.api import bp as officers_api
    from .officers.views import bp as officers_views
    from .web import init_web

    apis = (officers_api, complaints_api, escalation_api, notifications_api, exchange_api, exchange_peer_api,
            intake_api, open311, citizens_api, assessment_api, exposure_api)  # fmt: skip
    public = (citizens_views,)  # the citizens' lookup: no session, nothing for a forged form to borrow
    pages = (officers_views, complaints_views, escalation_views, notifications_views, assessment_views, exposure_views)
    for blueprint in (*apis, *public, *pages):
        app.register_blueprint(blueprint)
    init_web(app, (*apis, *public))


def register_errorhandlers(app: Flask):
    from .web import register_errorhandlers as register

    register(app)


def register_cli(app: Flask):
    from .cli import ecoflow_cli

    app.cli.add_command(ecoflow_cli)
    if not app.debug:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("transitions").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # a line per run of each job
