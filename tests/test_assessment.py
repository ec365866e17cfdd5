"""The measures of NORM.md "Assessment", each on a small hand-built set of cases whose answer is
worked out here, through the API and the sweep as an officer would drive them."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from ecoflow.assessment.facts import rebuild_facts, refresh_counts
from ecoflow.assessment.models import Fact, MonthlyCount
from ecoflow.escalation.jobs import sweep

from .conftest import shanghai

START = shanghai(2026, 11, 2, 9)  # a Monday
LATER = START + timedelta(days=10)  # every clock of the cases below has ended by then


def at(moment):
    return time_machine.travel(moment, tick=False)


def assess(api, as_="bj-leader", when=LATER, **params):
    with at(when):
        query = {k: v for k, v in {"month": "2026-11", **params}.items() if v is not None}
        response = api.get("/api/v1/assessment", as_, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def figure(body, name):
    f = body["total"][name]
    return f["numerator"], f["denominator"], f["rate"]


def handling(api, when=START, **fields):
    with at(when):
        return api.to_handling(**fields)


def act(api, when, case_no, action, as_, **fields):
    with at(when):
        return api.ok(case_no, action, as_, **fields)


def reply(api, when, case_no, officer="bj-officer"):
    return act(api, when, case_no, "reply", officer, result="已现场检查，责令整改。", text="您反映的问题已处理。")


def follow_up(api, when, case_no, resolved, satisfaction):
    return act(api, when, case_no, "follow_up", "bj-intake", resolved=resolved, satisfaction=satisfaction)


def test_response_rate_counts_first_contact_clocks_that_ended(api):
    on_time = handling(api)
    act(api, START + timedelta(hours=2), on_time, "contact", "bj-officer", method="电话")
    replied_at_once = handling(api)  # a reply is a first contact too
    reply(api, START + timedelta(hours=1), replied_at_once)
    late = handling(api)  # contacted after the 24 hours ran out
    act(api, START + timedelta(hours=30), late, "contact", "bj-officer", method="电话")
    never = handling(api)  # never contacted: counts as missed once its 24 hours are up
    handling(api, grade="consult", categories=["other"])  # consult: no first-contact clock
    with at(START):
        api.register()  # not graded yet: no clock

    # Met: on_time, replied_at_once. Ended: those two, late, never → 2 / 4.
    body = assess(api)
    assert figure(body, "response") == (2, 4, 0.5)
    # Before the 24 hours are up, the two not yet contacted have not ended.
    assert figure(assess(api, when=START + timedelta(hours=3)), "response") == (2, 2, 1.0)

    cases = api.get("/api/v1/assessment/cases", "bj-leader",
                    query_string={"month": "2026-11", "figure": "response", "part": "missed"}).json  # fmt: skip
    assert sorted(item["case_no"] for item in cases["items"]) == sorted([late, never])
    assert body["total"]["response"]["cases"].startswith("/api/v1/assessment/cases?")


def test_first_contact_clock_cancelled_in_time_is_not_counted(api):
    with at(START):
        case_no = api.register()["case_no"]
        api.ok(case_no, "accept", "bj-intake")
        api.ok(case_no, "grade", "bj-dispatcher", grade="general", categories=["air"])
    # Re-graded as a consultation before the 24 hours: that grade has no first-contact clock.
    with at(START + timedelta(hours=2)):
        api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="consult",
               categories=["other"])  # fmt: skip
    assert figure(assess(api), "response") == (0, 0, None)


def test_follow_up_rates_with_no_follow_ups_yet(api):
    case_no = handling(api)
    reply(api, START + timedelta(hours=1), case_no)
    body = assess(api)
    assert figure(body, "resolution") == (0, 0, None)
    assert figure(body, "satisfaction") == (0, 0, None)
    assert body["total"]["satisfaction"]["shares"]["satisfied"] is None
    assert figure(body, "reopen") == (0, 1, 0.0)


def test_follow_up_rates_count_every_follow_up_of_a_case_reopened_twice(api):
    simple = handling(api)
    reply(api, START + timedelta(hours=1), simple)
    follow_up(api, START + timedelta(hours=5), simple, True, "satisfied")

    twice = handling(api)
    reply(api, START + timedelta(hours=1), twice)
    follow_up(api, START + timedelta(hours=5), twice, False, "unsatisfied")  # reopening 1
    reply(api, START + timedelta(days=1), twice)
    follow_up(api, START + timedelta(days=1, hours=2), twice, True, "basically_satisfied")  # closed
    act(api, START + timedelta(days=2), twice, "reopen", "bj-supervisor", reason="群众再次反映")  # reopening 2
    reply(api, START + timedelta(days=3), twice)
    follow_up(api, START + timedelta(days=3, hours=2), twice, True, "satisfied")

    body = assess(api)
    # Follow-ups: simple (resolved, 满意); twice: unresolved 不满意, resolved 基本满意, resolved 满意.
    assert figure(body, "resolution") == (3, 4, 0.75)
    assert figure(body, "satisfaction") == (3, 4, 0.75)
    satisfaction = body["total"]["satisfaction"]
    assert satisfaction["levels"] == {"satisfied": 2, "basically_satisfied": 1, "unsatisfied": 1}
    assert satisfaction["shares"] == {"satisfied": 0.5, "basically_satisfied": 0.25, "unsatisfied": 0.25}
    # Reopenings 2 over answers 4 (one reply for simple, three for twice).
    assert figure(body, "reopen") == (2, 4, 0.5)
    # Every reopening started a reply clock; all four replies came within 7 days.
    assert figure(body, "reply") == (4, 4, 1.0)
    reopened = api.get("/api/v1/assessment/cases", "bj-leader",
                       query_string={"month": "2026-11", "figure": "reopen", "part": "numerator"}).json  # fmt: skip
    assert [item["case_no"] for item in reopened["items"]] == [twice, twice]


def test_a_paused_reply_clock_is_not_judged_while_paused(api):
    case_no = handling(api)
    act(api, START + timedelta(hours=1), case_no, "contact", "bj-officer", method="电话")
    act(api, START + timedelta(days=2), case_no, "pause", "bj-supervisor", reason="等待监测报告")
    # Paused past the 7-day due time: neither met nor overdue.
    body = assess(api, when=START + timedelta(days=9))
    assert figure(body, "reply") == (0, 0, None)
    assert body["total"]["overdue"]["count"] == 0
    # Resumed after 8 days (within the 15-day cap): due moves 8 days on, to day 15; replied on day 12.
    act(api, START + timedelta(days=10), case_no, "resume", "bj-supervisor")
    reply(api, START + timedelta(days=12), case_no)
    assert figure(assess(api, when=START + timedelta(days=20)), "reply") == (1, 1, 1.0)


def test_overdue_count_counts_each_clock_that_ran_out(api):
    late = handling(api)  # first contact runs out at +24 h, reply at +7 days
    act(api, START + timedelta(hours=1), handling(api), "contact", "bj-officer", method="电话")
    body = assess(api, when=START + timedelta(days=3))
    assert body["total"]["overdue"]["count"] == 1
    assert figure(body, "reply") == (0, 0, None)  # the replies are not due yet
    body = assess(api, when=START + timedelta(days=8))
    assert body["total"]["overdue"]["count"] == 3  # late: first contact and reply; the other: reply
    overdue = api.get("/api/v1/assessment/cases", "bj-leader",
                      query_string={"month": "2026-11", "figure": "overdue"}).json  # fmt: skip
    assert overdue["total"] == 3 and late in {item["case_no"] for item in overdue["items"]}


def test_whistle_report_in_rate_and_time(api):
    case_no = handling(api)
    act(api, START + timedelta(hours=1), case_no, "whistle", "bj-officer", reason="发现重大违法排污，需联合执法",
        parties=["unit_leader", "supervision_office"])  # fmt: skip
    whistle = api.get("/api/v1/whistles", "bj-supervisor").json[0]
    with at(START + timedelta(hours=1, minutes=30)):
        path = f"/api/v1/whistles/{whistle['id']}/report-in"
        reported = api.post(path, "bj-leader", json={"who_will_act": "带队检查"})
    assert reported.status_code == 200
    # Two parties: the unit leader reported in after 30 minutes; the supervision office never did.
    body = assess(api, when=START + timedelta(hours=2))  # the office's two hours are not up yet
    assert figure(body, "whistle") == (1, 1, 1.0)
    assert body["total"]["whistle"]["average_seconds"] == 1800
    assert figure(assess(api, when=START + timedelta(hours=4)), "whistle") == (1, 2, 0.5)
    by_unit = assess(api, when=START + timedelta(hours=4), group_by="unit")
    units = {g["key"]: g["figures"]["whistle"] for g in by_unit["groups"]}
    assert units["tongzhou"]["numerator"] == 1  # the party is counted for the unit it stands for
    assert units["supervision"]["denominator"] == 1 and units["supervision"]["numerator"] == 0


def test_a_transferred_lead_is_counted_once(api, db):
    """The origin answers the complainant and counts 响应率 and 满意率; the peer counts signing for the lead."""
    from ecoflow.complaints.leads import lead_payload, register_lead
    from ecoflow.complaints.models import Complaint

    origin = handling(api)
    act(api, START + timedelta(hours=1), origin, "contact", "bj-officer", method="电话")
    with at(START + timedelta(hours=2)):  # the lead arrives at HE as the exchange delivers it
        source = db.session.query(Complaint).filter_by(case_no=origin).one()
        payload = lead_payload(source, {"reason": "污染源位于三河市"})
        lead = register_lead("BJ", "HE", "msg-lead-1", payload, START + timedelta(hours=2)).case_no
        db.session.commit()

    def he(action, as_, **fields):
        version = api.complaint(lead, "he-supervisor")["version"]
        response = api.act(lead, action, as_, version=version, **fields)
        assert response.status_code == 200, response.json

    with at(START + timedelta(hours=5)):
        he("sign_lead", "he-intake")  # 签收 three hours after it arrived
        he("accept", "he-intake")
        he("assign", "he-dispatcher", unit="sanhe", officer="he-officer", grade="general", categories=["air"])
        he("sign", "he-officer")
    reply(api, START + timedelta(days=1, hours=2), origin)
    follow_up(api, START + timedelta(days=1, hours=4), origin, True, "satisfied")

    bj, he_figures = assess(api, bureau="BJ"), assess(api, as_="he-leader", bureau="HE")
    assert figure(bj, "response") == (1, 1, 1.0) and figure(bj, "satisfaction") == (1, 1, 1.0)
    # The lead's case never contacted the complainant (the origin did) and is not counted for it.
    assert figure(he_figures, "response") == (0, 0, None) and figure(he_figures, "satisfaction") == (0, 0, None)
    # Signed for 3 hours after it arrived: within the 24 hours.
    assert figure(he_figures, "lead") == (1, 1, 1.0) and he_figures["total"]["lead"]["average_seconds"] == 3 * 3600
    assert figure(bj, "lead") == (0, 0, None)


def test_figures_by_unit_follow_the_case_and_rank_units(api):
    tongzhou = [handling(api) for _ in range(2)]
    handling(api, officer="bj-officer2", unit="chaoyang")  # never contacted
    for case_no in tongzhou:
        act(api, START + timedelta(hours=1), case_no, "contact", "bj-officer", method="电话")
    # Returned by tongzhou and given to chaoyang, which never makes contact: the case's figures go with it.
    act(api, START + timedelta(hours=2), tongzhou[1], "return", "bj-officer", reason="不属于本单位辖区")
    act(api, START + timedelta(hours=3), tongzhou[1], "assign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2")

    body = assess(api, when=START + timedelta(days=2), group_by="unit")
    units = {g["key"]: g for g in body["groups"]}
    response = {key: (g["figures"]["response"]["numerator"], g["figures"]["response"]["denominator"])
                for key, g in units.items()}  # fmt: skip
    # chaoyang: its own case never contacted; the returned case, contacted on time, now counts for it.
    assert response == {"tongzhou": (1, 1), "chaoyang": (1, 2)}
    assert [(g["key"], g["rank"], g["score"]) for g in body["groups"]] == [("tongzhou", 1, 1.0), ("chaoyang", 2, 0.5)]
    assert units["tongzhou"]["label"] == "通州分局"
    officers = {g["key"] for g in assess(api, when=START + timedelta(days=2), group_by="officer")["groups"]}
    assert officers == {"bj-officer", "bj-officer2"}


def test_trend_by_month_and_filters(api):
    october = handling(api, when=shanghai(2026, 10, 12, 9))
    act(api, shanghai(2026, 10, 12, 10), october, "contact", "bj-officer", method="电话")
    handling(api, categories=["noise"])  # November: never contacted
    trend = assess(api, **{"from": "2026-09", "to": "2026-11", "month": None, "group_by": "month"})
    months = {g["key"]: g["figures"]["response"] for g in trend["groups"]}
    assert set(months) == {"2026-10", "2026-11"}
    assert (months["2026-10"]["rate"], months["2026-11"]["rate"]) == (1.0, 0.0)
    assert figure(assess(api, category="noise"), "response") == (0, 1, 0.0)
    assert figure(assess(api, category="water"), "response") == (0, 0, None)
    assert figure(assess(api, channel="hotline_12345"), "response") == (0, 1, 0.0)
    assert figure(assess(api, district="110112"), "response") == (0, 1, 0.0)  # 通州区, from address routing
    by_category = assess(api, group_by="category")
    assert [g["key"] for g in by_category["groups"]] == ["noise"]


def test_only_leaders_supervisors_and_admins_see_their_bureau(api, make_officer):
    make_officer("coordinator", ["coordinator"], bureau="BJ")
    handling(api)
    with at(LATER):
        assert api.get("/api/v1/assessment", "bj-officer").status_code == 403
        refused = api.get("/api/v1/assessment", "bj-leader", query_string={"bureau": "TJ"})
        assert refused.status_code == 403 and refused.json["error"] == "other_bureau"
        everyone = api.get("/api/v1/assessment", "coordinator").json
    assert everyone["bureaus"] == ["BJ", "HE", "TJ"]


@pytest.mark.parametrize(
    "params",
    [{"month": "2026-13"}, {"month": "november"}, {"group_by": "weather"}, {"from": "2026-11", "to": "2026-01"}],
)
def test_malformed_filters_are_refused_with_the_one_error_shape(api, params):
    with at(LATER):
        response = api.get("/api/v1/assessment", "bj-leader", query_string=params)
    assert response.status_code == 422
    assert set(response.json) == {"error", "message", "details"}
    with at(LATER):
        response = api.get("/api/v1/assessment/cases", "bj-leader", query_string={"figure": "nonsense"})
    assert response.status_code == 422


def test_kept_facts_equal_facts_rebuilt_from_the_cases(api, db):
    """The facts and monthly counts the listener keeps action by action are exactly those recomputed
    from scratch (moves between units, pauses, reopenings, whistles and the sweep included)."""
    twice = handling(api)
    reply(api, START + timedelta(hours=1), twice)
    follow_up(api, START + timedelta(hours=5), twice, False, "unsatisfied")
    act(api, START + timedelta(hours=6), twice, "pause", "bj-supervisor", reason="等待监测")
    act(api, START + timedelta(days=1), twice, "resume", "bj-supervisor")
    other = handling(api, officer="bj-officer2", unit="chaoyang")
    act(api, START + timedelta(hours=2), other, "whistle", "bj-officer2", reason="联合执法")
    whistle = api.get("/api/v1/whistles", "bj-supervisor").json[0]
    with at(START + timedelta(hours=2, minutes=20)):
        api.post(f"/api/v1/whistles/{whistle['id']}/report-in", "bj-leader", json={"who_will_act": "带队"})
    moved = handling(api)
    act(api, START + timedelta(hours=2), moved, "return", "bj-officer", reason="不属于本单位辖区")
    act(api, START + timedelta(hours=3), moved, "assign", "bj-dispatcher", unit="chaoyang", officer="bj-officer2",
        categories=["noise", "water"])  # fmt: skip
    with at(START + timedelta(days=3)):
        sweep(START + timedelta(days=3))

    def snapshot():
        columns = [c for c in Fact.__table__.columns if c.name != "id"]
        facts = sorted(tuple(row) for row in db.session.execute(select(*columns)))
        columns = [c for c in MonthlyCount.__table__.columns if c.name != "id"]
        counts = sorted(tuple(r) for r in db.session.execute(select(*columns).where(MonthlyCount.n != 0)))
        return facts, counts

    kept = snapshot()
    assert len(kept[0]) > 6 and len(kept[1]) > 3
    with at(START + timedelta(days=3)):
        rebuild_facts()
    db.session.commit()
    assert snapshot() == kept


def test_the_counts_of_a_summoned_party_stay_whole_when_its_case_is_recategorised(api, db):
    """A party summoned by a whistle keeps the fact it was summoned with when its case moves: its
    report-in takes that fact's contribution out of the monthly counts, not one the case has now."""
    case_no = handling(api)  # 大气
    act(api, START + timedelta(hours=1), case_no, "whistle", "bj-officer", reason="联合执法",
        parties=["unit_leader", "supervision_office"])  # fmt: skip
    act(api, START + timedelta(hours=1, minutes=5), case_no, "return", "bj-officer", reason="不属于本单位辖区")
    act(api, START + timedelta(hours=1, minutes=10), case_no, "assign", "bj-dispatcher", unit="tongzhou",
        officer="bj-officer", categories=["noise", "water"])  # fmt: skip
    whistle = api.get("/api/v1/whistles", "bj-supervisor").json[0]
    with at(START + timedelta(hours=1, minutes=30)):
        response = api.post(f"/api/v1/whistles/{whistle['id']}/report-in", "bj-leader", json={"who_will_act": "带队"})
    assert response.status_code == 200, response.json

    def counts():
        columns = [c for c in MonthlyCount.__table__.columns if c.name != "id"]
        return sorted(tuple(r) for r in db.session.execute(select(*columns)) if any(r[-4:]))  # n, ok, seconds, timed

    kept = counts()
    refresh_counts(db.session.connection())  # the counts made again from the facts as they stand
    assert counts() == kept
    assert all(row[-3] <= row[-4] for row in kept)  # never more met than counted


