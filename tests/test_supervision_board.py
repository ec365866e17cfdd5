"""A calm supervision board (issue 17, item 5): one row per late case with its worst clock, whistles
grouped by case, 未报到 amber before its deadline and red after."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from ecoflow.escalation.jobs import sweep

from .conftest import shanghai
from .test_web import ThreadedClient, log_in

START = shanghai(2026, 11, 2, 9)


def board(app, at) -> str:
    with time_machine.travel(at, tick=False):
        client = ThreadedClient(app.test_client())
        assert log_in(client, "bj-supervisor").status_code == 302
        return client.get("/supervision").text


def test_one_row_per_late_case_and_its_whistles_together(app, api):
    with time_machine.travel(START, tick=False):
        case_no = api.to_handling()
    late = START + timedelta(days=9)  # first contact and reply both overdue and whistled
    with time_machine.travel(late, tick=False):
        sweep(late)

    page = board(app, late + timedelta(minutes=1))

    overdue = page[page.index('id="overdue"') : page.index('id="whistles"')]
    assert overdue.count(f">{case_no}</a>") == 1
    assert "另有 1 项期限超期" in overdue
    whistles = page[page.index('id="whistles"') : page.index('id="extensions"')]
    assert whistles.count(f">{case_no}</a>") == 1 and "共 2 次吹哨" in whistles
    # Summoned a minute ago: not late yet, amber; red once the two hours to report in have passed.
    assert 'class="clock warned">尚未报到' in whistles and 'class="late">未报到' not in whistles
    later = board(app, late + timedelta(hours=3))
    assert re.search(r'class="late">未报到', later[later.index('id="whistles"') :])


def test_a_supervisor_publishes_and_withdraws_a_typical_case_from_the_case_page(app, api):
    from .test_web import csrf

    case_no = api.to_handling()
    api.ok(case_no, "reply", "bj-officer", result="已整改", text="已整改。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    client = ThreadedClient(app.test_client())
    assert log_in(client, "bj-supervisor").status_code == 302
    path = f"/complaints/{case_no}"
    assert 'id="publish-exposure"' in client.get(path).text

    published = client.post(f"{path}/exposure", data={"csrf_token": csrf(client, path), "title": "工厂废气整改到位"})

    assert published.status_code == 302
    page = client.get(path).text
    assert "已发布到典型案例公开栏" in page and "工厂废气整改到位" in page
    assert "工厂废气整改到位" in client.get("/public/exposures").text
    client.post(f"{path}/exposure/withdraw", data={"csrf_token": csrf(client, path)})
    assert "已于" in client.get(path).text and "工厂废气整改到位" not in client.get("/public/exposures").text
    officer = ThreadedClient(app.test_client())
    assert log_in(officer, "bj-officer").status_code == 302
    assert 'id="exposure"' not in officer.get(path).text  # only who publishes sees it
