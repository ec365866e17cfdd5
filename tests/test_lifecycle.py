"""Every path through the norm's lifecycle, through the JSON API."""

import pytest


def actions_of(api, case_no):
    return [e["action"] for e in api.events(case_no)]


def test_general_case_from_intake_to_closure(api):
    created = api.register()
    case_no = created["case_no"]
    assert created["state"] == "received"
    assert created["clocks"] == []

    api.ok(case_no, "accept", "bj-intake")
    graded = api.ok(case_no, "grade", "bj-dispatcher", grade="general", categories=["air"])
    assert graded["state"] == "graded"
    assert {c["kind"] for c in graded["clocks"]} == {"first_contact", "reply"}
    assigned = api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer")
    assert (assigned["unit"], assigned["officer"]) == ("tongzhou", "bj-officer")
    api.ok(case_no, "sign", "bj-officer")
    contacted = api.ok(case_no, "contact", "bj-officer", method="phone", note="已联系")
    assert {c["kind"]: c["status"] for c in contacted["clocks"]} == {
        "sign": "met", "first_contact": "met", "reply": "running",
    }  # fmt: skip
    api.ok(case_no, "record_progress", "bj-officer", note="现场检查", evidence=["photo-1.jpg"])
    replied = api.ok(case_no, "reply", "bj-officer", result="已整改", text="经查属实，已责令整改。")
    assert replied["state"] == "replied"
    closed = api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="basically_satisfied")

    assert closed["state"] == "closed"
    assert closed["closed_at"] is not None
    assert closed["allowed_actions"] == []
    assert actions_of(api, case_no) == [
        "register", "accept", "grade", "assign", "sign", "contact", "record_progress", "reply", "follow_up",
    ]  # fmt: skip


def test_urgent_case_graded_and_assigned_in_one_step(api):
    case_no = api.register(description="河里大量死鱼，水面发黑，疑似化工厂泄漏。")["case_no"]
    suggestion = api.complaint(case_no)["suggestion"]
    assert suggestion["grade"] == "urgent"
    assert "water" in suggestion["categories"]
    api.ok(case_no, "accept", "bj-intake")

    assigned = api.ok(
        case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="urgent", categories=["water"]
    )

    assert assigned["state"] == "assigned"
    assert assigned["grade"] == "urgent"
    assert assigned["categories"] == ["water"]
    events = api.events(case_no)
    assert events[-1]["action"] == "assign" and events[-1]["from_state"] == "accepted"


def test_assign_from_accepted_needs_the_grade(api):
    case_no = api.register()["case_no"]
    api.ok(case_no, "accept", "bj-intake")

    response = api.act(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer")

    assert response.status_code == 422
    assert set(response.json["details"]["fields"]) == {"grade", "categories"}
    assert api.complaint(case_no)["state"] == "accepted"


def test_key_case_goes_through_verification_and_verify_close(api):
    case_no = api.to_handling(grade="key", categories=["air"])
    assert api.complaint(case_no)["on_ledger"] is True
    api.ok(case_no, "reply", "bj-officer", result="已查处", text="已立案查处。")

    verifying = api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    assert verifying["state"] == "verifying"
    assert verifying["closed_at"] is None
    assert api.act(case_no, "verify_close", "bj-supervisor", note="x").status_code == 403

    closed = api.ok(case_no, "verify_close", "bj-leader", note="现场复核，整改到位，同意销号。")
    assert closed["state"] == "closed"


def test_reject_records_the_reason(api):
    case_no = api.register()["case_no"]

    rejected = api.ok(case_no, "reject", "bj-intake", reason="不属于本部门职责", referred_to="区住建委")

    assert rejected["state"] == "rejected"
    assert api.events(case_no)[-1]["data"] == {"reason": "不属于本部门职责", "referred_to": "区住建委"}
    assert api.act(case_no, "accept", "bj-intake").status_code == 409


def test_merge_links_the_duplicate(api):
    first = api.register()["case_no"]
    second = api.register()["case_no"]

    merged = api.ok(second, "merge", "bj-intake", into=first)

    assert merged["state"] == "merged"
    assert merged["merged_into"] == first
    assert api.act(second, "merge", "bj-intake", into=second).status_code == 409


@pytest.mark.parametrize(
    ("into", "message_field"),
    [("BJ-20000101-9999", "into"), ("self", "into")],
)
def test_merge_refuses_unknown_or_self(api, into, message_field):
    case_no = api.register()["case_no"]
    response = api.act(case_no, "merge", "bj-intake", into=case_no if into == "self" else into)
    assert response.status_code == 422
    assert message_field in response.json["details"]["fields"]
    assert api.complaint(case_no)["state"] == "received"


def test_return_then_reassign_to_another_unit(api):
    case_no = api.to_handling()

    returned = api.ok(case_no, "return", "bj-officer", reason="污染源位于朝阳区，非本单位辖区")
    assert returned["state"] == "graded"
    assert returned["officer"] is None and returned["unit"] is None
    reassigned = api.ok(case_no, "assign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2")
    assert (reassigned["unit"], reassigned["officer"]) == ("chaoyang", "bj-officer2")
    # The first officer no longer answers for it; the new one does.
    assert api.act(case_no, "sign", "bj-officer").status_code == 403
    assert api.ok(case_no, "sign", "bj-officer2")["state"] == "handling"


def test_unsatisfied_follow_up_goes_back_to_handling_and_counts_a_reopening(api):
    case_no = api.to_handling()
    api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")

    reopened = api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="unsatisfied")

    assert reopened["state"] == "handling"
    assert reopened["reopen_count"] == 1
    reply_clocks = [c for c in reopened["clocks"] if c["kind"] == "reply"]
    assert [c["status"] for c in reply_clocks] == ["met", "running"]


