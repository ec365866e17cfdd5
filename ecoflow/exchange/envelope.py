"""The envelope (docs/exchange.md): message id, type, from and to bureau, created and sent time,
the case it concerns, payload and signature; one JSON Schema per message type in schemas/."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import datetime
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from ecoflow.audit import canonical
from ecoflow.rest import is_printable

VERSION = 1
SCHEMAS = Path(__file__).parent / "schemas"


def _is_aware_time(value) -> bool:
    # jsonschema's own date-time check needs another package; an aware ISO 8601 time is all we send.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@cache
def _validators() -> dict[str, Draft202012Validator]:
    documents = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS.glob("*.json")}
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in documents.values())
    checker = FormatChecker(())
    checker.checks("date-time", raises=ValueError)(_is_aware_time)
    return {
        name: Draft202012Validator(document, registry=registry, format_checker=checker)
        for name, document in documents.items()
        if name != "_defs"
    }


def _unstorable(document) -> list[str]:
    """Text with control characters or lone surrogates, which PostgreSQL refuses and UTF-8 cannot hold,
    and numbers that are not finite (NaN and Infinity, which Python's JSON reads, pass any minimum and
    maximum): no JSON Schema keyword refuses either everywhere. Walked without recursion, as deep as
    the JSON parser went."""
    faults, stack = [], [((), document)]
    while stack:
        path, value = stack.pop()
        where = "/".join(map(str, path)) or "(root)"
        if isinstance(value, str) and not is_printable(value):
            faults.append(f"{where}: contains a control character or a lone surrogate")
        elif isinstance(value, float) and not math.isfinite(value):
            faults.append(f"{where}: {value} is not a finite number")
        elif isinstance(value, dict):
            for key, item in value.items():
                if not is_printable(key):
                    faults.append(f"{where}: a property name contains a control character or a lone surrogate")
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, index), item) for index, item in enumerate(value))
    return sorted(faults)


def problems(kind: str, document) -> list[str]:
    """What is wrong with `document` as a `kind` (a message type, or "envelope", whose payload is
    checked as its type); empty when valid."""
    errors = _validators()[kind].iter_errors(document)
    faults = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
    if kind == "envelope" and isinstance(document, dict):
        document = {k: v for k, v in document.items() if k != "payload"}
    return faults + _unstorable(document)


def new_envelope(kind: str, sender: str, recipient: str, case_no: str | None, payload: dict, now: datetime) -> dict:
    """An unsigned envelope; `sent_at` and `signature` are set at each delivery attempt."""
    return {
        "v": VERSION, "id": str(uuid.uuid4()), "type": kind, "from": sender, "to": recipient,
        "created_at": now.isoformat(), "sent_at": now.isoformat(), "case": case_no, "payload": payload,
    }  # fmt: skip


def body_hash(envelope: dict) -> str:
    """What makes a message the same message: everything but when it was sent and its signature."""
    body = {k: v for k, v in envelope.items() if k not in ("sent_at", "signature")}
    return hashlib.sha256(canonical(body)).hexdigest()
