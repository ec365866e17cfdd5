"""Small things an officer notices (issue 17): the icon, the kind of day an extension counts in, 挂账
after 销号, and the 登记 form refused before it is filled."""

from __future__ import annotations

from .test_web import ThreadedClient, log_in


def logged_in(app, username):
    client = ThreadedClient(app.test_client())
    assert log_in(client, username).status_code == 302
    return client


def test_the_app_has_its_own_icon(app, staff):
    client = ThreadedClient(app.test_client())
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["Location"].endswith("/static/favicon.svg")
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.get_data().startswith(b"<svg")
    svg.close()
    assert 'rel="icon"' in logged_in(app, "bj-officer").get("/").text


def test_the_extension_form_says_which_days_it_counts(app, api):
    general = api.to_handling()
    key = api.to_handling(grade="key")
    client = logged_in(app, "bj-officer")
    assert "按自然日计" in client.get(f"/complaints/{general}").text
    assert "按工作日计" in client.get(f"/complaints/{key}").text


def test_a_struck_off_case_no_longer_says_it_is_on_the_ledger(app, api):
    case_no = api.to_handling(grade="key")
    api.ok(case_no, "reply", "bj-officer", result="已整改", text="已整改。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    client = logged_in(app, "bj-supervisor")
    assert '<span class="tag">挂账</span>' in client.get(f"/complaints/{case_no}").text
    api.ok(case_no, "verify_close", "bj-leader", note="同意销号。")
    page = client.get(f"/complaints/{case_no}").text
    assert '<span class="tag">已销号</span>' in page and '<span class="tag">挂账</span>' not in page


def test_the_intake_form_is_refused_before_it_is_filled(app, staff):
    refused = logged_in(app, "bj-officer").get("/complaints/new")
    assert refused.status_code == 403 and "只有受理员可以登记诉求" in refused.text and 'id="intake"' not in refused.text
    assert logged_in(app, "bj-intake").get("/complaints/new").status_code == 200
