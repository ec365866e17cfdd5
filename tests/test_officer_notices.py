"""Told what changed (issue 17, item 3): the officer hears of an assignment, a re-assignment, 改级, the
decision on their extension request and a reopening; the dispatchers of a 退单, with its reason and a
退单 badge in 分级派单; notices are marked read by kind."""

from __future__ import annotations

from .test_plain_chinese import named
from .test_web import ThreadedClient, log_in


def inbox(api, username, unread=True):
    response = api.get("/api/v1/notifications", username, query_string={"unread": unread, "per_page": 100})
    assert response.status_code == 200, response.json
    return response.json["items"]


def kinds(api, username):
    return [n["kind"] for n in inbox(api, username)]


def test_the_officer_is_told_of_assignment_reassignment_regrade_extension_and_reopening(api, db):
    named(db)
    case_no = api.register()["case_no"]
    api.ok(case_no, "accept", "bj-intake")
    api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="general",
           categories=["air"])  # fmt: skip

    (assigned,) = inbox(api, "bj-officer")
    assert assigned["kind"] == "assign" and assigned["case_no"] == case_no
    assert "一般" in assigned["message"] and "general" not in assigned["message"]
    assert "bj-dispatcher" not in assigned["message"]

    api.ok(case_no, "reassign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2", reason="属朝阳辖区")
    (moved,) = inbox(api, "bj-officer2")
    assert moved["kind"] == "reassign" and "属朝阳辖区" in moved["message"]

    api.ok(case_no, "regrade", "bj-supervisor", grade="key", reason="媒体已关注")
    assert "regrade" in kinds(api, "bj-officer2")
    api.ok(case_no, "sign", "bj-officer2")
    api.ok(case_no, "request_extension", "bj-officer2", days=3, reason="等待监测结果")
    api.ok(case_no, "approve_extension", "bj-supervisor", approved=False, note="请按期办结")
    decision = next(n for n in inbox(api, "bj-officer2") if n["kind"] == "approve_extension")
    assert "未获同意" in decision["message"] and "请按期办结" in decision["message"]

    api.ok(case_no, "reply", "bj-officer2", result="已整改", text="已整改。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=False, satisfaction="unsatisfied")
    assert "follow_up" in kinds(api, "bj-officer2")
    # Nobody is told of what they did themselves.
    assert "approve_extension" not in kinds(api, "bj-supervisor")


def test_a_reopened_case_tells_its_officer(api):
    case_no = api.to_handling()
    api.ok(case_no, "reply", "bj-officer", result="已整改", text="已整改。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    assert "follow_up" not in kinds(api, "bj-officer")  # closed, nothing to do

    api.ok(case_no, "reopen", "bj-supervisor", reason="群众再次反映")

    reopened = next(n for n in inbox(api, "bj-officer") if n["kind"] == "reopen")
    assert "群众再次反映" in reopened["message"]


def test_a_return_tells_the_dispatchers_and_shows_a_badge_with_its_reason(app, api):
    client = ThreadedClient(app.test_client())
    assert log_in(client, "bj-dispatcher").status_code == 302
    case_no = api.to_handling()
    api.ok(case_no, "return", "bj-officer", reason="污染源不在本区，请改派 13812345678")

    page = client.get("/dispatch").text
    card = page[page.index(f'id="dispatch-{case_no}"') :]
    card = card[: card.index("</section>")]
    assert '<span class="tag returned">退单</span>' in card
    assert "污染源不在本区" in card and "通州分局" in card
    (notice,) = [n for n in inbox(api, "bj-dispatcher") if n["kind"] == "return"]
    assert "污染源不在本区" in notice["message"] and "通州分局" in notice["message"]
    assert "13812345678" not in notice["message"]  # a phone number in the reason stays masked


def test_notices_are_marked_read_by_kind(api):
    first = api.to_handling()
    second = api.to_handling()
    api.ok(first, "supervise", "bj-supervisor", note="请加快")
    assert sorted(kinds(api, "bj-officer")) == ["assign", "assign", "supervise"]

    response = api.post("/api/v1/notifications/read", "bj-officer", query_string={"kind": "assign"})

    assert response.status_code == 200 and response.json["read"] == 2
    assert kinds(api, "bj-officer") == ["supervise"]
    assert second


def test_bulk_sign_and_bulk_dispatch_answer_each_case_on_its_own(app, api):
    from .test_web import csrf

    dispatcher = ThreadedClient(app.test_client())
    assert log_in(dispatcher, "bj-dispatcher").status_code == 302
    officer = ThreadedClient(app.test_client())
    assert log_in(officer, "bj-officer").status_code == 302
    waiting = []
    for description in ("工厂夜间排放废气。", "河里大量死鱼，疑似泄漏。", "工地夜间施工噪声。"):
        case_no = api.register(description=description)["case_no"]
        api.ok(case_no, "accept", "bj-intake")
        waiting.append(case_no)
    token = csrf(dispatcher, "/dispatch")
    stale = api.complaint(waiting[2])
    api.ok(waiting[2], "assign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2", grade="general",
           categories=["noise"])  # fmt: skip  # dispatched by someone else meanwhile

    dispatcher.post("/dispatch/bulk", data={"csrf_token": token, "unit": "tongzhou", "officer": "bj-officer",
                                            "cases": waiting})  # fmt: skip

    page = dispatcher.get("/dispatch").text
    assert "“派单”已完成 2 件" in page and f"{waiting[2]}：" in page  # the third answered on its own
    assert api.complaint(waiting[0])["state"] == "assigned" and api.complaint(waiting[1])["grade"] == "urgent"
    assert api.complaint(waiting[2])["officer"] != "bj-officer" and stale

    workbench = officer.get("/").text
    assert workbench.count('form="bulk-sign"') == 2
    officer.post("/bulk/sign", data={"csrf_token": csrf(officer, "/"), "cases": waiting[:2]})
    assert [api.complaint(c)["state"] for c in waiting[:2]] == ["handling", "handling"]
