"""The table of privacy cases (tests/data/privacy_cases.yaml) as a test: each text masked for a viewer
who sees the complainant masked, scrubbed for the public, and, end to end, through the API, Open311's
GET requests and the public board; and a property test of phone numbers in mixed notations."""

import logging
import re
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecoflow.complaints import privacy
from ecoflow.exposure.scrub import scrub
from ecoflow.notifications.services import deliver_pending
from ecoflow.timeutil import utcnow

from .conftest import shanghai

TABLE = yaml.safe_load((Path(__file__).parent / "data" / "privacy_cases.yaml").read_text(encoding="utf-8"))
WHO = TABLE["complainant"]
CASES = TABLE["cases"]
COMPLAINANT = SimpleNamespace(
    complainant_name=WHO["name"], complainant_phone=WHO["phone"], complainant_address=WHO["address"],
    district_code=WHO["district_code"],
)  # fmt: skip


def folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def without_kept(text: str) -> str:
    """The text less the table's kept texts, which may hold digits that a secret also holds (12345热线)."""
    for case in CASES:
        if case["kind"] == "kept":
            text = text.replace(case["text"], "")
    return text


def digit_free_kept(case) -> bool:
    return case["kind"] == "kept" and not re.search(r"\d", case["text"])


def test_the_table_covers_every_kind_with_enough_cases():
    kinds = {case["kind"] for case in CASES}
    assert len(CASES) >= 150
    assert {"mobile", "landline", "local", "id_card", "email", "name", "own_address", "kept"} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['kind']}" for i, c in enumerate(CASES)])
def test_each_case_is_masked_for_a_masked_viewer(case):
    assert privacy.mask_text(case["text"], COMPLAINANT) == case["masked"]


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['kind']}" for i, c in enumerate(CASES)])
def test_each_case_is_scrubbed_for_the_public(case):
    public = scrub(case["text"], [WHO["name"]], [WHO["address"]], WHO["district_code"])
    for secret in case.get("secret", []):
        assert secret not in folded(public)
    if digit_free_kept(case):  # a place name is what the public is told about
        assert public == case["text"]


def chunks(cases, limit=3500):
    """The cases in groups whose texts joined make a description of at most `limit` characters."""
    out, current = [], []
    for case in cases:
        if current and len("；".join(c["text"] for c in [*current, case])) > limit:
            out.append(current)
            current = []
        current.append(case)
    return [*out, current]


def register(api, texts):
    complainant = {"name": WHO["name"], "phone": WHO["phone"], "callback_consent": True, "address": WHO["address"]}
    return api.register(description="；".join(texts), complainant=complainant, location={"address": WHO["address"]})


def test_the_api_shows_the_table_masked_to_a_supervisor_and_whole_to_intake(api):
    for group in chunks(CASES):
        case_no = register(api, [c["text"] for c in group])["case_no"]
        assert api.complaint(case_no, as_="bj-intake")["description"] == "；".join(c["text"] for c in group)
        assert api.complaint(case_no)["description"] == "；".join(c["masked"] for c in group)


def test_the_public_board_and_open311_show_no_secret_of_the_table(api, client, channel_key):
    key = channel_key("首都环保随手拍", "online", "BJ")
    secrets = {s for c in CASES for s in c.get("secret", [])}
    for group in chunks(CASES):
        description = "；".join(c["text"] for c in group)
        form = {
            "api_key": key, "jurisdiction_id": "BJ", "service_code": "air", "attribute[ongoing]": "yes",
            "address_string": WHO["address"], "description": description,
            "first_name": WHO["name"][1:], "last_name": WHO["name"][0], "phone": WHO["phone"],
        }  # fmt: skip
        filed = client.post("/open311/v2/requests.json", data=form)
        assert filed.status_code == 201, filed.get_data(as_text=True)
        case_no = filed.json[0]["service_request_id"]
        [shown] = client.get(f"/open311/v2/requests/{case_no}.json?jurisdiction_id=BJ").json
        listed = client.get("/open311/v2/requests.json?jurisdiction_id=BJ").get_data(as_text=True)
        assert shown["address"] == "北京市通州区****"
        for text in (without_kept(folded(shown["description"])), without_kept(folded(listed))):
            for secret in secrets:
                assert secret not in text, secret
        for case in filter(digit_free_kept, group):
            assert case["text"] in shown["description"]
        with time_machine.travel(shanghai(2026, 11, 2, 9), tick=False):
            case_no = register(api, [c["text"] for c in group])["case_no"]
            api.ok(case_no, "accept", "bj-intake")
            api.ok(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="general",
                   categories=["air"])  # fmt: skip
            api.ok(case_no, "sign", "bj-officer")
            api.ok(case_no, "reply", "bj-officer", result=description[:1000], text="已处理。")
            api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
            published = api.post("/api/v1/exposures", "bj-supervisor", json={"case_no": case_no, "title": "典型案例"})
            assert published.status_code == 201, published.json
    board = folded(client.get("/api/v1/public/exposures?per_page=50").get_data(as_text=True))
    page = folded(client.get("/public/exposures").get_data(as_text=True))
    for public in (without_kept(board), without_kept(page)):
        for secret in secrets:
            assert secret not in public, secret
    for case in filter(digit_free_kept, CASES):
        assert case["text"] in board


