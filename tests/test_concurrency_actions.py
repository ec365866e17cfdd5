"""Every action of the norm taken by eight officers' requests on one case at once: exactly one succeeds,
the seven others are 409 in the JSON error shape, never 5xx, and the case holds one event of it. On
PostgreSQL the requests really overlap (run with TEST_DATABASE_URL); SQLite queues them."""

from __future__ import annotations

from collections import Counter

import pytest
import time_machine

from ecoflow.norm.current import get_norm

from .test_concurrency import ClientTransport, action, at_once, audit_trails_intact
from .test_exchange import START, deliver, linked_case, transferred_case

THREADS = 8
INSTRUCTION = {"leader_name": "王明", "leader_title": "副市长", "text": "请核查。", "report_days": 5}
VISIT = {"who": "分管领导、承办人"}
ASSIGN = {"unit": "tongzhou", "officer": "bj-officer", "grade": "general", "categories": ["air"]}


def received(api):
    return api.register()["case_no"]


def accepted(api):
    case_no = received(api)
    api.ok(case_no, "accept", "bj-intake")
    return case_no


def assigned(api):
    case_no = accepted(api)
    api.ok(case_no, "assign", "bj-dispatcher", **ASSIGN)
    return case_no


def handling(api):
    return api.to_handling()


def paused(api):
    case_no = handling(api)
    api.ok(case_no, "pause", "bj-supervisor", reason="等待监测报告。")
    return case_no


def extension_asked(api):
    case_no = handling(api)
    api.ok(case_no, "request_extension", "bj-officer", days=3, reason="需要补充监测。")
    return case_no


def replied(api, **fields):
    case_no = api.to_handling(**fields)
    api.ok(case_no, "reply", "bj-officer", result="已整改", text="已处理。")
    return case_no


def verifying(api):
    case_no = replied(api, grade="key")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    return case_no


def closed(api):
    case_no = replied(api)
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    return case_no


PETITION = {"channel": "letter", "petition": True, "people_count": 6, "joint": True}


def key_case(api):
    return api.to_handling(grade="key")


def then(make, name, as_, **fields):
    """A case made by `make`, then taken through the action `name`."""

    def build(api):
        case_no = make(api)
        api.ok(case_no, name, as_, **fields)
        return case_no

    return build


def petition_handling(api):
    return api.to_handling(grade="key", **PETITION)


petition_replied = then(petition_handling, "reply", "bj-officer", result="已整改", text="已处理。")
reviewing = then(petition_replied, "request_review", "bj-intake", reason="对处理意见不服。")
reviewed = then(reviewing, "review_reply", "bj-leader", result="维持", text="经复查，维持原处理意见。")
rechecking = then(reviewed, "request_recheck", "bj-intake", reason="对复查意见不服。")
instructed = then(handling, "instruct", "bj-leader", **INSTRUCTION)


def lead(api, db):
    """A lead Hebei received from Beijing, in `received` at Hebei."""
    origin = transferred_case(api)
    db.session.rollback()
    deliver()
    return linked_case(db, origin).case_no


# action → (a case where it is allowed, who takes it, its fields)
CASES = {
    "accept": (received, "bj-intake", {}),
    "reject": (received, "bj-intake", {"reason": "不属于本局职责。", "referred_to": "区住建委"}),
    "merge": (received, "bj-intake", "merge"),
    "grade": (accepted, "bj-dispatcher", {"grade": "general", "categories": ["air"], "reason": "一般诉求"}),
    "assign": (accepted, "bj-dispatcher", ASSIGN),
    "sign": (assigned, "bj-officer", {}),
    "return": (handling, "bj-officer", {"reason": "不属于本单位。"}),
    "reassign": (handling, "bj-supervisor", {"unit": "chaoyang", "officer": "bj-officer2", "reason": "人员调整。"}),
    "regrade": (handling, "bj-supervisor", {"grade": "key", "reason": "媒体已关注。"}),
    "contact": (handling, "bj-officer", {"method": "phone", "note": "已电话联系。"}),
    "record_progress": (handling, "bj-officer", {"note": "已到现场。"}),
    "request_extension": (handling, "bj-officer", {"days": 3, "reason": "需要补充监测。"}),
    "approve_extension": (extension_asked, "bj-supervisor", {"approved": True, "note": "同意。"}),
    "pause": (handling, "bj-supervisor", {"reason": "等待监测报告。"}),
    "resume": (paused, "bj-supervisor", {"note": "报告已到。"}),
    "supervise": (handling, "bj-supervisor", {"note": "请尽快办理。"}),
    "whistle": (handling, "bj-officer", {"reason": "需联合执法。", "parties": ["unit_leader"]}),
    "reply": (handling, "bj-officer", {"result": "已整改", "text": "已处理。"}),
    "follow_up": (replied, "bj-intake", {"resolved": True, "satisfaction": "satisfied"}),
    "verify_close": (verifying, "bj-leader", {"note": "同意销号。"}),
    "reopen": (closed, "bj-supervisor", {"reason": "群众再次反映。"}),
    "transfer": (
        handling,
        "bj-officer",
        {
            "to_bureau": "HE",
            "reason": "污染源位于河北。",
            "callback": False,
            "suspected_source": "某化工厂",
            "asks": "请核查",
        },
    ),
    "sign_lead": ("lead", "he-intake", {}),
    "return_lead": ("lead", "he-intake", {"reason": "不属于本局辖区。"}),
    "request_review": (petition_replied, "bj-intake", {"reason": "对处理意见不服。"}),
    "review_reply": (reviewing, "bj-leader", {"result": "维持", "text": "经复查，维持原处理意见。"}),
    "request_recheck": (reviewed, "bj-intake", {"reason": "对复查意见不服。"}),
    "recheck_reply": (rechecking, "bj-leader", {"result": "维持", "text": "经复核，维持复查意见。"}),
    "name_leader": (key_case, "bj-supervisor", {"leader": "bj-leader"}),
    "instruct": (handling, "bj-leader", INSTRUCTION),
    "report_back": (instructed, "bj-officer", {"result": "已核查处理。"}),
    "plan_visit": (key_case, "bj-leader", {"planned_on": "2026年12月5日", "purpose": "现场查看。", **VISIT}),
    "record_visit": (key_case, "bj-leader", {"outcome": "企业已整改。", **VISIT}),
}


def test_the_table_has_every_action_people_take(app):
    with app.app_context():
        actions = get_norm().actions
    assert set(CASES) == set(actions) - {name for name, a in actions.items() if a.roles == {"system"}}


@pytest.mark.parametrize("name", list(CASES))
def test_eight_at_once_one_succeeds_the_others_are_409(api, db, app, name):
    make, as_, fields = CASES[name]
    with time_machine.travel(START, tick=True):
        case_no = lead(api, db) if make == "lead" else make(api)
        if fields == "merge":
            fields = {"into": received(api)}
        viewer = "he-supervisor" if make == "lead" else "bj-supervisor"
        version = api.complaint(case_no, as_=viewer)["version"]
        headers = api.headers(as_)
        transport = ClientTransport(app)

        answers = at_once(db, [action(transport, headers, case_no, name, version, **fields)] * THREADS)

        statuses = Counter(a.status for a in answers)
        assert statuses == {200: 1, 409: THREADS - 1}, answers
        for answer in answers:
            if answer.status == 409:
                assert set(answer.json) == {"error", "message", "details"}
                assert answer.json["error"] in ("stale_version", "action_not_allowed"), answer
        events = api.events(case_no, as_=viewer)
        assert [e["action"] for e in events].count(name) == 1
        assert audit_trails_intact()
