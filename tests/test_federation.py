"""The must-hold of the exchange with real processes: Beijing, Tianjin and Hebei as separate
instances on loopback, talking signed JSON over HTTP; Hebei down, then killed in the middle of
receiving."""

import hashlib
import io

import pytest
from PIL import Image

from .federation import Federation, wait_for
from .test_evidence import jpeg_with_gps

# The complainant lives in 通州; the smell comes from 燕郊's chemical park: the home stays in Beijing,
# the place travels whole.
HOME = "北京市通州区宋庄镇小堡村"
PLACE = "河北省廊坊市三河市燕郊镇化工园东侧"
COMPLAINT = {
    "channel": "hotline_12345", "type": "complaint",
    "description": "每天傍晚闻到刺鼻的化工异味，怀疑来自东边河北境内的化工厂。",
    "complainant": {"name": "李娜", "phone": "13800009999", "callback_consent": True, "address": HOME},
    "location": {"address": PLACE, "lat": 39.95123, "lng": 116.81234},
}  # fmt: skip


@pytest.fixture
def federation(tmp_path):
    federation = Federation(tmp_path)
    yield federation
    federation.stop()


def transfer_lead(bj) -> str:
    case_no = bj.call("POST", "/api/v1/complaints", "bj-intake", COMPLAINT)["case_no"]
    bj.act(case_no, "accept", "bj-intake")
    bj.act(case_no, "assign", "bj-dispatcher", unit="tongzhou", officer="bj-officer", grade="key",
           categories=["air"])  # fmt: skip
    bj.act(case_no, "sign", "bj-officer")
    photo = bj.upload(case_no, "bj-officer", jpeg_with_gps(), "烟羽.jpg", "photo", "傍晚烟羽")
    # No call-back asked for: the complainant's contact stays in Beijing.
    bj.act(
        case_no,
        "transfer",
        "bj-officer",
        to_bureau="HE",
        reason="污染源位于三河市燕郊镇。",
        callback=False,
        suspected_source="燕郊镇化工园东侧某化工厂",
        asks="请核查傍晚排放并反馈",
        evidence=["居民拍摄的傍晚烟羽视频"],
        attachments=[photo["id"]],
    )
    return case_no


def leads_at(he) -> list[dict]:
    return he.call("GET", "/api/v1/complaints?channel=peer_transfer", "he-intake")["items"]


