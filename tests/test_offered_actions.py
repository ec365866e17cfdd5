"""Actions offered are actions that will be accepted (issue 14, item 5).

Over the whole norm: every state of workflows/lifecycle.yaml a case can reach (and the conditions
inside `handling` that decide `pause`, `resume` and `approve_extension`, and a lead from a peer
bureau at each of its steps), read by every demo role. An action in `allowed_actions` (what the API
returns and the web page draws a form for) taken with valid fields is accepted, never refused for a
reason the offer could have known (403, 409); an action not offered is refused. Every attempt is
made on a fresh case built to that point."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecoflow.exchange.outbox import deliver_outbox
from ecoflow.norm import load_norm
from ecoflow.timeutil import utcnow

from .conftest import Api
from .test_web import ThreadedClient, log_in

NORM = load_norm(Path(__file__).resolve().parent.parent / "workflows")

# The actions an officer can take: those of role `system` only are EcoFlow's own (the exchange).
OFFICER_ACTIONS = [name for name, action in NORM.actions.items() if action.roles - {"system"}]

# Who reads and acts, and the role of the norm each one holds. `assignee` is the officer the case is
# assigned to from `assigned` on (before, an officer like any); `other_officer` is one of another unit.
ACTORS = {
    "intake": "intake",
    "dispatcher": "dispatcher",
    "assignee": "officer",
    "other_officer": "officer",
    "supervisor": "supervisor",
    "leader": "leader",
}
USERNAMES = {
    "BJ": {"assignee": "bj-officer", "other_officer": "bj-officer2"},
    "HE": {"assignee": "he-officer", "other_officer": "he-officer2"},
}
UNIT = {"BJ": "tongzhou", "HE": "sanhe"}
OTHER_UNIT = {"BJ": "chaoyang", "HE": "supervision"}  # the other officer's
PEER = {"BJ": "HE", "HE": "BJ"}
LEADS = itertools.count(1)


def username(bureau: str, actor: str) -> str:
    return USERNAMES[bureau].get(actor) or f"{bureau.lower()}-{actor}"


# --- the cases ----------------------------------------------------------------------------------


def ok(api: Api, case: dict, action: str, as_: str, **fields) -> dict:
    """Take an action that must succeed on the case as last returned (its version); returns it anew."""
    path = f"/api/v1/complaints/{case['case_no']}/actions/{action}"
    response = api.post(path, as_, json={"version": case["version"], **fields})
    assert response.status_code == 200, (action, response.json)
    return response.json


# Each builder takes a new case to one point of its life, through the API, and returns it as the
# API last showed it.


def received(api: Api, **fields) -> dict:
    return api.register(**fields)


def accepted(api: Api) -> dict:
    return ok(api, received(api), "accept", "bj-intake")


def graded(api: Api) -> dict:
    return ok(api, accepted(api), "grade", "bj-dispatcher", grade="general", categories=["air"])


def assigned(api: Api) -> dict:
    return ok(api, graded(api), "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer")


def handling(api: Api, grade="general", **fields) -> dict:
    case = ok(api, received(api, **fields), "accept", "bj-intake")
    case = ok(api, case, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade=grade,
              categories=["air"])  # fmt: skip
    return ok(api, case, "sign", "bj-officer")


def handling_paused(api: Api) -> dict:
    return ok(api, handling(api), "pause", "bj-supervisor", reason="等待监测报告")


def first_extension_requested(api: Api) -> dict:
    return ok(api, handling(api), "request_extension", "bj-officer", days=2, reason="等待检测结果")


def second_extension_requested(api: Api) -> dict:
    """The first extension approved, a second asked for: the leader approves this one."""
    case = ok(api, first_extension_requested(api), "approve_extension", "bj-supervisor", approved=True)
    return ok(api, case, "request_extension", "bj-officer", days=2, reason="检测结果仍未出具")


def transferred(api: Api, **fields) -> dict:
    return ok(api, handling(api, **fields), "transfer", "bj-officer", to_bureau="HE", reason="污染源位于河北。")


def replied(api: Api, **fields) -> dict:
    return ok(api, handling(api, **fields), "reply", "bj-officer", result="已整改", text="经查属实，已责令整改。")


def verifying(api: Api) -> dict:
    return ok(api, replied(api, grade="key"), "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")


def closed(api: Api) -> dict:
    return ok(api, replied(api), "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")


# A formal petition (信访事项, workflows/petition.yaml): one extension, approved by the leader; 复查, 复核.
PETITION = {"channel": "letter", "petition": True, "people_count": 6, "joint": True}


def petition_handling(api: Api) -> dict:
    return handling(api, grade="key", **PETITION)


def petition_extension_requested(api: Api) -> dict:
    return ok(api, petition_handling(api), "request_extension", "bj-officer", days=30, reason="需第三方检测")


def petition_extended(api: Api) -> dict:
    """Its one extension approved: a second is not offered."""
    return ok(api, petition_extension_requested(api), "approve_extension", "bj-leader", approved=True)


def petition_replied(api: Api) -> dict:
    return replied(api, grade="key", **PETITION)


def reviewing(api: Api) -> dict:
    return ok(api, petition_replied(api), "request_review", "bj-intake", reason="对处理意见不服")


def reviewed(api: Api) -> dict:
    return ok(api, reviewing(api), "review_reply", "bj-leader", result="维持", text="经复查，维持原处理意见。")


def rechecking(api: Api) -> dict:
    return ok(api, reviewed(api), "request_recheck", "bj-intake", reason="对复查意见不服")


def instructed(api: Api) -> dict:
    """A leader's instruction waiting for its 报结."""
    fields = {"leader_name": "王明", "leader_title": "副市长", "text": "请核查。", "report_days": 5}
    return ok(api, handling(api), "instruct", "bj-leader", **fields)


