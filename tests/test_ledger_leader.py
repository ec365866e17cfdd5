"""包案领导: a key case on the ledger has a named leader, suggested from its unit's 分管领导, confirmed or
changed by a supervisor, shown on the case and the ledger; 销号 needs that leader or the bureau's leader."""

import pytest
import time_machine

from .conftest import shanghai
from .test_web import web  # noqa: F401 (a fixture)


@pytest.fixture
def leaders(make_officer, staff):
    """Two 分管领导 of 朝阳分局 and one of 督办室 (bj-leader holds the role for the whole bureau)."""
    make_officer("bj-leader-cy", ["leader"], unit="chaoyang", role_unit="chaoyang")
    make_officer("bj-leader-cy2", ["leader"], unit="chaoyang", role_unit="chaoyang")
    make_officer("bj-leader-db", ["leader"], unit="supervision", role_unit="supervision")


def key_case(api, **fields):
    return api.to_handling(grade="key", unit="chaoyang", officer="bj-officer2", **fields)


def test_a_case_going_onto_the_ledger_gets_its_units_leader_shown_on_the_ledger(api, leaders):
    case_no = key_case(api)
    case = api.complaint(case_no)
    assert case["on_ledger"] and case["ledger_leader"] == "bj-leader-cy"
    (entry,) = [e for e in api.get("/api/v1/supervision/ledger", "bj-supervisor").json if e["case_no"] == case_no]
    assert entry["leaders"] == ["bj-leader-cy"]
    general = api.to_handling()
    assert api.complaint(general)["ledger_leader"] is None
    refused = api.act(general, "name_leader", "bj-supervisor", leader="bj-leader")
    assert refused.status_code == 409 and refused.json["error"] == "not_on_ledger"


def test_the_supervisor_names_another_leader_who_is_told(api, leaders):
    case_no = key_case(api)
    assert "name_leader" not in api.complaint(case_no, as_="bj-dispatcher")["allowed_actions"]
    not_a_leader = api.act(case_no, "name_leader", "bj-supervisor", leader="bj-officer")
    assert not_a_leader.status_code == 422 and "leader" in not_a_leader.json["details"]["fields"]
    named = api.ok(case_no, "name_leader", "bj-supervisor", leader="bj-leader-db")
    assert named["ledger_leader"] == "bj-leader-db"
    inbox = api.get("/api/v1/notifications", "bj-leader-db").json
    assert any(case_no in n["message"] and "包案领导" in n["message"] for n in inbox["items"])
    event = api.events(case_no)[-1]
    assert event["data"]["leader"] == "bj-leader-db" and event["data"]["from_leader"] == "bj-leader-cy"


def test_only_the_named_leader_or_the_bureaus_leader_strikes_it_off(api, leaders):
    for striker in ("bj-leader-cy", "bj-leader"):
        case_no = key_case(api)
        api.ok(case_no, "reply", "bj-officer2", result="已整改", text="已整改。")
        api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
        other = api.act(case_no, "verify_close", "bj-leader-cy2", note="同意销号")
        assert other.status_code == 403 and other.json["error"] == "not_ledger_leader"
        assert "包案领导" in other.json["message"]
        assert "verify_close" not in api.complaint(case_no, as_="bj-leader-cy2")["allowed_actions"]
        assert api.ok(case_no, "verify_close", striker, note="同意销号")["state"] == "closed"


def test_a_key_case_not_visited_within_thirty_days_shows_on_the_board_until_its_leader_visits(api, leaders, web):  # noqa: F811
    with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
        case_no = key_case(api)

    def unvisited(at):
        with time_machine.travel(at, tick=False):
            return [e["case_no"] for e in api.get("/api/v1/supervision/unvisited", "bj-supervisor").json]

    assert case_no not in unvisited(shanghai(2026, 12, 2, 8))
    assert case_no in unvisited(shanghai(2026, 12, 2, 10))  # 30 days after it was graded
    with time_machine.travel(shanghai(2026, 12, 2, 10), tick=False):
        board = web("bj-supervisor").get("/supervision").text
        assert "重点案件未下访" in board and case_no in board.split('id="unvisited"')[1]
    visit = {"who": "朝阳分局分管领导、承办人"}
    with time_machine.travel(shanghai(2026, 12, 3, 9), tick=False):
        refused = api.act(
            case_no, "plan_visit", "bj-leader-cy2", planned_on="2026年12月5日", purpose="现场查看", **visit
        )
        assert refused.status_code == 403 and refused.json["error"] == "not_ledger_leader"
        api.ok(case_no, "plan_visit", "bj-leader-cy", planned_on="2026年12月5日", purpose="现场查看整改情况", **visit)
        api.ok(case_no, "record_visit", "bj-leader-cy", outcome="企业已停产整改，群众表示认可。", **visit)
    assert case_no not in unvisited(shanghai(2026, 12, 3, 10))
    assert case_no in unvisited(shanghai(2027, 1, 3, 10))
