"""证据材料: files attached to a case over the API, made in the test: each accepted or refused as the
norm says (workflows/evidence.yaml), never a 500, a refused upload leaving nothing behind; the
complainant's own files seen only by those who see the complainant; the hash on the trail."""

import io
import os
import struct
import uuid
import zlib

import boto3
import pytest
import requests
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from ecoflow.complaints.models import PersonalDataView
from ecoflow.evidence.models import Attachment
from ecoflow.evidence.storage import LocalStorage, S3Storage, make_storage

from .conftest import Api
from .test_web import ThreadedClient, csrf, log_in


@pytest.fixture
def threaded_api(app, staff):
    """The API client with each request in a thread (and session) of its own, for tests that also
    talk to the live server: no transaction of theirs holds SQLite's lock between requests."""
    return Api(ThreadedClient(app.test_client()))


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3-compatible server, over real HTTP on a free port: the object store is outside the
    system, so a stand-in for it runs as a server of its own."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test-key",
                        aws_secret_access_key="test-secret")  # fmt: skip


@pytest.fixture(params=["local", "s3"])
def storage(request, app, tmp_path):
    """This test's own storage: a folder of its own, or a bucket of its own in the S3-compatible server."""
    if request.param == "local":
        backend = LocalStorage(tmp_path / "evidence")
    else:
        client = s3_client(request.getfixturevalue("s3_server"))
        bucket = f"evidence-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket)
        backend = S3Storage(client, bucket, spool_dir=str(tmp_path))
    previous = app.extensions["ecoflow.storage"]
    app.extensions["ecoflow.storage"] = backend
    yield backend
    app.extensions["ecoflow.storage"] = previous


def jpeg_with_gps(size=(64, 48), orientation=None) -> bytes:
    """A JPEG as a phone takes it: GPS position, camera make and, if given, an EXIF orientation."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation:
        exif[0x0112] = orientation
    gps = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 29.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 128, 0, 255)).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF\n"


def bomb() -> bytes:
    """A PNG that says it is 30000 x 30000 pixels (900 million): a few hundred bytes that would
    take gigabytes to decode."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def upload(api, case_no, content, name="photo.jpg", kind="photo", as_="bj-officer", **fields):
    # Encoded here, in memory: the test client's own encoding of a large body leaves a file open.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(content), name), "kind": kind, **fields})
    return api.post(f"/api/v1/complaints/{case_no}/attachments", as_, data=body,
                    content_type=f"multipart/form-data; boundary={boundary}")  # fmt: skip


def files_in(storage) -> list[str]:
    return list(storage.hashes())


def count_rows(db) -> int:
    count = db.session.scalar(select(func.count()).select_from(Attachment))
    db.session.rollback()  # SQLite: a transaction left open would hold the write lock the server needs
    return count


def test_an_officer_attaches_a_photo_and_the_case_lists_and_serves_it(api, storage):
    case_no = api.to_handling()
    content = jpeg_with_gps()
    response = upload(api, case_no, content, caption="河道排污口现场")
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) >= {"id", "sha256", "size", "content_type", "kind", "caption", "from_complainant",
                         "created_at", "created_by"}  # fmt: skip
    assert isinstance(body["id"], int) and body["size"] == len(content)
    assert body["content_type"] == "image/jpeg" and body["kind"] == "photo" and body["created_by"] == "bj-officer"
    assert body["from_complainant"] is False and body["caption"] == "河道排污口现场"

    listed = api.get(f"/api/v1/complaints/{case_no}/attachments", "bj-supervisor").json["items"]
    assert [item["id"] for item in listed] == [body["id"]]
    download = api.get(f"/api/v1/complaints/{case_no}/attachments/{body['id']}", "bj-supervisor")
    assert download.status_code == 200 and download.data == content
    assert download.mimetype == "image/jpeg" and download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()
    # The attachment's hash is on the case's hash-chained trail.
    attach = [e for e in api.events(case_no) if e["action"] == "attach"]
    assert attach[0]["data"]["sha256"] == body["sha256"]


