"""How envelopes reach a peer: in-process for a bureau this instance hosts, HTTP otherwise."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from .inbox import receive_batch
from .trust import Peer

PATH = "/exchange/v1/messages"


class TransportError(Exception):
    """The peer could not be reached or did not answer as the exchange does."""


def send_local(envelopes: list[dict], now) -> list[dict]:
    """Hands the envelopes to this instance's own inbox, through the same JSON as on the wire."""
    return receive_batch(json.loads(json.dumps(envelopes)), now, remote_addr="local")


def send_http(peer: Peer, envelopes: list[dict], timeout: float) -> list[dict]:
    """POSTs a batch to the peer's receiving endpoint; its answer per envelope."""
    body = json.dumps({"messages": envelopes}, ensure_ascii=False).encode()
    request = urllib.request.Request(peer.url + PATH, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise TransportError(f"HTTP {exc.code}: {exc.read(500).decode(errors='replace')}") from None
    except (OSError, ValueError) as exc:  # refused, reset, timed out, not JSON
        raise TransportError(f"{type(exc).__name__}: {exc}") from None
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or len(results) != len(envelopes):
        raise TransportError("the peer's answer names no result per message")
    return results


def send(peer: Peer, envelopes: list[dict], now, timeout: float) -> list[dict]:
    return send_local(envelopes, now) if peer.url is None else send_http(peer, envelopes, timeout)
