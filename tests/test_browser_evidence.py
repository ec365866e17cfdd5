"""证据材料 in a real headless Chromium: intake attaches the complainant's two photos while
registering, the officer sees their thumbnails and adds a PDF to the reply, and a viewer who sees the
complainant masked cannot open the complainant's photos (403) but does see the officer's PDF."""

from __future__ import annotations

import re

from .test_browser import act, browser, dispatch, fill, open_as, open_case, pytestmark, server, shoot
from .test_evidence import PDF, jpeg_with_gps, png

__all__ = ["browser", "open_as", "pytestmark", "server"]  # the fixtures and the skip, shared


def test_photos_at_intake_a_pdf_with_the_reply_and_the_complainants_photos_masked(server, open_as, tmp_path):
    photo, water = tmp_path / "黑水排放口.jpg", tmp_path / "河面.png"
    photo.write_bytes(jpeg_with_gps(size=(640, 480)))
    water.write_bytes(png())
    report = tmp_path / "监测报告.pdf"
    report.write_bytes(PDF)

    intake = open_as("bj-intake")
    intake.goto(intake.server + "/complaints/new")
    fill(intake, "#intake", channel="hotline_12345", type="complaint", name="李四", phone="13900001111",
         address="北京市通州区潞城镇胡各庄村东河道", description="河道里每天夜里有黑水排入，死鱼很多。")  # fmt: skip
    intake.set_input_files("#intake-evidence", [str(photo), str(water)])
    shoot(intake, "evidence-intake-1366")
    intake.click("#intake button[type=submit]")
    intake.wait_for_url(re.compile(r".*/complaints/BJ-"))
    case_no = intake.url.rsplit("/", 1)[1]
    assert intake.locator("#evidence li.evidence-photo img").count() == 2
    act(intake, "accept")
    dispatch(open_as("bj-dispatcher"), case_no)

    officer = open_as("bj-officer")
    open_case(officer, case_no)
    thumbs = officer.locator("#evidence li.evidence-photo img")
    assert thumbs.count() == 2
    officer.wait_for_function("() => [...document.querySelectorAll('#evidence img')].every(i => i.naturalWidth > 0)")
    act(officer, "sign")
    officer.locator("#action-reply").evaluate("e => e.open = true")
    officer.set_input_files("#reply-evidence", str(report))
    act(officer, "reply", result="已处置", text="已责令停止排放，附监测报告。")
    assert officer.locator("#evidence a.document", has_text="监测报告.pdf").count() == 1
    # The PDF is on the timeline next to the reply.
    reply = officer.locator("#timeline li", has_text="答复")
    assert reply.locator("a", has_text="监测报告.pdf").count() == 1
    shoot(officer, "evidence-case-1366")

    supervisor = open_as("bj-supervisor")
    open_case(supervisor, case_no)
    assert supervisor.locator("#evidence .sealed").count() == 2
    assert supervisor.locator("#evidence li.evidence-photo img").count() == 0
    photo_ids = re.findall(r"attachment-(\d+)", officer.content())
    for attachment_id in sorted(set(photo_ids))[:2]:
        url = f"{server}/complaints/{case_no}/attachments/{attachment_id}"
        assert supervisor.request.get(url).status == 403
    pdf = supervisor.locator("#evidence a.document").get_attribute("href")
    response = supervisor.request.get(server + pdf)
    assert response.status == 200 and response.body() == PDF
    shoot(supervisor, "evidence-case-masked-1366")

    phone = open_as("bj-officer", width=390, height=844)
    open_case(phone, case_no)
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
    shoot(phone, "evidence-case-390")