def test_the_thumbnail_is_upright_and_carries_no_gps_or_camera(api, db, storage):
    case_no = api.to_handling()
    # Orientation 6: the camera was turned; the picture is 64 wide as stored, 48 wide upright.
    body = upload(api, case_no, jpeg_with_gps(size=(64, 48), orientation=6)).json
    thumb = api.get(f"/api/v1/complaints/{case_no}/attachments/{body['id']}/thumbnail", "bj-officer")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(thumb.data))
    thumb.close()
    assert image.size == (48, 64)
    assert not image.getexif() and b"PhoneMaker" not in thumb.data
    # The full-size copy for anyone outside the bureau is stripped too.
    with storage.open(db.session.get(Attachment, body["id"]).stripped_sha256) as copy:
        stripped = copy.read()
    assert b"PhoneMaker" not in stripped and not Image.open(io.BytesIO(stripped)).getexif()


@pytest.mark.parametrize(
    ("content", "name", "kind", "status", "error"),
    [
        (b"this is not a photo at all\n" * 10, "photo.jpg", "photo", 415, "unsupported_type"),
        (b"", "empty.jpg", "photo", 422, "empty_file"),
        (None, "bomb.png", "photo", 422, "bad_image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200, "broken.jpg", "photo", 422, "bad_image"),
        (PDF, "report.jpg", "photo", 415, "unsupported_type"),
        (b"\x89PNG\r\n\x1a\n", "x.png", "document", 415, "unsupported_type"),
    ],
    ids=["text-named-jpg", "zero-bytes", "bomb", "undecodable-jpeg", "pdf-as-photo", "png-as-document"],
)
def test_a_refused_upload_says_why_and_leaves_nothing(api, db, storage, content, name, kind, status, error):
    case_no = api.to_handling()
    before = api.complaint(case_no)["version"]
    response = upload(api, case_no, bomb() if content is None else content, name=name, kind=kind)
    assert response.status_code == status, response.json
    assert response.json["error"] == error and response.json["message"]
    assert count_rows(db) == 0 and files_in(storage) == []
    assert api.complaint(case_no)["version"] == before


def test_a_file_over_its_kinds_limit_is_refused_naming_the_limit(api, db, storage):
    case_no = api.to_handling()
    big = jpeg_with_gps() + b"\0" * (20 * 1024 * 1024)  # a valid JPEG start, 20 MB + a little
    response = upload(api, case_no, big)
    assert response.status_code == 413 and "20 MB" in response.json["message"]
    assert count_rows(db) == 0 and files_in(storage) == []


def test_png_and_pdf_are_accepted_and_a_pdf_downloads_as_a_file_with_a_safe_name(api, storage):
    case_no = api.to_handling()
    assert upload(api, case_no, png(), name="水样.png").json["content_type"] == "image/png"
    pdf = upload(api, case_no, PDF, name="../../etc/监测\x07报告.pdf", kind="document")
    assert pdf.status_code == 201, pdf.json
    download = api.get(f"/api/v1/complaints/{case_no}/attachments/{pdf.json['id']}", "bj-officer")
    disposition = download.headers["Content-Disposition"]
    assert download.mimetype == "application/pdf" and disposition.startswith("attachment")
    download.close()
    assert ".." not in disposition and "etc" not in disposition and "%2F" not in disposition
    assert "%E7%9B%91%E6%B5%8B%E6%8A%A5%E5%91%8A.pdf" in disposition  # 监测报告.pdf


def test_only_who_may_act_on_the_case_attaches_and_other_bureaus_see_nothing(api, storage):
    case_no = api.to_handling()
    assert upload(api, case_no, png(), as_="tj-officer").status_code == 403
    assert upload(api, case_no, png(), as_="bj-intake").status_code == 403  # nothing to do on it now
    assert upload(api, case_no, png(), as_="bj-dispatcher").status_code == 201  # it may reassign the case
    body = upload(api, case_no, png()).json
    assert api.get(f"/api/v1/complaints/{case_no}/attachments", "tj-supervisor").status_code == 403
    assert api.get(f"/api/v1/complaints/{case_no}/attachments/{body['id']}", "tj-supervisor").status_code == 403
    assert api.get(f"/api/v1/complaints/{case_no}/attachments/999999", "bj-officer").status_code == 404


def test_the_complainants_photo_is_personal_data(api, db, storage):
    case_no = api.register()["case_no"]
    mine = upload(api, case_no, jpeg_with_gps(), as_="bj-intake", from_complainant="true").json
    assert mine["from_complainant"] is True
    views = db.session.scalar(select(func.count()).select_from(PersonalDataView))
    # Intake sees the complainant unmasked: the photo opens, and that is logged.
    opened = api.get(f"/api/v1/complaints/{case_no}/attachments/{mine['id']}", "bj-intake")
    assert opened.status_code == 200
    opened.close()
    db.session.expire_all()
    logged = db.session.scalar(select(func.count()).select_from(PersonalDataView))
    assert logged == views + 1
    # The supervisor sees the complainant masked: listed, but neither the photo nor its thumbnail opens.
    url = f"/api/v1/complaints/{case_no}/attachments/{mine['id']}"
    assert api.get(url, "bj-supervisor").status_code == 403
    refused = api.get(url + "/thumbnail", "bj-supervisor")
    assert refused.status_code == 403 and refused.json["error"] == "personal_data"
    assert [i["id"] for i in api.get(f"/api/v1/complaints/{case_no}/attachments", "bj-supervisor").json["items"]]


def test_an_action_ties_uploads_to_itself_and_the_event_carries_their_hashes(api, storage):
    case_no = api.to_handling()
    first = upload(api, case_no, jpeg_with_gps()).json
    second = upload(api, case_no, PDF, name="监测报告.pdf", kind="document").json
    done = api.act(case_no, "record_progress", "bj-officer", version=second["case_version"], note="已到现场取证。",
                   attachments=[first["id"], second["id"]])  # fmt: skip
    assert done.status_code == 200, done.json
    [event] = [e for e in api.events(case_no) if e["action"] == "record_progress"]
    assert event["data"]["attachments"] == [{"id": first["id"], "sha256": first["sha256"]},
                                            {"id": second["id"], "sha256": second["sha256"]}]  # fmt: skip
    listed = api.get(f"/api/v1/complaints/{case_no}/attachments", "bj-officer").json["items"]
    assert {item["event_seq"] for item in listed} == {event["seq"]}
    # Tied once: naming them again, or another case's, or an unknown one, is refused and changes nothing.
    version = api.complaint(case_no)["version"]
    again = api.act(case_no, "record_progress", "bj-officer", note="再次", attachments=[first["id"]])
    assert again.status_code == 422 and str(first["id"]) in again.json["details"]["fields"]["attachments"]
    unknown = api.act(case_no, "record_progress", "bj-officer", note="再次", attachments=[424242])
    assert unknown.status_code == 422
    assert api.complaint(case_no)["version"] == version


def test_a_withdrawn_upload_leaves_the_list_but_stays_on_the_record(api, storage):
    case_no = api.to_handling()
    body = upload(api, case_no, png()).json
    url = f"/api/v1/complaints/{case_no}/attachments/{body['id']}/withdraw"
    assert api.post(url, "bj-officer", json={}).status_code == 422
    withdrawn = api.post(url, "bj-officer", json={"reason": "传错了照片"})
    assert withdrawn.status_code == 200 and withdrawn.json["withdrawn_at"]
    assert api.get(f"/api/v1/complaints/{case_no}/attachments", "bj-officer").json["items"] == []
    assert [e["data"]["reason"] for e in api.events(case_no) if e["action"] == "withdraw_attachment"] == ["传错了照片"]
    assert api.post(url, "bj-officer", json={"reason": "再撤"}).status_code == 422
    tie = api.act(case_no, "record_progress", "bj-officer", note="附件", attachments=[body["id"]])
    assert tie.status_code == 422


def test_the_same_file_twice_is_stored_once(api, db, storage):
    case_no = api.to_handling()
    content = jpeg_with_gps(size=(800, 600))
    one, two = upload(api, case_no, content).json, upload(api, case_no, content).json
    assert one["sha256"] == two["sha256"] and one["id"] != two["id"]
    assert len(files_in(storage)) == 3  # the file, its thumbnail and its stripped copy


def test_an_upload_whose_unit_of_work_rolls_back_leaves_no_file(app, api, db, storage, monkeypatch):
    case_no = api.to_handling()
    from ecoflow.evidence import services

    def broken(*args, **kwargs):
        raise RuntimeError("the trail could not be written")

    monkeypatch.setattr(services, "record_event", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = upload(api, case_no, png())
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert count_rows(db) == 0 and files_in(storage) == []


def test_verify_reports_orphans_missing_and_changed_files_and_fix_removes_orphans(api, db, storage, runner):
    case_no = api.to_handling()
    kept = upload(api, case_no, PDF, kind="document").json
    gone = upload(api, case_no, PDF + b"%second\n", kind="document").json
    assert runner.invoke(args=["ecoflow", "attachments", "verify"]).exit_code == 0
    orphan = storage.save(io.BytesIO(b"left behind by a crash"))
    storage.delete(gone["sha256"])
    if isinstance(storage, S3Storage):
        storage.client.put_object(Bucket=storage.bucket, Key=storage.prefix + kept["sha256"], Body=b"tampered")
    else:
        with open(storage.path(kept["sha256"]), "ab") as swapped:
            swapped.write(b"tampered")
    result = runner.invoke(args=["ecoflow", "attachments", "verify"])
    assert result.exit_code == 1
    assert f"attachment {gone['id']}: file {gone['sha256']} is missing" in result.output
    assert f"attachment {kept['id']}" in result.output and "changed" in result.output
    assert f"file {orphan.sha256}: no attachment refers to it" in result.output
    # The file's hash is on the case's trail: the audit sees the swap too.
    audit = runner.invoke(args=["ecoflow", "audit", "verify"])
    assert audit.exit_code == 1 and f"attachment {kept['id']}: its file is not the one" in audit.output
    fixed = runner.invoke(args=["ecoflow", "attachments", "verify", "--fix"])
    assert "(removed)" not in fixed.output and storage.exists(orphan.sha256)  # maybe an upload in progress
    if isinstance(storage, LocalStorage):
        os.utime(storage.path(orphan.sha256), (1, 1))  # written long ago
        fixed = runner.invoke(args=["ecoflow", "attachments", "verify", "--fix"])
        assert "(removed)" in fixed.output and not storage.exists(orphan.sha256)


def test_open311_takes_a_photo_as_multipart_media_for_the_complainant(
    live_server, threaded_api, db, storage, channel_key
):
    api = threaded_api
    key = channel_key("首都环保随手拍", "online", "BJ")
    form = {"api_key": key, "jurisdiction_id": "BJ", "service_code": "water", "attribute[ongoing]": "yes",
            "address_string": "北京市通州区潞城镇胡各庄村东河道", "description": "河里有黑水和死鱼。",
            "media_url": "javascript:alert(1)"}  # fmt: skip
    url = f"{live_server}/open311/v2/requests.json"
    refused = requests.post(url, data=form, files={"media": ("河.jpg", b"not a picture at all " * 20)}, timeout=30)
    assert refused.status_code == 400 and "格式" in refused.json()[0]["description"]
    assert count_rows(db) == 0 and files_in(storage) == []

    filed = requests.post(url, data=form, files={"media": ("河.jpg", jpeg_with_gps())}, timeout=30)
    assert filed.status_code == 201, filed.text
    case_no = filed.json()[0]["service_request_id"]
    [item] = api.get(f"/api/v1/complaints/{case_no}/attachments", "bj-intake").json["items"]
    assert item["from_complainant"] is True and item["created_by"] is None and item["event_seq"] == 1
    assert api.get(f"/api/v1/complaints/{case_no}/attachments/{item['id']}", "bj-supervisor").status_code == 403
    # The link the citizen gave is shown to intake as text (not a link: it is no web address).
    web = ThreadedClient(api.client.client.application.test_client())
    assert log_in(web, "bj-intake").status_code == 302
    page = web.get(f"/complaints/{case_no}").text
    assert "投诉人提供的媒体链接" in page and 'href="javascript' not in page
    # Nothing of it is public: the request as GeoReport shows it has no media.
    assert requests.get(f"{live_server}/open311/v2/requests/{case_no}.json", timeout=30).json()[0].get("media_url") in (
        None,
        "",
    )


def test_a_web_action_form_refusing_a_file_keeps_nothing_and_says_why(app, threaded_api, db, storage):
    api = threaded_api
    case_no = api.to_handling()
    web = ThreadedClient(app.test_client())  # each request in a thread of its own, as a server's
    assert log_in(web, "bj-officer").status_code == 302
    token = csrf(web, f"/complaints/{case_no}")
    version = api.complaint(case_no)["version"]
    form = {"csrf_token": token, "record_progress-version": str(version), "record_progress-note": "现场取证",
            "evidence_files": (io.BytesIO(b"plain text, named as a photo\n" * 5), "现场.jpg")}  # fmt: skip
    refused = web.post(f"/complaints/{case_no}/actions/record_progress", data=form, content_type="multipart/form-data")
    assert refused.status_code == 422, refused.text
    assert "文件内容不是可接受的格式" in refused.text
    assert count_rows(db) == 0 and files_in(storage) == [] and api.complaint(case_no)["version"] == version
    form["evidence_files"] = (io.BytesIO(PDF), "现场记录.pdf")
    done = web.post(f"/complaints/{case_no}/actions/record_progress", data=form, content_type="multipart/form-data")
    assert done.status_code == 302
    [item] = api.get(f"/api/v1/complaints/{case_no}/attachments", "bj-officer").json["items"]
    assert item["kind"] == "document" and item["filename"] == "现场记录.pdf"
    page = web.get(f"/complaints/{case_no}").text
    assert "现场记录.pdf" in page and "证据材料" in page


def test_the_configuration_chooses_the_s3_backend(s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config = {"EVIDENCE_STORAGE": "s3", "EVIDENCE_S3_BUCKET": "configured", "EVIDENCE_S3_ENDPOINT_URL": s3_server,
              "EVIDENCE_S3_PREFIX": "evidence/", "EVIDENCE_DIR": None}  # fmt: skip
    backend = make_storage(config)
    backend.client.create_bucket(Bucket="configured")
    stored = backend.save(io.BytesIO(PDF))
    assert backend.exists(stored.sha256) and list(backend.hashes()) == [stored.sha256]
    with backend.open(stored.sha256) as body:
        assert body.read() == PDF
    with pytest.raises(ValueError, match="EVIDENCE_S3_BUCKET"):
        make_storage({**config, "EVIDENCE_S3_BUCKET": None})


def test_a_supervisor_publishes_chosen_photos_without_their_metadata(api, db, storage, client):
    case_no = api.to_handling()
    original = jpeg_with_gps(size=(800, 600), orientation=6)
    officers = upload(api, case_no, original, caption="排污口").json
    theirs = upload(api, case_no, png(), as_="bj-supervisor", from_complainant="true").json
    report = upload(api, case_no, PDF, kind="document").json
    api.ok(case_no, "reply", "bj-officer", result="已处置", text="已责令整改。")
    api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")

    def publish(photos):
        body = {"case_no": case_no, "title": "工厂偷排污水被责令整改", "photos": photos}
        return api.post("/api/v1/exposures", "bj-supervisor", json=body)

    refused = publish([officers["id"], theirs["id"], report["id"]])
    assert refused.status_code == 422
    problems = refused.json["details"]["fields"]["photos"]
    assert set(problems) == {str(theirs["id"]), str(report["id"])} and "个人信息" in problems[str(theirs["id"])]
    published = publish([officers["id"]])
    assert published.status_code == 201, published.json
    [url] = published.json["photos"]
    photo = client.get(url.split("localhost", 1)[-1])  # public: no login
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    shown = photo.data
    photo.close()
    assert shown != original and b"PhoneMaker" not in shown and not Image.open(io.BytesIO(shown)).getexif()
    assert Image.open(io.BytesIO(shown)).size == (600, 800)  # upright
    assert "现场照片1" in client.get("/public/exposures").text
    # The trail holds the hash of the copy that left, beside the original's.
    [expose] = [e for e in api.events(case_no) if e["action"] == "expose"]
    assert expose["data"]["photos"][0]["attachment"] == officers["id"]
    assert expose["data"]["photos"][0]["sha256"] != officers["sha256"]
    withdrawn = api.post(f"/api/v1/exposures/{published.json['id']}/withdraw", "bj-supervisor")
    assert withdrawn.status_code == 200
    assert client.get(url.split("localhost", 1)[-1]).status_code == 404
