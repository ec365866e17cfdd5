"""The engine's table of effects: start-up refuses one that does not fit the norm, and an action's
effects run exactly once each, in the table's order. And the layers: no module imports one that
imports it."""

import functools

import grimp
import pytest

from ecoflow import create_app
from ecoflow.casework import access, engine
from ecoflow.complaints import leads
from ecoflow.norm import NormError

from .test_offered_actions import SCENARIOS, cases, offer, take, username  # noqa: F401  (cases: a fixture)


def test_an_effect_listed_twice_stops_start_up(monkeypatch):
    monkeypatch.setitem(engine.EFFECTS, "reply", (leads.tell_result, leads.tell_result))
    with pytest.raises(NormError, match=r"EFFECTS\['reply'\] lists tell_result more than once"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_a_precondition_naming_an_action_the_norm_lacks_stops_start_up(monkeypatch):
    monkeypatch.setitem(access.PRECONDITIONS, "aprove_extension", access.PRECONDITIONS["approve_extension"])
    expected = r"no action 'aprove_extension'.*guards with \(approval_refusal, _extension_by_whoever_decides\)"
    with pytest.raises(NormError, match=expected):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.fixture
def effects_run(monkeypatch):
    """Every effect of the table recorded as (action, effect) when it runs."""
    runs = []

    def recording(action, effect):
        @functools.wraps(effect)
        def run(step):
            runs.append((action, effect.__name__))
            effect(step)

        return run

    for action, entry in list(engine.EFFECTS.items()):
        monkeypatch.setitem(engine.EFFECTS, action, tuple(recording(action, effect) for effect in entry))
    return runs


@pytest.mark.parametrize("action", sorted(engine.EFFECTS))
def test_an_actions_effects_run_once_each_in_the_tables_order(api, cases, effects_run, action):  # noqa: F811
    table = [(action, effect.__name__) for effect in engine.EFFECTS[action]]
    for scenario in SCENARIOS:
        case_no = cases(scenario)
        for actor in ("intake", "dispatcher", "assignee", "supervisor", "leader"):
            who = username(scenario.bureau, actor)
            offered, version = offer(api, case_no, who)
            if action in offered:
                effects_run.clear()
                response = take(api, scenario, case_no, action, who, version)
                assert response.status_code == 200, response.json
                assert effects_run == table
                return
    pytest.fail(f"{action} is offered in no scenario")


def test_no_module_imports_one_that_imports_it():
    graph = grimp.build_graph("ecoflow")
    cycles = [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if graph.find_shortest_chain(importer=imported, imported=module)
    ]
    assert cycles == []
