"""Questions asked of the peers and answered at once (history.query → history.answer): no outbox,
since an answer that does not come in time is simply missing from what the officer sees."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from flask import current_app

from . import envelope as envelopes
from .transport import TransportError, send_http
from .trust import get_trust

log = logging.getLogger(__name__)


def ask_peers(kind: str, answer_kind: str, sender: str, payload: dict, now: datetime) -> dict[str, dict]:
    """Ask every peer this instance reaches over HTTP; {peer: the payload of its signed answer}.
    An answer that is late, unsigned, misaddressed or malformed is left out (and logged)."""
    trust = get_trust()
    remote = [peer for peer in trust.peers.values() if peer.url is not None]
    timeout = current_app.config["EXCHANGE_QUERY_TIMEOUT_SECONDS"]

    def ask(peer):
        question = trust.sign(envelopes.new_envelope(kind, sender, peer.code, None, payload, now))
        try:
            (result,) = send_http(peer, [question], timeout)
        except TransportError as exc:
            log.warning("%s to %s unanswered: %s", kind, peer.code, exc)
            return None
        if not isinstance(result, dict):
            log.warning("%s from %s refused: the result is not an object", answer_kind, peer.code)
            return None
        answer = result.get("answer")
        valid = (
            isinstance(answer, dict)
            and not envelopes.problems("envelope", answer)
            and (answer["type"], answer["from"], answer["to"]) == (answer_kind, peer.code, sender)
            and trust.verify(answer)
            and not envelopes.problems(answer_kind, answer["payload"])
            and answer["payload"].get("query_id") == question["id"]
        )
        if not valid:
            log.warning("%s from %s refused: %s", answer_kind, peer.code, result.get("error") or "not a valid answer")
            return None
        return answer["payload"]

    if not remote:
        return {}
    with ThreadPoolExecutor(len(remote)) as pool:
        answers = dict(zip((p.code for p in remote), pool.map(ask, remote), strict=True))
    return {code: answer for code, answer in answers.items() if answer is not None}


def signed_answer(question: dict, answer_kind: str, payload: dict, now: datetime) -> dict:
    """The signed envelope that answers `question`, from its recipient back to its sender."""
    answer = envelopes.new_envelope(answer_kind, question["to"], question["from"], None,
                                    {"query_id": question["id"], **payload}, now)  # fmt: skip
    return get_trust().sign(answer)
