"""Hash chains for append-only records (留痕): each record's hash covers the one before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

GENESIS = "0" * 64


def canonical(record: dict) -> bytes:
    """The one byte form of a record that its hash is taken over."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, record: dict) -> str:
    """The hash of `record` linked to the hash of the record before it."""
    return hashlib.sha256(prev_hash.encode() + canonical(record)).hexdigest()


def chain_problems(links: Iterable[tuple[int, dict, str, str]], head_seq: int, head_hash: str) -> list[str]:
    """What is wrong with a chain given as (seq, record, prev_hash, hash) in order, ending at the head."""
    problems = []
    expected_prev, expected_seq = GENESIS, 1
    for seq, record, prev_hash, stored_hash in links:
        if seq != expected_seq:
            problems.append(f"record {expected_seq} is missing")
        if prev_hash != expected_prev:
            problems.append(f"record {seq} does not follow the record before it")
        if chain_hash(prev_hash, record) != stored_hash:
            problems.append(f"record {seq} was changed")
        expected_prev, expected_seq = stored_hash, seq + 1
    if expected_seq - 1 != head_seq or expected_prev != (head_hash or GENESIS):
        problems.append(f"the chain ends at record {expected_seq - 1}, the case says {head_seq}")
    return problems
