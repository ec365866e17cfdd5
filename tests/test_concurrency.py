"""Two officers acting on the same case at the same moment: one succeeds, the other gets 409, nothing is
lost. Real threads, each with its own client (so its own app context and database session), released
together by a barrier, round after round. On PostgreSQL the requests really overlap; SQLite takes the
write lock when a transaction begins, so there they queue, and the outcome must be the same.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest
from werkzeug.serving import make_server

from .conftest import COMPLAINT

API = "/api/v1"
ROUNDS = 20
TIMEOUT = 60  # seconds a round may take before the test fails instead of hanging


# --- helpers ----------------------------------------------------------------------------------


class Answer:
    """What a thread got back: status and JSON body, the same for either transport."""

    def __init__(self, status: int, body):
        self.status, self.json = status, body

    def __repr__(self):
        return f"Answer({self.status}, {self.json!r})"


class ClientTransport:
    """Each thread its own Flask test client: outside the test's app context, so each request pushes
    its own, with its own database session, as in a real server."""

    name = "test_client"

    def __init__(self, app):
        self.app = app

    def post(self, path, headers, body) -> Answer:
        response = self.app.test_client().post(path, headers=headers, json=body)
        return Answer(response.status_code, response.get_json(silent=True))


class HttpTransport:
    """Real HTTP against werkzeug's threaded server."""

    name = "http"

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(TIMEOUT)

    def post(self, path, headers, body) -> Answer:
        request = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), method="POST",
            headers={**headers, "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return Answer(response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, json.loads(error.read() or b"null"))


@pytest.fixture(params=["test_client", "http"])
def transport(request, app):
    if request.param == "test_client":
        yield ClientTransport(app)
    else:
        server = HttpTransport(app)
        yield server
        server.close()


def settle(db):
    """End the test thread's own transaction: SQLite's BEGIN IMMEDIATE would hold the write lock
    and stall every thread, and a fresh transaction sees what the threads committed."""
    db.session.rollback()


def at_once(db, calls) -> list[Answer]:
    """Run the zero-argument `calls` in threads released together; their answers in order."""
    settle(db)
    barrier = threading.Barrier(len(calls), timeout=TIMEOUT)
    answers, errors = [None] * len(calls), []

    def run(index, call):
        try:
            barrier.wait()
            answers[index] = call()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a request hung"
    if errors:
        raise errors[0]
    settle(db)
    return answers


def action(transport, headers, case_no, name, version, **fields):
    return lambda: transport.post(f"{API}/complaints/{case_no}/actions/{name}", headers, {"version": version, **fields})


def register(transport, headers, **fields):
    body = {**COMPLAINT, **fields}
    return lambda: transport.post(f"{API}/complaints", headers, body)


def one_won(answers: list[Answer]) -> tuple[int, Answer, Answer]:
    """Exactly one 200 and one 409 in the JSON error shape; (winner's index, winner, loser)."""
    statuses = sorted(a.status for a in answers)
    assert statuses == [200, 409], answers
    winner = next(i for i, a in enumerate(answers) if a.status == 200)
    loser = answers[1 - winner]
    assert set(loser.json) == {"error", "message", "details"}, loser
    assert loser.json["error"] in ("stale_version", "action_not_allowed"), loser
    return winner, answers[winner], loser


def audit_trails_intact():
    from ecoflow.casework.trail import verify_audit_trails

    return verify_audit_trails() == {}


# --- the same case, two officers --------------------------------------------------------------


def test_two_dispatchers_assign_the_same_case_at_once(api, db, make_officer, transport):
    make_officer("bj-dispatcher2", ["dispatcher"], bureau="BJ", unit="chaoyang")
    contenders = [
        (api.headers("bj-dispatcher"), {"unit": "tongzhou", "officer": "bj-officer"}),
        (api.headers("bj-dispatcher2"), {"unit": "chaoyang", "officer": "bj-officer2"}),
    ]
    winners = Counter()

    for _ in range(ROUNDS):
        case_no = api.register()["case_no"]
        version = api.ok(case_no, "accept", "bj-intake")["version"]
        grading = {"grade": "general", "categories": ["air"]}

        answers = at_once(db, [action(transport, h, case_no, "assign", version, **f, **grading) for h, f in contenders])

        index, won, lost = one_won(answers)
        winners[index] += 1
        complaint = api.complaint(case_no)
        assert (complaint["state"], complaint["unit"], complaint["officer"]) == (
            "assigned", contenders[index][1]["unit"], contenders[index][1]["officer"],
        )  # fmt: skip
        assert complaint["version"] == won.json["version"] > version
        assert lost.json["details"].get("version") in (None, complaint["version"]), lost
        events = api.events(case_no)
        assert [e["action"] for e in events] == ["register", "accept", "assign"]
        assert events[-1]["actor"] == ("bj-dispatcher", "bj-dispatcher2")[index]
        assert events[-1]["data"]["officer"] == contenders[index][1]["officer"]
        # The winner's three clocks, running; the loser left none behind.
        assert sorted((c["kind"], c["stopped_at"]) for c in complaint["clocks"]) == [
            ("first_contact", None), ("reply", None), ("sign", None),
        ]  # fmt: skip
        settle(db)

    assert sum(winners.values()) == ROUNDS
    assert audit_trails_intact()


def test_accept_and_reject_at_once(api, db, make_officer, transport):
    make_officer("bj-intake2", ["intake"], bureau="BJ", unit="tongzhou")
    accept_headers, reject_headers = api.headers("bj-intake"), api.headers("bj-intake2")

    for _ in range(ROUNDS):
        case_no = api.register()["case_no"]
        version = api.complaint(case_no)["version"]

        answers = at_once(db, [
            action(transport, accept_headers, case_no, "accept", version),
            action(transport, reject_headers, case_no, "reject", version, reason="不属于本局职责。"),
        ])  # fmt: skip

        index, won, _ = one_won(answers)
        expected = ("accepted", "rejected")[index]
        assert won.json["state"] == expected
        complaint = api.complaint(case_no)
        assert (complaint["state"], complaint["version"]) == (expected, won.json["version"])
        assert [e["action"] for e in api.events(case_no)] == ["register", ("accept", "reject")[index]]
        settle(db)

    assert audit_trails_intact()


def test_progress_note_and_pause_at_once_and_the_loser_retries(api, db, transport):
    """Actions that change no state still bump the version: the second writer is told (409), and
    what it sent goes in once it retries on the fresh version. Nothing is lost, nothing doubled."""
    case_no = api.to_handling()
    writers = {
        "bj-officer": ("record_progress", "note"),
        "bj-supervisor": ("pause", "reason"),
    }
    names = list(writers)
    headers = {name: api.headers(name) for name in names}

    for round_no in range(ROUNDS):
        version = api.complaint(case_no)["version"]
        texts = {name: f"{name} 第{round_no}轮" for name in names}
        calls = [
            action(transport, headers[name], case_no, writers[name][0], version, **{writers[name][1]: texts[name]})
            for name in names
        ]

        answers = at_once(db, calls)

        index, _, loser = one_won(answers)
        assert loser.json["error"] == "stale_version", loser
        late = names[1 - index]
        api.ok(case_no, writers[late][0], late, **{writers[late][1]: texts[late]})
        api.ok(case_no, "resume", "bj-supervisor", note=f"恢复 第{round_no}轮")
        settle(db)

    events = api.events(case_no)
    sent = Counter(e["data"].get("note") or e["data"].get("reason") for e in events)
    for round_no in range(ROUNDS):
        for name in names:
            assert sent[f"{name} 第{round_no}轮"] == 1, (name, round_no)
    assert Counter(e["action"] for e in events)["pause"] == ROUNDS
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert api.complaint(case_no)["state"] == "handling"
    assert audit_trails_intact()


# --- intake -----------------------------------------------------------------------------------


def test_the_same_12345_order_registered_twice_at_once_is_one_complaint(api, db, make_officer, transport):
    make_officer("bj-intake2", ["intake"], bureau="BJ", unit="tongzhou")
    clerks = [api.headers("bj-intake"), api.headers("bj-intake2")]

    for round_no in range(ROUNDS):
        order = f"12345-2026-{round_no:06d}"

        answers = at_once(db, [register(transport, h, external_id=order) for h in clerks])

        assert sorted(a.status for a in answers) == [200, 201], answers
        case_nos = {a.json["case_no"] for a in answers}
        assert len(case_nos) == 1, answers
        case_no = case_nos.pop()
        listed = api.get(f"{API}/complaints", "bj-supervisor", query_string={"channel": "hotline_12345"}).json
        assert [c["external_id"] for c in listed["items"]].count(order) == 1
        assert listed["total"] == round_no + 1
        assert [e["action"] for e in api.events(case_no)] == ["register"]
        settle(db)

    assert audit_trails_intact()


@pytest.mark.parametrize("threads", [20])
def test_concurrent_registrations_get_distinct_case_numbers(api, db, transport, threads):
    headers = api.headers("bj-intake")

    answers = at_once(db, [
        register(transport, headers, channel="online", description=f"第{i}号投诉：工地夜间施工噪声扰民。")
        for i in range(threads)
    ])  # fmt: skip

    assert [a.status for a in answers] == [201] * threads, [a for a in answers if a.status != 201]
    case_nos = [a.json["case_no"] for a in answers]
    assert len(set(case_nos)) == threads, sorted(case_nos)
    # Per bureau and day the counter hands out 1, 2, 3 ... with no number given twice or skipped.
    by_day = Counter(c.rsplit("-", 1)[0] for c in case_nos)
    for day, count in by_day.items():
        assert sorted(int(c.rsplit("-", 1)[1]) for c in case_nos if c.startswith(day + "-")) == list(
            range(1, count + 1)
        )
    listed = api.get(f"{API}/complaints", "bj-supervisor", query_string={"per_page": 200}).json
    assert listed["total"] == threads
    assert sorted(c["case_no"] for c in listed["items"]) == sorted(case_nos)
    for case_no in case_nos:
        assert [e["action"] for e in api.events(case_no)] == ["register"]
    settle(db)
    assert audit_trails_intact()


def test_registrations_of_the_same_and_other_orders_all_at_once(api, db, make_officer, transport):
    """Ten threads: four send 12345 order A, three order B, three have no order number. That is one
    complaint for A, one for B and three more, and every answer names the right one."""
    make_officer("bj-intake2", ["intake"], bureau="BJ", unit="tongzhou")
    clerks = [api.headers("bj-intake"), api.headers("bj-intake2")]
    plan = ["A"] * 4 + ["B"] * 3 + [None] * 3
    calls = [
        register(transport, clerks[i % 2], **({"external_id": f"12345-{order}"} if order else {"channel": "online"}))
        for i, order in enumerate(plan)
    ]

    answers = at_once(db, calls)

    assert all(a.status in (200, 201) for a in answers), answers
    for order in ("A", "B"):
        mine = [a for a, o in zip(answers, plan, strict=True) if o == order]
        assert sorted(a.status for a in mine) == [200] * (len(mine) - 1) + [201], mine
        assert len({a.json["case_no"] for a in mine}) == 1
    unnumbered = [a for a, o in zip(answers, plan, strict=True) if o is None]
    assert [a.status for a in unnumbered] == [201] * 3
    listed = api.get(f"{API}/complaints", "bj-supervisor", query_string={"per_page": 200}).json
    assert listed["total"] == 5
    assert {a.json["case_no"] for a in answers} == {c["case_no"] for c in listed["items"]}
    settle(db)
    assert audit_trails_intact()
