"""What operators and newcomers meet: the schema from migrations, demo data, the audit check,
intake numbering and idempotency, grading suggestions."""

import re

import pytest
import time_machine
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from ecoflow.audit import chain_hash
from ecoflow.casework.trail import event_record
from ecoflow.complaints.models import Complaint, Event
from ecoflow.officers.models import Officer

from .conftest import shanghai


# SQLite's reflection skips expression indexes (the order number's, upper(external_id)); PostgreSQL compares them.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_give_exactly_the_models(app, db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_database_refuses_a_closed_case_without_closed_time(api, db):
    case_no = api.to_handling()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE complaints SET state = 'closed' WHERE case_no = :c"), {"c": case_no})
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE complaints SET officer_id = NULL WHERE case_no = :c"), {"c": case_no})
    db.session.rollback()


def test_seed_demo_loads_every_account_and_cases_in_many_states(runner, db):
    result = runner.invoke(args=["ecoflow", "seed-demo"])
    assert result.exit_code == 0, result.output

    usernames = set(db.session.scalars(select(Officer.username)))
    for bureau in ("bj", "tj", "he"):
        for role in ("intake", "dispatcher", "officer", "supervisor", "leader", "admin"):
            assert f"{bureau}-{role}" in usernames
    states = set(db.session.scalars(select(Complaint.state)))
    assert {"received", "accepted", "graded", "assigned", "handling", "replied", "verifying", "closed",
            "rejected", "merged"} <= states  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(Complaint)) >= 20

    again = runner.invoke(args=["ecoflow", "seed-demo"])
    assert "already has data" in again.output
    assert db.session.scalar(select(func.count()).select_from(Officer)) == len(usernames)


def test_demo_accounts_log_in_with_the_documented_password(runner, client):
    runner.invoke(args=["ecoflow", "seed-demo"])
    response = client.post("/api/v1/auth/token", json={"username": "he-dispatcher", "password": "ecoflow-demo"})
    assert response.status_code == 200


def test_audit_verify_passes_on_untouched_trails(api, runner):
    api.to_handling()
    result = runner.invoke(args=["ecoflow", "audit", "verify"])
    assert result.exit_code == 0
    assert "intact" in result.output


def test_audit_verify_names_a_case_whose_event_was_changed(api, runner, db):
    tampered = api.to_handling()
    untouched = api.to_handling()
    db.session.execute(
        text("UPDATE events SET actor = 'someone-else' WHERE seq = 3 AND complaint_id = "
             "(SELECT id FROM complaints WHERE case_no = :c)"), {"c": tampered},
    )  # fmt: skip
    db.session.commit()

    result = runner.invoke(args=["ecoflow", "audit", "verify"])

    assert result.exit_code == 1
    assert tampered in result.output and "record 3 was changed" in result.output
    assert untouched not in result.output


def test_audit_verify_names_a_case_whose_last_event_was_removed(api, runner, db):
    case_no = api.to_handling()
    last = db.session.scalar(
        select(func.max(Event.id))
        .join(Complaint, Complaint.id == Event.complaint_id)
        .where(Complaint.case_no == case_no)
    )
    db.session.execute(text("DELETE FROM events WHERE id = :id"), {"id": last})
    db.session.commit()

    result = runner.invoke(args=["ecoflow", "audit", "verify"])

    assert result.exit_code == 1
    assert case_no in result.output


def test_events_are_hash_chained(api):
    case_no = api.to_handling()
    events = api.events(case_no)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert len({e["hash"] for e in events}) == len(events)


def test_case_numbers_count_per_bureau_and_day(api):
    with time_machine.travel(shanghai(2026, 11, 22, 9), tick=False):
        first = api.register()["case_no"]
        second = api.register()["case_no"]
        tianjin = api.register(as_="tj-intake", location={"address": "天津市武清区"})["case_no"]
    with time_machine.travel(shanghai(2026, 11, 23, 0, 30), tick=False):  # 23 Nov in Beijing, 22 Nov in UTC
        next_day = api.register()["case_no"]
    assert (first, second, tianjin, next_day) == (
        "BJ-20261122-0001", "BJ-20261122-0002", "TJ-20261122-0001", "BJ-20261123-0001",
    )  # fmt: skip


def test_the_same_hotline_order_twice_is_one_complaint(api):
    first = api.post("/api/v1/complaints", "bj-intake", json=_order("12345-2026-000123"))
    again = api.post("/api/v1/complaints", "bj-intake", json=_order("12345-2026-000123"))
    other = api.post("/api/v1/complaints", "bj-intake", json=_order("12345-2026-000124"))

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json["case_no"] == again.json["case_no"] != other.json["case_no"]
    assert again.headers["Location"].endswith(first.json["case_no"])


def _order(number):
    return {
        "channel": "hotline_12345", "external_id": number, "type": "complaint",
        "description": "夜间施工噪音扰民", "location": {"address": "北京市朝阳区望京"},
    }  # fmt: skip


def test_third_complaint_about_the_same_place_within_30_days_is_suggested_key(api):
    place = {"address": "北京市通州区宋庄镇小堡村化工厂"}
    with time_machine.travel(shanghai(2026, 10, 1, 9), tick=False):
        api.register(location=place)  # outside the window by the time of the third
    with time_machine.travel(shanghai(2026, 11, 5, 9), tick=False):
        second = api.register(location=place)
    with time_machine.travel(shanghai(2026, 11, 20, 9), tick=False):
        third = api.register(location=place)
        fourth = api.register(location=place)

    assert second["suggestion"]["grade"] == "general"
    assert third["suggestion"]["grade"] == "general"  # only two within 30 days
    assert fourth["suggestion"]["grade"] == "key"
    assert any("第3次" in reason for reason in fourth["suggestion"]["reasons"])


