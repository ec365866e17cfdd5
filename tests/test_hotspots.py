"""热点: clusters of one category in one area within the sliding window, across the three bureaus,
ranked by growth; the coordination office is alerted once per cluster and window."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from ecoflow.assessment.hotspots import find_hotspots, raise_alerts
from ecoflow.assessment.models import HotspotAlert
from ecoflow.notifications.models import Notification
from ecoflow.officers.models import Officer

from .conftest import shanghai

START = shanghai(2026, 11, 2, 9)
SMELL = "工厂排放废气，异味刺鼻。"
NOISE = "工地夜间施工噪音扰民。"


def complain(api, when, bureau="BJ", description=SMELL, lat=39.93, lng=116.91, address=None, graded=False):
    address = address or {"BJ": "北京市通州区潞城镇某村", "HE": "河北省廊坊市三河市燕郊镇某小区"}[bureau]
    fields = {"description": description, "location": {"address": address, "lat": lat, "lng": lng}}
    with time_machine.travel(when, tick=False):
        if graded:  # graded as air whatever the description suggests
            return api.to_handling(categories=["air"], **fields)
        return api.register(as_=f"{bureau.lower()}-intake", **fields)["case_no"]


def hotspot_notices(db):
    officer = db.session.scalar(select(Officer.id).where(Officer.username == "coordinator"))
    return db.session.scalars(
        select(Notification.message).where(Notification.officer_id == officer, Notification.kind == "hotspot")
    ).all()


@pytest.fixture
def coordinator(make_officer, staff):
    return make_officer("coordinator", ["coordinator"], bureau="BJ")


def test_a_cluster_across_the_border_alerts_the_coordination_office_once_per_window(api, db, coordinator):
    complain(api, START, "BJ", description=NOISE, graded=True)  # its grading says air, not its words
    complain(api, START + timedelta(hours=1), "BJ", lat=39.94, lng=116.93)
    complain(api, START + timedelta(hours=2), "HE", lat=39.92, lng=116.94)  # same 0.05° cell, across the border
    complain(api, START + timedelta(hours=2), "HE", description=NOISE, lat=39.92, lng=116.94)
    now = START + timedelta(hours=3)

    [cluster] = find_hotspots(now)  # the noise complaint alone is below the 3 a cluster needs
    assert (cluster.category, cluster.cases, cluster.previous, cluster.bureaus) == ("air", 3, 0, {"BJ", "HE"})
    assert cluster.crosses_border and cluster.label == "廊坊市三河市、通州区一带"

    assert [c.category for c in raise_alerts(now)] == ["air"]
    assert raise_alerts(now + timedelta(hours=1)) == []  # the same cluster, the same window
    db.session.commit()
    [message] = hotspot_notices(db)
    assert "大气" in message and "跨界" in message and "3件" in message

    # The next window: the cluster is still there (more complaints) and alerts again, once.
    later = START + timedelta(days=8)
    for hour in range(3):
        complain(api, later + timedelta(hours=hour), "HE" if hour else "BJ")
    assert len(raise_alerts(later + timedelta(hours=4))) == 1
    db.session.commit()
    assert len(hotspot_notices(db)) == 2
    assert db.session.query(HotspotAlert).count() == 2


def test_clusters_are_ranked_by_growth_and_a_big_one_alerts_without_crossing(api, db, coordinator):
    # Noise near 朝阳 (no coordinates: its district): 3 last week, 4 this week → growth 1.
    for day in (8, 9, 10):
        complain(api, START - timedelta(days=day), description=NOISE, lat=None, lng=None,
                 address="北京市朝阳区望京街道某小区")  # fmt: skip
    for hour in range(4):
        complain(api, START + timedelta(hours=hour), description=NOISE, lat=None, lng=None,
                 address="北京市朝阳区望京街道某小区")  # fmt: skip
    # Smell in one cell of 通州: 0 last week, 10 this week → growth 10, past the alert threshold.
    for minute in range(10):
        complain(api, START + timedelta(minutes=minute))
    now = START + timedelta(hours=5)
    clusters = find_hotspots(now)
    assert [(c.category, c.cases, c.previous, c.growth) for c in clusters] == [("air", 10, 0, 10), ("noise", 4, 3, 1)]
    assert clusters[1].area == "district:110105"  # 朝阳区, by address routing's division code
    assert [c.category for c in raise_alerts(now)] == ["air"]  # 10 cases; the noise cluster stays below

    with time_machine.travel(now, tick=False):
        listed = api.get("/api/v1/hotspots", "bj-leader").json["items"]
        assert [(c["category"], c["growth"]) for c in listed] == [("air", 10), ("noise", 1)]
        assert api.get("/api/v1/hotspots", "tj-leader").json["items"] == []  # none touches Tianjin
        assert api.get("/api/v1/hotspots", "coordinator").json["items"] == listed
        assert api.get("/api/v1/hotspots", "bj-officer").status_code == 403


def test_the_scheduler_raises_hotspot_alerts(app, api, db, coordinator):
    from ecoflow.scheduling import run_jobs

    for hour in range(3):
        complain(api, START + timedelta(hours=hour), "HE" if hour == 2 else "BJ")
    run_jobs(app, "test-holder", now=START + timedelta(hours=3))
    assert len(hotspot_notices(db)) == 1


def test_the_hotspots_command_lists_and_alerts(api, runner, db, coordinator):
    for hour in range(3):
        complain(api, START + timedelta(hours=hour), "HE" if hour == 2 else "BJ")
    result = runner.invoke(args=["ecoflow", "assessment", "hotspots", "--at", "2026-11-02T13:00", "--alert"])
    assert result.exit_code == 0, result.output
    assert "cases=3" in result.output and "bureaus=BJ,HE" in result.output and "ALERT" in result.output
    assert len(hotspot_notices(db)) == 1
