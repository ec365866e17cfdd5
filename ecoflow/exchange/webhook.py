"""Calls to and from a hotline centre: JSON over HTTPS, signed with the account's shared secret
(and the plain JSON POST the SMS gateway takes).

The signature is `X-EcoFlow-Signature: sha256=<hex HMAC-SHA256 of timestamp + "." + body>` with the
Unix seconds in `X-EcoFlow-Timestamp` (docs/centres.md): the timestamp is signed too, so that an old
call cannot be sent again under a new time."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import urllib.error
import urllib.parse
import urllib.request

TIMESTAMP = "X-EcoFlow-Timestamp"
SIGNATURE = "X-EcoFlow-Signature"


class WebhookError(Exception):
    """The centre could not be reached or did not take the call (no 2xx)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not an answer: urllib would follow it with a GET and drop the body."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        TIMESTAMP: str(timestamp),
        SIGNATURE: signature(secret, timestamp, body),
    }


def is_signed(secret: str, timestamp: str | None, sent: str | None, body: bytes, now: float, skew: int) -> bool:
    """Whether `sent` is the signature of `body` at `timestamp`, and `timestamp` within `skew`
    seconds of `now` (the comparison takes the same time whatever differs)."""
    if not timestamp or not sent or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(int(timestamp) - now) > skew:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body).encode(), sent.encode(errors="replace"))


def is_allowed_url(url: str) -> bool:
    """HTTPS anywhere; plain HTTP only to this machine (loopback), for a centre's adapter beside us
    and for tests."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host or parts.scheme not in ("https", "http") or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post(url: str, body: bytes, headers: dict[str, str], timeout: float):
    """POST the body; returns when the receiver answered 2xx, raises WebhookError otherwise."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"HTTP {exc.code}: {exc.read(500).decode(errors='replace')}") from None
    except (OSError, ValueError) as exc:  # refused, reset, timed out, a malformed URL
        raise WebhookError(f"{type(exc).__name__}: {exc}") from None