def test_unresolved_follow_up_goes_back_to_handling(api):
    case_no = api.to_handling()
    api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")
    reopened = api.ok(case_no, "follow_up", "bj-intake", resolved=False, satisfaction="satisfied")
    assert (reopened["state"], reopened["reopen_count"]) == ("handling", 1)


def test_supervisor_reopens_a_closed_case(api):
    case_no = api.to_handling()
    api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")

    assert api.act(case_no, "reopen", "bj-officer", reason="x").status_code == 403
    reopened = api.ok(case_no, "reopen", "bj-supervisor", reason="群众再次反映问题反弹")

    assert reopened["state"] == "handling"
    assert reopened["closed_at"] is None
    assert reopened["reopen_count"] == 1
    api.ok(case_no, "reply", "bj-officer", result="再次整改", text="已再次整改。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    again = api.ok(case_no, "reopen", "bj-supervisor", reason="再次反弹")
    assert again["reopen_count"] == 2


def test_a_closed_case_changes_only_by_reopen(api):
    case_no = api.to_handling()
    api.ok(case_no, "reply", "bj-officer", result="已处理", text="已处理。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")

    for action, actor, fields in [
        ("record_progress", "bj-officer", {"note": "x"}),
        ("reply", "bj-officer", {"result": "x", "text": "x"}),
        ("return", "bj-officer", {"reason": "x"}),
        ("assign", "bj-dispatcher", {"unit": "tongzhou", "officer": "bj-officer"}),
    ]:
        response = api.act(case_no, action, actor, **fields)
        assert response.status_code == 409, action
        assert response.json["details"]["state"] == "closed"

    assert api.complaint(case_no)["allowed_actions"] == ["reopen"]


def test_conflict_names_the_state_and_the_allowed_actions(api):
    case_no = api.register()["case_no"]

    response = api.act(case_no, "sign", "bj-officer")

    assert response.status_code == 409
    assert response.json["error"] == "action_not_allowed"
    assert "received" in response.json["message"]
    assert response.json["details"]["state"] == "received"


def test_stale_version_is_refused(api):
    case_no = api.register()["case_no"]
    seen = api.complaint(case_no)["version"]
    api.ok(case_no, "accept", "bj-intake")

    response = api.act(case_no, "grade", "bj-dispatcher", version=seen, grade="general", categories=["air"])

    assert response.status_code == 409
    assert response.json["error"] == "stale_version"
    assert api.complaint(case_no)["state"] == "accepted"


def test_version_rises_with_every_action(api):
    created = api.register()
    accepted = api.ok(created["case_no"], "accept", "bj-intake")
    assert accepted["version"] == created["version"] + 1


def test_allowed_actions_follow_role_and_assignment(api):
    case_no = api.to_handling()
    assert set(api.complaint(case_no, as_="bj-officer")["allowed_actions"]) >= {"contact", "reply", "return"}
    assert "reply" not in api.complaint(case_no, as_="bj-officer2")["allowed_actions"]
    # Nothing to approve and nothing paused: neither is offered.
    offered = set(api.complaint(case_no, as_="bj-supervisor")["allowed_actions"])
    assert offered == {"pause", "reassign", "regrade", "supervise", "whistle"}


def test_list_filters_and_pagination(api):
    handling = api.to_handling(categories=("noise",))
    other = api.register(description="另一起投诉")["case_no"]

    def listed(**params):
        response = api.get("/api/v1/complaints", "bj-supervisor", query_string=params)
        assert response.status_code == 200, response.json
        return [c["case_no"] for c in response.json["items"]]

    assert set(listed()) == {handling, other}
    assert listed(state="handling") == [handling]
    assert listed(category="noise") == [handling]
    assert listed(officer="bj-officer") == [handling]
    assert listed(unit="tongzhou") == [handling]
    assert listed(grade="general") == [handling]
    assert listed(text="另一起") == [other]
    assert listed(overdue="false") and listed(overdue="true") == []
    page = api.get("/api/v1/complaints", "bj-supervisor", query_string={"per_page": 1, "page": 2}).json
    assert page["total"] == 2 and len(page["items"]) == 1 and page["page"] == 2


def test_units_and_officers_of_the_callers_bureau(api):
    units = api.get("/api/v1/units", "bj-dispatcher").json
    assert {u["code"] for u in units} == {"tongzhou", "chaoyang", "supervision"}
    officers = api.get("/api/v1/officers", "bj-dispatcher").json
    assert "bj-officer" in {o["username"] for o in officers}
    assert not any(o["bureau"] != "BJ" for o in officers)


def test_workflow_endpoint_serves_the_loaded_norm(api):
    workflow = api.get("/api/v1/workflow", "bj-intake").json
    assert workflow["initial"] == "received"
    assert workflow["actions"]["sign"]["from"] == ["assigned"]
    assert workflow["grades"]["key"]["clocks"]["reply"] == {"working_days": 15}
