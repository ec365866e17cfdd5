"""Files of a lead fetched by their hash from the bureau that sent the lead: a signed GET (a 200 MB
video does not travel inside a message), streamed into this instance's storage and kept only when
its SHA-256 is the one the lead states."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime

from .transport import TransportError
from .trust import get_trust

PATH = "/exchange/v1/files/"


def fetch_file(requester: str, origin: str, sha256: str, storage, now: datetime, timeout: float):
    """The file `sha256` from the peer `origin`, asked for by this instance's bureau `requester`,
    saved in `storage` (streamed); TransportError when the peer cannot give it or gives other bytes."""
    trust = get_trust()
    peer = trust.peers.get(origin)
    if peer is None or peer.url is None:
        raise TransportError(f"{origin} is not a peer reached over HTTP")
    path, sent_at = PATH + sha256, now.isoformat()
    headers = {"X-Exchange-From": requester, "X-Exchange-Sent-At": sent_at,
               "X-Exchange-Signature": trust.sign_request(requester, path, sent_at)}  # fmt: skip
    request = urllib.request.Request(peer.url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            stored = storage.save(response)
    except urllib.error.HTTPError as exc:
        raise TransportError(f"HTTP {exc.code}: {exc.read(500).decode(errors='replace')}") from None
    except OSError as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}") from None
    if stored.sha256 != sha256:
        if stored.is_new:
            storage.delete(stored.sha256)
        raise TransportError(f"the peer sent other bytes than {sha256}")
    return stored