def test_suggestions_by_channel_type_and_keywords(api):
    media = api.register(channel="media", description="媒体报道工地扬尘")["suggestion"]
    consult = api.register(type="consult", description="请问装修噪声允许的时间段？")["suggestion"]
    urgent = api.register(description="化工厂发生泄漏，空气中大量刺鼻气味")["suggestion"]
    assert (media["grade"], consult["grade"], urgent["grade"]) == ("key", "consult", "urgent")
    assert set(urgent["categories"]) == {"air"}
    assert "noise" in consult["categories"]
    assert all(reason for reason in media["reasons"])


def test_grading_override_is_recorded(api):
    case_no = api.register()["case_no"]  # suggested general / air
    api.ok(case_no, "accept", "bj-intake")
    api.ok(case_no, "grade", "bj-dispatcher", grade="key", categories=["air", "water"], reason="媒体已关注")
    event = api.events(case_no)[-1]
    assert event["data"]["overrides_suggestion"] == {"grade": "general", "categories": ["air"]}
    assert event["data"]["reason"] == "媒体已关注"


def test_case_number_format(api):
    assert re.fullmatch(r"BJ-\d{8}-\d{4}", api.register()["case_no"])


def test_audit_verify_names_a_case_whose_own_record_was_edited(api, runner, db):
    edited = api.to_handling()
    phone = api.to_handling()
    untouched = api.to_handling()
    db.session.execute(text("UPDATE complaints SET description = '另一个故事' WHERE case_no = :c"), {"c": edited})
    db.session.execute(text("UPDATE complaints SET complainant_phone = '13900000000' WHERE case_no = :c"), {"c": phone})
    db.session.commit()

    result = runner.invoke(args=["ecoflow", "audit", "verify"])

    assert result.exit_code == 1
    assert edited in result.output and phone in result.output and untouched not in result.output
    assert "no longer matches its last record" in result.output


def test_audit_verify_names_a_case_deleted_whole(api, runner, db):
    with time_machine.travel(shanghai(2026, 11, 22, 9), tick=False):
        first, deleted, last = (api.to_handling() for _ in range(3))
    case_id = text("(SELECT id FROM complaints WHERE case_no = :c)")
    for table in ("personal_data_views", "events", "clocks", "complaint_categories", "assessment_facts"):
        db.session.execute(text(f"DELETE FROM {table} WHERE complaint_id = {case_id.text}"), {"c": deleted})
    db.session.execute(text("DELETE FROM complaints WHERE case_no = :c"), {"c": deleted})
    db.session.commit()

    result = runner.invoke(args=["ecoflow", "audit", "verify"])

    assert result.exit_code == 1
    assert deleted in result.output and "missing" in result.output
    assert first not in result.output and last not in result.output


def test_audit_verify_names_a_case_whose_events_were_reordered(api, runner, db):
    case_no = api.to_handling()
    swap = ("UPDATE events SET seq = :to WHERE seq = :from AND complaint_id = "
            "(SELECT id FROM complaints WHERE case_no = :c)")  # fmt: skip
    for step in ({"from": 2, "to": 99}, {"from": 3, "to": 2}, {"from": 99, "to": 3}):
        db.session.execute(text(swap), {**step, "c": case_no})
    db.session.commit()

    result = runner.invoke(args=["ecoflow", "audit", "verify"])

    assert result.exit_code == 1
    assert case_no in result.output


def test_events_written_before_the_case_was_under_the_chain_verify_by_their_rule(api, runner, db):
    case_no = api.to_handling()
    complaint = db.session.scalar(select(Complaint).where(Complaint.case_no == case_no))
    events = db.session.scalars(select(Event).where(Event.complaint_id == complaint.id).order_by(Event.seq)).all()
    prev, rewritten = "0" * 64, []
    for event in events:  # as the old rule wrote them: the event alone
        db.session.expunge(event)
        event.rule, event.case_digest, event.prev_hash = 1, None, prev
        event.hash = prev = chain_hash(prev, event_record(case_no, event))
        rewritten.append({"id": event.id, "prev": event.prev_hash, "hash": event.hash})
    db.session.execute(
        text("UPDATE events SET rule = 1, case_digest = NULL, prev_hash = :prev, hash = :hash WHERE id = :id"),
        rewritten,
    )
    db.session.execute(text("UPDATE complaints SET event_hash = :h WHERE case_no = :c"), {"h": prev, "c": case_no})
    db.session.commit()

    assert runner.invoke(args=["ecoflow", "audit", "verify"]).exit_code == 0
    api.ok(case_no, "contact", "bj-officer", method="phone", note="已联系。")  # a new event, by the new rule
    assert runner.invoke(args=["ecoflow", "audit", "verify"]).exit_code == 0
    db.session.execute(text("UPDATE complaints SET grade = 'key' WHERE case_no = :c"), {"c": case_no})
    db.session.commit()
    assert case_no in runner.invoke(args=["ecoflow", "audit", "verify"]).output


def test_audit_verify_passes_on_the_demo_data(runner, db):
    assert runner.invoke(args=["ecoflow", "seed-demo"]).exit_code == 0
    result = runner.invoke(args=["ecoflow", "audit", "verify"])
    assert (result.exit_code, "intact" in result.output) == (0, True), result.output[-2000:]
