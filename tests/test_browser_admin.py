"""管理 in a real headless Chromium: an administrator creates a unit and an officer; the officer logs
in with the one-time password, must change it, and sees an empty workbench."""

from __future__ import annotations

import re

import requests

from .conftest import COMPLAINT, PASSWORD
from .test_browser import browser, open_as, pytestmark, server, shoot  # noqa: F401  (fixtures, the skip)

NEW_PASSWORD = "湖畔-晨雾-蓝鲸-2026"


def test_an_admin_creates_a_unit_and_an_officer_who_changes_the_one_time_password(open_as, browser, server):  # noqa: F811
    for width in (1366, 390):
        page = open_as("bj-admin", width=width)
        page.click("nav >> text=管理")
        page.wait_for_selector("#units")
        code = f"fs{width}"
        page.click("#units summary")
        page.fill("#unit-code", code)
        page.fill("#unit-name", f"房山分局{width}")
        page.click("#new-unit button[type=submit]")
        page.wait_for_selector(f"#units >> text=房山分局{width}")
        assert "已新建单位" in page.inner_text("main")

        page.click("#officers summary")
        page.fill("#officer-username", f"bj-fs{width}")
        page.fill("#officer-name", "钱七")
        page.select_option("#officer-unit", code)
        page.check("#officer-roles input[value=officer]")
        shoot(page, f"admin_{width}")
        page.click("#new-officer button[type=submit]")
        otp = page.inner_text("#otp").strip()
        assert len(otp) >= 12
        shoot(page, f"admin_one_time_password_{width}")
        page.goto(server + "/admin")
        text = page.inner_text("#trail")
        assert "新建人员" in text and "新建单位" in text and "承办人" in text
        shoot(page, f"admin_trail_{width}")

        context = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
        officer = context.new_page()
        officer.goto(server + "/login")
        officer.fill("#username", f"bj-fs{width}")
        officer.fill("#password", otp)
        officer.click("#login button[type=submit]")
        officer.wait_for_url(re.compile(r".*/password.*"))
        assert "一次性密码" in officer.inner_text("main")
        officer.fill("#password", otp)
        officer.fill("#new_password", "123456")
        officer.fill("#confirm", "123456")
        officer.click("#change-password button[type=submit]")
        assert "至少 10 个字符" in officer.inner_text("main")
        shoot(officer, f"password_change_{width}")
        officer.fill("#password", otp)
        officer.fill("#new_password", NEW_PASSWORD)
        officer.fill("#confirm", NEW_PASSWORD)
        officer.click("#change-password button[type=submit]")
        officer.wait_for_url(server + "/")
        main = officer.inner_text("main")
        assert "我的工作台" in main and "密码已修改" in main
        assert "管理" not in officer.inner_text("nav")
        shoot(officer, f"new_officer_workbench_{width}")
        context.close()


def test_the_supervisor_reads_the_personal_data_access_record(open_as, server):  # noqa: F811
    token = requests.post(f"{server}/api/v1/auth/token", json={"username": "bj-intake", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    case_no = requests.post(f"{server}/api/v1/complaints", json=COMPLAINT, headers=headers).json()["case_no"]
    for width in (1366, 390):
        page = open_as("bj-supervisor", width=width)
        page.click("nav >> text=管理")
        page.click("#personal-data-link")
        text = page.inner_text("main")
        assert "个人信息查阅记录" in text and case_no in text and "登记" in text
        shoot(page, f"personal_data_views_{width}")