def rejected(api: Api) -> dict:
    return ok(api, received(api), "reject", "bj-intake", reason="不属于本部门职责")


def merged(api: Api) -> dict:
    return ok(api, received(api), "merge", "bj-intake", into=received(api)["case_no"])


def lead_received(api: Api) -> dict:
    """A lead transferred by Beijing and delivered to Hebei: Hebei's case of it, in `received`."""
    summary = f"燕郊镇化工厂夜间排放废气，异味很重（线索 {next(LEADS)}）。"
    transferred(api, description=summary)
    deliver_outbox(utcnow())
    query = {"channel": "peer_transfer", "text": summary}
    (found,) = api.get("/api/v1/complaints", "he-supervisor", query_string=query).json["items"]
    return found


def lead_signed(api: Api) -> dict:
    return ok(api, lead_received(api), "sign_lead", "he-intake")


def lead_accepted(api: Api) -> dict:
    return ok(api, lead_signed(api), "accept", "he-intake")


def lead_handling(api: Api) -> dict:
    case = ok(api, lead_accepted(api), "assign", "he-dispatcher", unit="sanhe", officer="he-officer",
              grade="general", categories=["air"])  # fmt: skip
    return ok(api, case, "sign", "he-officer")


def lead_awaiting_origin(api: Api) -> dict:
    return ok(api, lead_handling(api), "reply", "he-officer", result="已查实并整改", text="已责令整改。")


def lead_returned(api: Api) -> dict:
    return ok(api, lead_signed(api), "return_lead", "he-intake", reason="污染源在北京境内。")


@dataclass(frozen=True)
class Scenario:
    name: str
    state: str  # the state of the norm the case is then in
    build: Callable[[Api], dict]
    bureau: str = "BJ"


SCENARIOS = [
    Scenario("received", "received", received),
    Scenario("accepted", "accepted", accepted),
    Scenario("graded", "graded", graded),
    Scenario("assigned", "assigned", assigned),
    Scenario("handling", "handling", handling),
    Scenario("handling_paused", "handling", handling_paused),
    Scenario("handling_first_extension_requested", "handling", first_extension_requested),
    Scenario("handling_second_extension_requested", "handling", second_extension_requested),
    Scenario("transferred", "transferred", transferred),
    Scenario("replied", "replied", replied),
    Scenario("verifying", "verifying", verifying),
    Scenario("closed", "closed", closed),
    Scenario("rejected", "rejected", rejected),
    Scenario("merged", "merged", merged),
    Scenario("lead_received", "received", lead_received, "HE"),
    Scenario("lead_signed", "received", lead_signed, "HE"),
    Scenario("lead_accepted", "accepted", lead_accepted, "HE"),
    Scenario("lead_handling", "handling", lead_handling, "HE"),
    Scenario("lead_returned", "returned", lead_returned, "HE"),
    Scenario("petition_handling", "handling", petition_handling),
    Scenario("petition_extension_requested", "handling", petition_extension_requested),
    Scenario("petition_extended", "handling", petition_extended),
    Scenario("petition_replied", "replied", petition_replied),
    Scenario("reviewing", "reviewing", reviewing),
    Scenario("reviewed", "closed", reviewed),
    Scenario("rechecking", "rechecking", rechecking),
    Scenario("lead_awaiting_origin", "awaiting_origin", lead_awaiting_origin, "HE"),
    Scenario("instructed", "handling", instructed),
]
BY_NAME = {s.name: s for s in SCENARIOS}