def test_an_odd_address_never_stops_an_action(api):
    """A district read from an address is cut to fit; the case goes on and counts."""
    odd = "很长的地名" * 20 + "区某路1号"
    case_no = handling(api, location={"address": odd})
    act(api, START + timedelta(hours=1), case_no, "contact", "bj-officer", method="电话")
    assert figure(assess(api), "response") == (1, 1, 1.0)


def test_the_rebuild_command_restores_lost_facts(api, runner, db):
    case_no = handling(api)
    act(api, START + timedelta(hours=1), case_no, "contact", "bj-officer", method="电话")
    db.session.execute(Fact.__table__.delete())
    db.session.execute(MonthlyCount.__table__.delete())
    db.session.commit()
    assert figure(assess(api), "response") == (0, 0, None)
    result = runner.invoke(args=["ecoflow", "assessment", "rebuild"])
    assert result.exit_code == 0 and "fact(s) written" in result.output
    assert figure(assess(api), "response") == (1, 1, 1.0)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/assessment", {"bureau": "B\x00J"}),
        ("/api/v1/assessment", {"unit": "x" * 500}),
        ("/api/v1/assessment/cases", {"figure": "response", "part": "half"}),
        ("/api/v1/assessment/cases", {"figure": "response", "page": "0"}),
        ("/api/v1/assessment/cases", {"figure": "reopen", "part": "missed"}),
        ("/api/v1/hotspots", {"window_days": "-3"}),
        ("/api/v1/hotspots", {"window_days": "many"}),
        ("/api/v1/assessment/report.xlsx", {"month": "2026-00"}),
    ],
)
def test_hostile_queries_get_a_clear_error_and_no_500(api, path, params):
    with at(LATER):
        response = api.get(path, "bj-leader", query_string=params)
    assert response.status_code == 422, (path, params, response.status_code)
    assert set(response.json) == {"error", "message", "details"}


def test_districts_are_named_from_the_routing_table(api):
    case_no = handling(api, location={"address": "北京市通州区梨园镇某小区", "district": "110112"})
    act(api, START + timedelta(hours=1), case_no, "contact", "bj-officer", method="电话")
    [group] = assess(api, group_by="district")["groups"]
    assert (group["key"], group["label"]) == ("110112", "通州区")
    assert figure(assess(api, district="110112"), "response") == (1, 1, 1.0)