def complete_on_both_sides(bj, he, origin):
    (lead,) = wait_for(lambda: leads_at(he), "the lead at Hebei")
    he_case = he.call("GET", f"/api/v1/complaints/{lead['case_no']}", "he-intake")
    assert he_case["complainant"]["name"] is None and he_case["complainant"]["phone"] is None
    assert lead["state"] == "received"
    # The lead card: every field, the exact place with its coordinates, the origin's grade.
    card = he.call("GET", f"/api/v1/complaints/{lead['case_no']}", "he-supervisor")
    assert card["lead"]["origin_bureau"] == "BJ" and card["lead"]["origin_case_no"] == origin
    assert (card["lead"]["reason"], card["lead"]["suspected_source"], card["lead"]["asks"]) == (
        "污染源位于三河市燕郊镇。",
        "燕郊镇化工园东侧某化工厂",
        "请核查傍晚排放并反馈",
    )
    assert card["lead"]["evidence"] == ["居民拍摄的傍晚烟羽视频"] and card["lead"]["grade"] == "key"
    assert card["lead"]["reply_due_at"] and card["suggestion"]["grade"] == "key"
    assert (card["location"]["address"], card["location"]["lat"]) == (PLACE, 39.95123)
    assert HOME not in str(card) and "小堡村" not in str(card)
    # The photo, fetched from Beijing by a signed request, opens in Hebei with the hash the lead states,
    # as the copy without GPS.
    (photo,) = card["lead"]["files"]
    opened = he.fetch(f"/api/v1/complaints/{lead['case_no']}/lead-files/{photo['sha256']}", "he-officer")
    assert hashlib.sha256(opened).hexdigest() == photo["sha256"]
    assert 0x8825 not in Image.open(io.BytesIO(opened)).getexif()
    he.act(lead["case_no"], "sign_lead", "he-intake")
    he.act(lead["case_no"], "accept", "he-intake")
    he.act(lead["case_no"], "assign", "he-dispatcher", unit="sanhe", officer="he-officer", grade="key",
           categories=["air"])  # fmt: skip
    he.act(lead["case_no"], "sign", "he-officer")
    answered = he.act(lead["case_no"], "reply", "he-officer", result="已责令停产整改",
                      text="经现场检查问题属实，已立案处罚。")  # fmt: skip
    assert answered["state"] == "awaiting_origin"  # no 回访 in Hebei: the complainant is Beijing's

    wait_for(lambda: bj.call("GET", f"/api/v1/complaints/{origin}", "bj-officer")["state"] == "handling",
             "the result back in Beijing")  # fmt: skip
    bj.act(origin, "reply", "bj-officer", result="河北省生态环境厅已查处", text="您反映的问题已由河北方面查处。")
    assert bj.act(origin, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")["state"] == "verifying"
    assert bj.act(origin, "verify_close", "bj-leader", note="现场复核，已停产整改。")["state"] == "closed"
    # Hebei's case follows Beijing's (lead.closed); no whistle stays open on either side.
    wait_for(lambda: he.call("GET", f"/api/v1/complaints/{lead['case_no']}", "he-supervisor")["state"] == "closed",
             "Hebei's case closed with Beijing's")  # fmt: skip
    for instance, code, case_no in ((bj, "bj", origin), (he, "he", lead["case_no"])):
        whistles = instance.call("GET", f"/api/v1/whistles?case_no={case_no}", f"{code}-supervisor")
        assert [w for w in whistles if w["closed_at"] is None] == []

    events = [e["action"] for e in bj.call("GET", f"/api/v1/complaints/{origin}/events", "bj-officer")]
    assert events.count("lead_result") == 1 and events.count("lead_signed") == 1
    assert len(leads_at(he)) == 1  # exactly once
    status = he.call("GET", "/api/v1/exchange/status", "he-supervisor")
    assert status["peers"]["BJ"]["inbox"]["applied"] == 2  # the lead, its closing
    wait_for(lambda: bj.call("GET", "/api/v1/exchange/status", "bj-supervisor")["peers"]["HE"]["inbox"]["applied"] == 3,
             "Hebei's acks and result applied in Beijing")  # fmt: skip


def test_a_lead_sent_while_hebei_is_down_arrives_once_when_it_comes_back(federation):
    bj, tj, he = federation["BJ"], federation["TJ"], federation["HE"]
    bj.start()
    tj.start()
    origin = transfer_lead(bj)
    # Beijing keeps trying, failing, backing off.
    wait_for(lambda: bj.call("GET", "/api/v1/exchange/outbox?state=failing", "bj-supervisor")[0]["attempts"] >= 3
             if bj.call("GET", "/api/v1/exchange/outbox?state=failing", "bj-supervisor") else False,
             "Beijing to retry")  # fmt: skip
    assert bj.call("GET", f"/api/v1/complaints/{origin}", "bj-officer")["state"] == "transferred"
    he.start()
    complete_on_both_sides(bj, he, origin)

    # The same complainant calls again: Beijing's officer sees Hebei's case too, asked over the
    # exchange by the keyed hash of the phone number, in summary.
    again = bj.call("POST", "/api/v1/complaints", "bj-intake", {**COMPLAINT, "location": {"address": "北京市通州区"}})
    response = bj.call("GET", f"/api/v1/complaints/{again['case_no']}/history", "bj-officer")
    by_bureau = {item["bureau"]: item for item in response["items"]}
    assert by_bureau["BJ"]["case_no"] == origin and by_bureau["BJ"]["matched_by"] == ["complainant"]
    assert by_bureau["HE"]["matched_by"] == ["complainant"] and by_bureau["HE"]["result"] == "已责令停产整改"
    assert "13800009999" not in str(response) and "李娜" not in str(response)
    # Tianjin was asked too, and was told nothing of the lead.
    tianjin = tj.call("GET", "/api/v1/exchange/status", "tj-supervisor")["peers"]["BJ"]["inbox"]
    assert tianjin == {"applied": 1, "refused": 0}
    assert tj.call("GET", "/api/v1/complaints?channel=peer_transfer", "tj-intake")["total"] == 0

    # 宣传曝光: the closed case published in Beijing shows on Tianjin's board; withdrawn, it leaves it.
    exposure = bj.call("POST", "/api/v1/exposures", "bj-supervisor", {"case_no": origin, "title": "化工异味查处到位"})

    def on_tianjin_board():
        return [item["title"] for item in tj.call("GET", "/api/v1/public/exposures")["peers"]]

    wait_for(lambda: on_tianjin_board() == ["化工异味查处到位"], "the typical case on Tianjin's board")
    bj.call("POST", f"/api/v1/exposures/{exposure['id']}/withdraw", "bj-supervisor")
    wait_for(lambda: on_tianjin_board() == [], "the typical case off Tianjin's board")


def test_a_lead_arrives_once_when_hebei_dies_in_the_middle_of_receiving_it(federation, monkeypatch):
    bj, tj, he = federation["BJ"], federation["TJ"], federation["HE"]
    tj.start()
    mark = he.dir / "received-then-died"
    monkeypatch.setenv("ECOFLOW_DYING_MARK", str(mark))
    he.start("tests.dying_receiver:app")
    bj.start()
    origin = transfer_lead(bj)
    wait_for(mark.exists, "Hebei to apply the lead")
    he.kill()  # applied and committed in Hebei, never answered to Beijing
    he.start()
    complete_on_both_sides(bj, he, origin)
