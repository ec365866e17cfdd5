"""Plain Chinese on every timeline an officer reads (issue 17, item 1): cases are taken through every
event kind the norm can produce (each action of lifecycle.yaml, each rung of ladder.yaml, each event
of trail.yaml), and each case page's timeline, as the officer's browser gets it, shows no code, no
login name, no ISO time, no Python literal and no untranslated key."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from ecoflow.casework.trail import record_event
from ecoflow.complaints.models import Complaint
from ecoflow.escalation.jobs import sweep
from ecoflow.exchange.outbox import deliver_outbox
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer
from ecoflow.timeutil import utcnow

from .conftest import shanghai
from .test_evidence import png, upload
from .test_offered_actions import lead_received
from .test_petitions import answered
from .test_web import ThreadedClient, log_in

START = shanghai(2026, 11, 2, 9)  # a Monday

# What an officer must never read on a timeline (titles, the hover text, are not read).
FORBIDDEN = {
    "ISO time": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|[+-]\d{2}:\d{2}\b"),
    "Python literal": re.compile(r"(?<![A-Za-z])(True|False|None)(?![A-Za-z])|\{'|\['|'\]|'\}|\{\"|\"\}"),
    # snake_case and dashed names (hotline_12345, bj-officer), and any Latin word (result, tongzhou)
    "identifier": re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+|(?<![A-Za-z0-9_.])[a-z]{3,}(?![A-Za-z0-9_])"),
    "division code": re.compile(r"(?<![\d-])\d{6}(?![\d-])"),
    "UUID": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-"),
}
# Case numbers are what officers quote: BJ-20261102-0001.
CASE_NO = re.compile(r"\b(BJ|TJ|HE)-\d{8}-\d{4}\b")


def visible_timeline(page: str) -> str:
    """The timeline's text as read: tags and their attributes (the hover titles) gone."""
    start = page.index('id="timeline"')
    block = page[start : page.index("</ol>", start)]
    return html.unescape(re.sub(r"<[^>]+>", " ", block[block.index(">") + 1 :]))


def faults(text: str) -> list[tuple[str, str]]:
    text = CASE_NO.sub("", text)
    return [(name, m.group(0)) for name, rx in FORBIDDEN.items() for m in rx.finditer(text)]


def at(moment):
    return time_machine.travel(moment, tick=False)


def ok(api, case_no, action, as_, **fields):
    viewer = f"{case_no[:2].lower()}-supervisor"
    response = api.act(case_no, action, as_, version=api.complaint(case_no, as_=viewer)["version"], **fields)
    assert response.status_code == 200, (action, response.json)
    return response.json