def test_the_notices_log_lines_show_the_table_masked(api, db, caplog):
    caplog.set_level(logging.INFO, logger="ecoflow.notifications.senders")
    complainant = {"name": WHO["name"], "phone": WHO["phone"], "callback_consent": True, "address": WHO["address"]}
    case_no = api.to_handling(complainant=complainant, location={"address": WHO["address"]})
    for group in chunks(CASES, limit=1000):
        api.ok(case_no, "supervise", "bj-supervisor", note="；".join(c["text"] for c in group))
        db.session.rollback()
        deliver_pending(utcnow())
        db.session.commit()
        lines = [r.getMessage() for r in caplog.records if r.name == "ecoflow.notifications.senders"]
        assert lines and all("；".join(c["masked"] for c in group) in line for line in lines[-2:])
        caplog.clear()


# Phone numbers as people write them: a mobile or a landline, its digits grouped any way, joined by
# any of the separators people use, maybe with a country code, maybe in full-width digits.
SEPARATORS = [" ", "-", ".", "/", "·", "・", "•", "—", "_", " - ", "．", "－", "　"]
CHINESE = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=0, max_size=8)


@st.composite
def written_phone(draw):
    if draw(st.booleans()):
        digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
        visible = digits[:3] + digits[-4:]
    else:
        area = draw(st.sampled_from(["010", "022", "0316", "0312", "0311"]))
        digits = area + draw(st.sampled_from("23456789")) + draw(st.text("0123456789", min_size=7, max_size=7))
        visible = area + digits[-4:]
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=4)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    written = "".join(
        g + (draw(st.sampled_from(SEPARATORS)) if i < len(groups) - 1 else "") for i, g in enumerate(groups)
    )
    if draw(st.booleans()):
        written = draw(st.sampled_from(["+86 ", "+86-", "0086 ", "(+86)", "＋８６ "])) + written
    if draw(st.booleans()):
        written = written.translate({ord(d): chr(0xFF10 + int(d)) for d in "0123456789"})
    return visible, written


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=CHINESE, phone=written_phone(), after=CHINESE)
def test_no_phone_in_any_notation_survives_masking(before, phone, after):
    visible, written = phone
    masked, public = privacy.mask_text(before + written + after, COMPLAINANT), scrub(before + written + after)
    # A masked viewer sees a mobile's first three and last four digits, a landline's area code and last
    # four; the public sees none.
    assert re.sub(r"\D", "", folded(masked)) == visible, (written, masked)
    assert re.sub(r"\D", "", folded(public)) == "", (written, public)


PLACE_SUFFIXES = ["河", "湖", "路", "街", "桥", "村", "小区", "工厂", "化工厂", "园区", "店", "庄", "镇", "里", "区"]


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=2, max_size=5),
    suffix=st.sampled_from(PLACE_SUFFIXES),
    words=CHINESE,
)
def test_place_names_without_digits_survive_masking(name, suffix, words):
    text = f"{name}{suffix}{words}有异味"
    if any(part in text for part in privacy.address_pieces(WHO["address"], WHO["district_code"])):
        return  # the complainant's own address is not a place name that must survive
    if WHO["name"] in text or WHO["name"][-2:] in text:
        return
    assert privacy.mask_text(text, COMPLAINANT) == text