# --- valid fields for every action, from lifecycle.yaml's field definitions ----------------------


def valid_fields(api: Api, scenario: Scenario, action: str) -> dict:
    bureau = scenario.bureau
    fields = {
        "accept": {},
        "reject": {"reason": "不属于本部门职责", "referred_to": "区住建委"},
        "merge": {},  # `into`: a case registered for it, below
        "grade": {"grade": "general", "categories": ["air"]},
        "assign": {"unit": UNIT[bureau], "officer": username(bureau, "assignee"), "grade": "general",
                   "categories": ["air"]},
        "reassign": {"unit": OTHER_UNIT[bureau], "officer": username(bureau, "other_officer"), "reason": "人员调整"},
        "regrade": {"grade": "urgent", "reason": "现场正在偷排"},
        "sign": {},
        "return": {"reason": "非本单位辖区"},
        "contact": {"method": "电话", "note": "已联系诉求人"},
        "record_progress": {"note": "现场检查"},
        "request_extension": {"days": 2, "reason": "等待检测结果"},
        "approve_extension": {"approved": True, "note": "同意"},
        "pause": {"reason": "等待监测报告"},
        "resume": {"note": "监测报告已出具"},
        "supervise": {"note": "请加快办理"},
        "whistle": {"reason": "需联合执法"},
        "reply": {"result": "已整改", "text": "经查属实，已责令整改。"},
        "follow_up": {"resolved": True, "satisfaction": "satisfied"},
        "verify_close": {"note": "现场复核，同意销号。"},
        "reopen": {"reason": "群众再次反映"},
        "transfer": {"to_bureau": PEER[bureau], "reason": "污染源位于兄弟单位辖区。"},
        "sign_lead": {},
        "return_lead": {"reason": "污染源不在本辖区。"},
        "instruct": {"leader_name": "王明", "leader_title": "副市长", "text": "请核查。", "report_days": 5},
        "report_back": {"result": "已核查处理。"},
        "plan_visit": {"planned_on": "2026年12月5日", "who": "分管领导、承办人", "purpose": "现场查看整改情况"},
        "record_visit": {"who": "分管领导、承办人", "outcome": "企业已整改。"},
        "name_leader": {"leader": "bj-leader" if bureau == "BJ" else "he-leader"},
        "request_review": {"reason": "对处理意见不服"},
        "review_reply": {"result": "维持", "text": "经复查，维持原处理意见。"},
        "request_recheck": {"reason": "对复查意见不服"},
        "recheck_reply": {"result": "维持", "text": "经复核，维持复查意见。"},
    }  # fmt: skip
    if action == "merge":
        fields["merge"] = {"into": api.register(as_=f"{bureau.lower()}-intake")["case_no"]}
    return fields[action]


def test_every_state_is_reached_and_every_officer_action_has_valid_fields_here(api):
    """A new state or action in lifecycle.yaml needs a scenario or its fields here; the fields
    given are the action's own, its required ones among them."""
    assert {scenario.state for scenario in SCENARIOS} == set(NORM.states)
    for name in OFFICER_ACTIONS:
        given = set(valid_fields(api, BY_NAME["handling"], name))
        declared = NORM.actions[name].fields
        assert {f for f, spec in declared.items() if spec.get("required")} <= given <= set(declared), name


# --- reading the offer and taking the action ---------------------------------------------------


@pytest.fixture
def cases(api, make_officer):
    """cases(scenario) → the case number of a new case built to the scenario's point."""
    make_officer("he-officer2", ["officer"], bureau="HE", unit="supervision")

    def build(scenario: Scenario) -> str:
        case = scenario.build(api)
        assert case["state"] == scenario.state, (scenario.name, case["state"])
        return case["case_no"]

    return build


def offer(api: Api, case_no: str, as_: str) -> tuple[list[str], int]:
    response = api.get(f"/api/v1/complaints/{case_no}", as_)
    assert response.status_code == 200, response.json
    return response.json["allowed_actions"], response.json["version"]