def key_case_through_everything(api) -> str:
    """A 12345 order through grading (the suggestion overridden), dispatch, re-assignment, 改级,
    evidence, extension, pause, 督办, a hand whistle with 报到, a reply not accepted, 销号, 重办,
    宣传曝光 and its withdrawal."""
    with at(START):
        case_no = api.register(external_id="12345-2026-000777")["case_no"]
        ok(api, case_no, "accept", "bj-intake")
        ok(api, case_no, "grade", "bj-dispatcher", grade="key", categories=["air", "noise"], reason="群众多次反映")
        ok(api, case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer")
        ok(api, case_no, "reassign", "bj-supervisor", unit="chaoyang", officer="bj-officer2", reason="属朝阳辖区")
        ok(api, case_no, "regrade", "bj-supervisor", grade="urgent", reason="现场正在排放")
        ok(api, case_no, "regrade", "bj-supervisor", grade="key", reason="经核实已停止排放")
        ok(api, case_no, "sign", "bj-officer2")
        ok(api, case_no, "contact", "bj-officer2", method="电话", note="已与诉求人联系")
        ok(api, case_no, "record_progress", "bj-officer2", note="现场检查", evidence=["现场照片两张"])
        uploaded = upload(api, case_no, png(), name="现场.png", as_="bj-officer2", caption="厂区东侧")
        assert uploaded.status_code == 201, uploaded.json
        withdrawn = api.post(f"/api/v1/complaints/{case_no}/attachments/{uploaded.json['id']}/withdraw",
                             "bj-officer2", json={"reason": "传错了"})  # fmt: skip
        assert withdrawn.status_code == 200, withdrawn.json
        ok(api, case_no, "request_extension", "bj-officer2", days=3, reason="等待监测结果")
        ok(api, case_no, "approve_extension", "bj-supervisor", approved=True, note="同意")
        ok(api, case_no, "pause", "bj-supervisor", reason="等待监测报告")
    with at(START + timedelta(hours=5)):
        ok(api, case_no, "resume", "bj-supervisor", note="报告已出具")
        ok(api, case_no, "supervise", "bj-supervisor", note="请加快办理")
        ok(api, case_no, "whistle", "bj-officer2", reason="需联合执法", parties=["unit_leader"])
        (whistle,) = api.get("/api/v1/whistles", "bj-supervisor", query_string={"case_no": case_no}).json
        reported = api.post(f"/api/v1/whistles/{whistle['id']}/report-in", "bj-leader", json={"who_will_act": "李明"})
        assert reported.status_code == 200, reported.json
        closed = api.post(f"/api/v1/whistles/{whistle['id']}/close", "bj-supervisor", json={"joint_action": "联合执法"})
        assert closed.status_code == 200, closed.json
        ok(api, case_no, "name_leader", "bj-supervisor", leader="bj-leader")
        ok(api, case_no, "plan_visit", "bj-leader", planned_on="2026年12月5日", who="分管领导", purpose="现场查看")
        ok(api, case_no, "record_visit", "bj-leader", who="分管领导", outcome="企业已整改。")
        ok(
            api,
            case_no,
            "instruct",
            "bj-leader",
            leader_name="王明",
            leader_title="副市长",
            text="请核查。",
            report_days=5,
        )
        ok(api, case_no, "report_back", "bj-officer2", result="已核查处理。")
        ok(api, case_no, "reply", "bj-officer2", result="已整改", text="经查属实，已责令整改。")
        ok(api, case_no, "follow_up", "bj-intake", resolved=False, satisfaction="unsatisfied", note="仍有异味")
        ok(api, case_no, "reply", "bj-officer2", result="已整改", text="已再次核查整改。")
        ok(api, case_no, "follow_up", "bj-intake", resolved=True, satisfaction="basically_satisfied")
        ok(api, case_no, "verify_close", "bj-leader", note="现场复核，同意销号。")
        ok(api, case_no, "reopen", "bj-supervisor", reason="群众再次反映")
        ok(api, case_no, "reply", "bj-officer2", result="已整改", text="第三次核查，已整改到位。")
        ok(api, case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
        ok(api, case_no, "verify_close", "bj-leader", note="同意销号。")
        published = api.post("/api/v1/exposures", "bj-supervisor", json={"case_no": case_no, "title": "典型案例"})
        assert published.status_code == 201, published.json
        assert api.post(f"/api/v1/exposures/{published.json['id']}/withdraw", "bj-supervisor").status_code == 200
    return case_no


def late_case_up_the_ladder(api, monkeypatch) -> str:
    """A case in 武清 (Tianjin) handled in Beijing runs late: warning, overdue, whistle, the
    automatic transfer failing, escalation."""
    from ecoflow.exchange.trust import get_trust

    with at(START):
        case_no = api.to_handling(location={"address": "天津市武清区某镇", "district": "120114"})
    monkeypatch.delitem(get_trust().peers, "TJ")
    for hours in (20, 24, 30, 33):
        with at(START + timedelta(hours=hours)):
            sweep(START + timedelta(hours=hours))
    monkeypatch.undo()
    return case_no


def lead_both_ways(api) -> tuple[str, str, str]:
    """A lead from Beijing to Hebei signed for, accepted, handled and answered (the origin hears
    each step), and another returned."""
    lead = lead_received(api)
    origin = api.get("/api/v1/complaints", "bj-supervisor", query_string={"state": "transferred"}).json["items"]
    ok(api, lead["case_no"], "sign_lead", "he-intake")
    ok(api, lead["case_no"], "accept", "he-intake")
    ok(api, lead["case_no"], "assign", "he-dispatcher", unit="sanhe", officer="he-officer", grade="general",
       categories=["air"])  # fmt: skip
    ok(api, lead["case_no"], "sign", "he-officer")
    ok(api, lead["case_no"], "reply", "he-officer", result="已查处", text="已责令停产整改。")
    deliver_outbox(utcnow())
    # Beijing answers and closes, then reopens: Hebei's case follows (close_lead, reopen_lead).
    origin_no = origin[0]["case_no"]
    ok(api, origin_no, "reply", "bj-officer", result="已由河北查处", text="已由河北方面查处。")
    ok(api, origin_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    deliver_outbox(utcnow())
    ok(api, origin_no, "reopen", "bj-supervisor", reason="群众再次反映仍有异味。")
    deliver_outbox(utcnow())
    returned = lead_received(api)
    ok(api, returned["case_no"], "return_lead", "he-intake", reason="污染源在北京境内。")
    deliver_outbox(utcnow())
    return lead["case_no"], returned["case_no"], origin[0]["case_no"]


def named(db):
    """The test officers get people's names (the fixture names them by their usernames)."""
    surnames = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
    for n, officer in enumerate(db.session.scalars(select(Officer).order_by(Officer.id))):
        officer.name = f"{surnames[n % len(surnames)]}{'一二三四五六七八九'[n // len(surnames) % 9]}"
    db.session.commit()


def petition_reviewed_and_rechecked(api) -> str:
    """A formal petition (信访事项) answered, 复查 and 复核."""
    case_no, _ = answered(api, shanghai(2026, 10, 10, 16), shanghai(2026, 11, 2, 15))
    with at(shanghai(2026, 11, 5, 9)):
        ok(api, case_no, "follow_up", "bj-intake", resolved=True, satisfaction="basically_satisfied")
        ok(api, case_no, "verify_close", "bj-leader", note="核实办结")
        ok(api, case_no, "request_review", "bj-intake", reason="对处理意见不服")
        ok(api, case_no, "review_reply", "bj-leader", result="维持", text="经复查，维持原处理意见。")
        ok(api, case_no, "request_recheck", "bj-intake", reason="对复查意见不服")
        ok(api, case_no, "recheck_reply", "bj-leader", result="维持", text="经复核，维持复查意见。")
    return case_no


def test_every_timeline_reads_in_plain_chinese(app, api, db, monkeypatch):
    named(db)
    cases = {"BJ": [], "HE": []}
    cases["BJ"].append(key_case_through_everything(api))
    cases["BJ"].append(late_case_up_the_ladder(api, monkeypatch))
    lead, returned, origin = lead_both_ways(api)
    cases["HE"] += [lead, returned]
    cases["BJ"].append(origin)
    rejected = api.register()["case_no"]
    ok(api, rejected, "reject", "bj-intake", reason="不属于本部门职责", referred_to="区住建委")
    merged = api.register()["case_no"]
    ok(api, merged, "merge", "bj-intake", into=cases["BJ"][0])
    sent_back = api.to_handling()
    ok(api, sent_back, "return", "bj-officer", reason="不属于本单位辖区")
    cases["BJ"] += [rejected, merged, sent_back, petition_reviewed_and_rechecked(api)]
    # Events that take a calendar change or a peer's second answer: written as their code writes them.
    complaint = db.session.scalar(select(Complaint).where(Complaint.case_no == origin))
    now = utcnow()
    due = (now + timedelta(days=3)).isoformat()
    record_event(complaint, None, "retime", complaint.state, {"clock": "reply", "from": now.isoformat(),
                 "due_at": due}, now)  # fmt: skip
    record_event(complaint, None, "lead_update", complaint.state, {"outcome": "result", "result": "已复查",
                 "text": "已复查整改", "peer_case_no": "HE-20261102-0009", "by": "exchange"}, now)  # fmt: skip
    record_event(complaint, None, "lead_late", complaint.state, {"peer": "HE", "peer_case_no": "HE-20261102-0009",
                 "clock": "lead_sign", "due_at": due, "peer_whistle": 7, "by": "exchange"}, now)  # fmt: skip
    db.session.commit()

    norm = get_norm()
    kinds = set()
    for bureau, numbers in cases.items():
        client = ThreadedClient(app.test_client())
        assert log_in(client, f"{bureau.lower()}-supervisor").status_code == 302
        for case_no in numbers:
            kinds |= {e["action"] for e in api.events(case_no, as_=f"{bureau.lower()}-supervisor")}
            page = client.get(f"/complaints/{case_no}")
            assert page.status_code == 200
            text = visible_timeline(page.text)
            assert faults(text) == [], (case_no, faults(text), text)

    expected = set(norm.actions) | {r.name for r in norm.ladder.rungs} | set(norm.trail["events"])
    # An event kind added to the norm needs a case here that produces it.
    assert expected - kinds == set(), "no case above produces these events: add one"


def test_people_are_named_and_their_username_is_only_on_hover(app, api, db):
    named(db)
    with at(START):
        case_no = api.to_handling()
    client = ThreadedClient(app.test_client())
    assert log_in(client, "bj-supervisor").status_code == 302

    page = client.get(f"/complaints/{case_no}").text

    timeline = page[page.index('id="timeline"') :]
    assert 'title="bj-officer"' in timeline
    assert "2026-11-02 09:00" in visible_timeline(page)  # Beijing time, one format
    assert "承办单位：通州分局" in visible_timeline(page)
    assert "所属区县：北京市通州区" in visible_timeline(page)
    assert "来源渠道：12345热线" in visible_timeline(page)
