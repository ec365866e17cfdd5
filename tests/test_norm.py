"""The norm as data: workflows/ loads into one machine, a broken file stops start-up with a
message naming the file and the fault, and a change in workflows/ needs no change in code."""

import shutil
from pathlib import Path

import pytest
import yaml

from ecoflow import create_app
from ecoflow.norm import NormError, load_norm

from .conftest import Api

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


@pytest.fixture
def workflows(tmp_path):
    """An editable copy of workflows/: edit(file, function-of-the-loaded-yaml)."""
    directory = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, directory)

    def edit(name, change):
        path = directory / name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    edit.directory = directory
    return edit


def test_the_shipped_norm_loads(app):
    norm = load_norm(WORKFLOWS)
    assert set(norm.states) == {
        "received", "accepted", "rejected", "merged", "graded", "assigned", "handling", "transferred", "replied",
        "verifying", "closed", "returned", "reviewing", "rechecking", "awaiting_origin",
    }  # fmt: skip
    assert norm.actions["assign"].sources == ("graded", "accepted")
    assert norm.grades["general"].clocks["reply"].unit == "natural_days"


def test_one_machine_serves_every_complaint(app):
    assert app.extensions["ecoflow.machine"].models == []  # no complaint is ever registered on it


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "lifecycle.yaml",
            lambda d: d["actions"]["sign"].update(to="handlng"),
            "actions.sign.to: unknown state 'handlng'",
        ),
        ("lifecycle.yaml", lambda d: d["actions"]["sign"].update(roles=["janitor"]), "unknown role 'janitor'"),
        (
            "petition.yaml",
            lambda d: d["starts_on"].update(petition_close="acept"),
            "petition.yaml: starts_on.petition_close: unknown action 'acept'",
        ),
        (
            "petition.yaml",
            lambda d: d["clocks"].update(petition_close={"weeks": 8}),
            "petition.yaml: clocks.petition_close.weeks: Unknown field.",
        ),
        (
            "notices.yaml",
            lambda d: d.update(replied="答复：{answer}"),
            "notices.yaml: replied: unknown placeholder answer",
        ),
        ("notices.yaml", lambda d: d.pop("closed"), "notices.yaml: closed"),
        ("lifecycle.yaml", lambda d: d["actions"]["sign"].pop("from"), "actions.sign.from"),
        ("lifecycle.yaml", lambda d: d.update(initial="limbo"), "initial: unknown state 'limbo'"),
        ("lifecycle.yaml", lambda d: d["actions"]["reply"]["fields"]["text"].update(type="blob"), "type"),
        ("grades.yaml", lambda d: d["grades"]["general"]["clocks"]["reply"].update(hours=3), "exactly one of"),
        ("grades.yaml", lambda d: d["grades"]["general"]["clocks"].update(nap={"hours": 1}), "unknown clock 'nap'"),
        ("grades.yaml", lambda d: d["grades"]["key"]["clocks"]["reply"].update(working_days=-1), "working_days"),
        ("grading.yaml", lambda d: d.update(default_grade="whatever"), "default_grade"),
        ("catalog.yaml", lambda d: d.pop("channels"), "channels"),
        ("calendar.yaml", lambda d: d.update(holidays=["not a date"]), "holidays"),
        ("grading.yaml", lambda d: d["duplicates"].update(min_text_similarity=2), "min_text_similarity"),
        ("routing.yaml", lambda d: d["districts"].update({"210102": {"name": "和平区"}}), "in no bureau's"),
        ("routing.yaml", lambda d: d["districts"].update({"1101": {"name": "?"}}), "6-digit division code"),
        ("open311.yaml", lambda d: d["services"]["air"].update(category="smog"), "unknown category 'smog'"),
        ("open311.yaml", lambda d: d["jurisdictions"].update(BJ=["potholes"]), "unknown service 'potholes'"),
        ("open311.yaml", lambda d: d["services"]["air"]["attributes"][0].update(values={}), "list datatypes"),
        ("access.yaml", lambda d: d["bureau_wide"].append("janitor"), "bureau_wide: unknown role 'janitor'"),
        ("access.yaml", lambda d: d["pages"].update(intake="intake"), "pages.intake: a list of roles, or all"),
        ("access.yaml", lambda d: d["pages"].update(transfer=d["pages"].pop("transfers")), "each page of the menu"),
        ("access.yaml", lambda d: d.update(client_account="leader"), "client_account: a role of registers"),
    ],
)
def test_a_broken_file_stops_start_up_naming_file_and_fault(workflows, name, change, expected):
    workflows(name, change)
    with pytest.raises(NormError) as error:
        create_app({"WORKFLOWS_DIR": str(workflows.directory), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert f"workflows/{name}" in str(error.value)
    assert expected in str(error.value)


def test_unparseable_yaml_is_named(workflows):
    (workflows.directory / "grades.yaml").write_text("grades: [unclosed", encoding="utf-8")
    with pytest.raises(NormError, match=r"workflows/grades.yaml: not valid YAML"):
        load_norm(workflows.directory)


def test_missing_file_is_named(workflows):
    (workflows.directory / "catalog.yaml").unlink()
    with pytest.raises(NormError, match=r"workflows/catalog.yaml: file not found"):
        load_norm(workflows.directory)


def test_unknown_condition_is_named(workflows):
    workflows("lifecycle.yaml", lambda d: d["actions"]["follow_up"]["outcomes"][0].update(when="moon_is_full"))
    with pytest.raises(NormError, match="moon_is_full"):
        create_app({"WORKFLOWS_DIR": str(workflows.directory), "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_an_action_renamed_in_the_norm_while_the_table_names_it_stops_start_up(workflows):
    """casework/engine.py gives it effects: renamed or misspelt here, it must not silently lose them."""

    def rename(lifecycle):
        lifecycle["actions"]["oversee"] = lifecycle["actions"].pop("supervise")

    workflows("lifecycle.yaml", rename)
    with pytest.raises(NormError, match=r"no action 'supervise'.*open_supervision"):
        create_app({"WORKFLOWS_DIR": str(workflows.directory), "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.fixture
def api_on(database_uri, db, staff):
    """api_on(workflows): an API client of an app started on an edited norm, same database."""
    apps = []

    def start(workflows):
        app = create_app({
            "WORKFLOWS_DIR": str(workflows.directory), "SQLALCHEMY_DATABASE_URI": database_uri,
            "SECRET_KEY": "test-secret", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "TESTING": True,
        })  # fmt: skip
        apps.append(app)
        return Api(app.test_client())

    yield start
    for app in apps:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


def test_a_changed_clock_needs_no_code(workflows, api_on):
    workflows("grades.yaml", lambda d: d["grades"]["general"]["clocks"].update(reply={"natural_days": 3}))
    api = api_on(workflows)
    case_no = api.register(received_at="2026-11-02T09:00:00+08:00")["case_no"]
    api.ok(case_no, "accept", "bj-intake")
    graded = api.ok(case_no, "grade", "bj-dispatcher", grade="general", categories=["air"])
    reply = next(c for c in graded["clocks"] if c["kind"] == "reply")
    assert reply["due_at"] == "2026-11-05T01:00:00+00:00"


def test_a_new_state_and_action_need_no_code(workflows, api_on):
    """An operator adds a 'reviewing' step between reply and follow-up."""

    def add_review(data):
        data["states"]["reviewing"] = {"label": "审核中"}
        data["actions"]["review"] = {
            "label": "审核", "from": ["replied"], "to": "reviewing", "roles": ["supervisor"],
            "fields": {"note": {"type": "text", "required": True}},
        }  # fmt: skip
        data["actions"]["follow_up"]["from"] = ["reviewing"]

    workflows("lifecycle.yaml", add_review)
    api = api_on(workflows)
    case_no = api.to_handling()
    api.ok(case_no, "reply", "bj-officer", result="x", text="x")
    assert api.act(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied").status_code == 409
    assert api.act(case_no, "review", "bj-supervisor").status_code == 422  # its declared field is required
    reviewing = api.ok(case_no, "review", "bj-supervisor", note="答复内容规范")
    assert reviewing["state"] == "reviewing"
    assert api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")["state"] == "closed"
    assert api.events(case_no)[-2]["data"] == {"note": "答复内容规范"}


def _started_at(moment, workflows, database_uri, caplog) -> list[str]:
    """The warnings an app started at `moment` on `workflows` logs."""
    import time_machine

    with time_machine.travel(moment, tick=False), caplog.at_level("WARNING", logger="ecoflow"):
        app = create_app({"WORKFLOWS_DIR": str(workflows.directory), "SQLALCHEMY_DATABASE_URI": database_uri,
                          "SECRET_KEY": "test-secret", "TESTING": True})  # fmt: skip
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()
    return [r.getMessage() for r in caplog.records if "holidays" in r.getMessage()]


def test_start_up_warns_while_the_coming_years_holidays_are_not_known(workflows, database_uri, caplog):
    # The holiday library knows the years up to 2026; deadlines set in December run into 2027.
    assert _started_at("2026-06-01T09:00:00+08:00", workflows, database_uri, caplog) == []
    (warning,) = _started_at("2026-12-01T09:00:00+08:00", workflows, database_uri, caplog)
    assert "2027" in warning and "workflows/calendar.yaml" in warning
    caplog.clear()

    workflows("calendar.yaml", lambda d: d.update(holidays=["2027-01-01"]))  # the operator adds them
    assert _started_at("2026-12-01T09:00:00+08:00", workflows, database_uri, caplog) == []
