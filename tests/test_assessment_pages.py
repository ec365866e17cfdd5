"""The dashboard, the cases behind a figure and the printable report, as a leader sees them."""

import re
from datetime import timedelta

import time_machine
from flask import g

from .conftest import PASSWORD, shanghai

START = shanghai(2026, 11, 2, 9)


def csrf(client) -> str:
    """The CSRF token every form carries (Flask-WTF), from the login page. The test's app context
    outlives requests, so the token Flask-WTF caches in `g` is dropped first (signing in clears the
    session it belongs to)."""
    g.pop("csrf_token", None)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text).group(1)


def sign_in(client, username):
    with time_machine.travel(START + timedelta(days=2), tick=False):  # the session cookie is signed with the time
        data = {"username": username, "password": PASSWORD, "csrf_token": csrf(client)}
        response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def two_cases(api):
    with time_machine.travel(START, tick=False):
        met = api.to_handling()
        missed = api.to_handling(officer="bj-officer2", unit="chaoyang")
        api.ok(met, "contact", "bj-officer", method="电话")
    return met, missed


def page(client, path):
    with time_machine.travel(START + timedelta(days=2), tick=False):
        return client.get(path)


def test_the_dashboard_shows_the_figures_charts_and_ranking(api, client):
    met, missed = two_cases(api)
    assert page(client, "/assessment/").status_code == 302  # not logged in: to the workbench's login
    sign_in(client, "bj-leader")
    response = page(client, "/assessment/?month=2026-11")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "响应率" in html and "50.0%" in html and "1 / 2" in html
    assert html.count("<svg") == 2 and "月度趋势" in html
    ranking_svg = html[html.index('aria-label="综合得分排名"') :]
    assert ranking_svg.index("通州分局") < ranking_svg.index("朝阳分局") and "<rect" in ranking_svg  # bars, best first
    # Nothing is fetched from elsewhere: no script or style source, no CDN.
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert assets and all(url.startswith("/static/") for url in assets)
    assert not re.search(r"https?://(?!www\.w3\.org)", html)
    ranking = html[html.index("按承办单位排名") :]
    assert ranking.index("通州分局") < ranking.index("朝阳分局")

    missed_link = re.search(r'href="(/assessment/cases\?[^"]*figure=response[^"]*unit=chaoyang[^"]*)"', html)
    assert missed_link, "each figure of a unit links to its cases"
    cases = page(client, missed_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert missed in cases and met not in cases


def test_the_printable_report_and_the_download_link(api, client):
    two_cases(api)
    sign_in(client, "bj-leader")
    html = page(client, "/assessment/report?month=2026-11").get_data(as_text=True)
    assert "2026年11月接诉即办考核月报" in html and "按承办单位" in html and "超期案件" in html
    dashboard = page(client, "/assessment/?month=2026-11").get_data(as_text=True)
    link = re.search(r'href="([^"]*report\.xlsx[^"]*)"', dashboard).group(1).replace("&amp;", "&")
    download = page(client, link)  # with the login's session, no API token
    assert download.status_code == 200 and download.data[:2] == b"PK"  # an .xlsx is a zip
    assert "attachment" in download.headers["Content-Disposition"]


def test_pages_refuse_who_may_not_see_and_bad_filters(api, client):
    two_cases(api)
    sign_in(client, "bj-officer")
    refused = page(client, "/assessment/")
    assert refused.status_code == 403 and "考核数据仅对" in refused.get_data(as_text=True)
    assert 'href="/assessment/"' not in page(client, "/").get_data(as_text=True)  # nor in the officer's menu
    sign_in(client, "bj-leader")
    assert 'href="/assessment/"' in page(client, "/").get_data(as_text=True)
    bad = page(client, "/assessment/?month=2026-13")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "月份：取值无效" in text and not re.search(r"Not a valid|Must be|month：", text)  # in Chinese, no parameter
    bad = page(client, "/assessment/cases?figure=nonsense").get_data(as_text=True)
    assert "指标：取值无效" in bad and "Must be one of" not in bad