def take(api: Api, scenario: Scenario, case_no: str, action: str, as_: str, version: int):
    fields = valid_fields(api, scenario, action)
    return api.post(f"/api/v1/complaints/{case_no}/actions/{action}", as_, json={"version": version, **fields})


def outcome(response) -> str:
    body = response.json or {}
    return f"{response.status_code} {body.get('error')}: {body.get('message')}"


REFUSED = (403, 409)


def norm_allows(scenario: Scenario, actor: str, name: str) -> bool:
    """What the norm's table says by itself: the state, the role and the assignee. The offer has
    still to weigh the action's conditions (a pause to resume, a pending request and its approver,
    a lead from a peer)."""
    action = NORM.actions[name]
    return (
        scenario.state in action.sources
        and ACTORS[actor] in action.roles
        and (not action.assignee_only or actor == "assignee")
    )


def allowed_by_the_norm():
    for scenario in SCENARIOS:
        for actor in ACTORS:
            for name in OFFICER_ACTIONS:
                if norm_allows(scenario, actor, name):
                    yield pytest.param(scenario.name, actor, name, id=f"{scenario.name}-{actor}-{name}")


@pytest.mark.parametrize(("scenario", "actor", "action"), list(allowed_by_the_norm()))
def test_an_action_is_offered_if_and_only_if_it_is_accepted(api, cases, scenario, actor, action):
    """On a fresh case: offered, taking it with valid fields succeeds; not offered, it is refused."""
    scenario = BY_NAME[scenario]
    case_no = cases(scenario)
    as_ = username(scenario.bureau, actor)
    offered, version = offer(api, case_no, as_)

    response = take(api, scenario, case_no, action, as_, version)

    if action in offered:
        assert response.status_code not in REFUSED, f"offered, then refused: {outcome(response)}"
        assert response.status_code == 200, outcome(response)
    else:
        assert response.status_code in REFUSED, f"not offered, yet: {outcome(response)}"
        assert response.json["error"] != "stale_version"


@pytest.mark.parametrize("scenario", [s.name for s in SCENARIOS])
def test_an_action_the_norm_rules_out_is_neither_offered_nor_accepted(api, cases, scenario):
    """The cheap converse, every actor and every action the state, the role or the assignee rules
    out: not offered, and refused when taken (one case will do: a refusal changes nothing)."""
    scenario = BY_NAME[scenario]
    case_no = cases(scenario)
    wrong = []
    for actor in ACTORS:
        as_ = username(scenario.bureau, actor)
        offered, version = offer(api, case_no, as_)
        for name in OFFICER_ACTIONS:
            if norm_allows(scenario, actor, name):
                continue  # the test above
            if name in offered:
                wrong.append((actor, name, "offered"))
            response = take(api, scenario, case_no, name, as_, version)
            if response.status_code not in REFUSED or response.json["error"] == "stale_version":
                wrong.append((actor, name, outcome(response)))
                case_no = cases(scenario)  # it changed: start again from the state
                offered, version = offer(api, case_no, as_)
    assert wrong == []


def web_forms(client, case_no: str) -> list[str]:
    """The actions the officer web page of the case draws a form for."""
    page = client.get(f"/complaints/{case_no}")
    assert page.status_code == 200
    return re.findall(r'id="action-([a-z_]+)"', page.text)


def test_every_officer_action_is_offered_somewhere_and_the_web_page_offers_the_same(app, api, cases):
    """The scenarios cover the norm: each action an officer can take is offered at least once. The
    case page draws a form for exactly the actions the API offers, so what holds for the one holds
    for the other."""
    browsers = {}

    def browser(as_):
        if as_ not in browsers:
            browsers[as_] = ThreadedClient(app.test_client())
            assert log_in(browsers[as_], as_).status_code == 302
        return browsers[as_]

    offered, differ = set(), []
    for scenario in SCENARIOS:
        case_no = cases(scenario)
        for actor in ACTORS:
            as_ = username(scenario.bureau, actor)
            by_api = offer(api, case_no, as_)[0]
            offered |= set(by_api)
            if web_forms(browser(as_), case_no) != by_api:
                differ.append((scenario.name, actor, by_api, web_forms(browser(as_), case_no)))
    assert differ == []
    assert offered == set(OFFICER_ACTIONS)
