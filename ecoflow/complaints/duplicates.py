"""重复诉求: earlier complaints about the same source, by the rules in workflows/grading.yaml
(`duplicates`). Found at intake, they are offered for merging and counted by the repeat rule."""

from __future__ import annotations

from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import or_, select

from ecoflow.extensions import db

from .models import Complaint

# Looked at per intake at most: the newest complaints of the same address or district in the window.
CANDIDATE_LIMIT = 300


def _categories_of(complaint: Complaint) -> set[str]:
    return set(complaint.categories) or set(complaint.suggestion.get("categories", ()))


def earlier_complaints(
    norm, *, bureau_code: str, address: str, district_code: str | None, description: str,
    categories, received_at: datetime, exclude_id: int | None = None,
) -> list[tuple[Complaint, str]]:  # fmt: skip
    """The bureau's complaints received in the window before `received_at` about the same source,
    most alike first, each with the reason it matched (in Chinese, for the intake officer)."""
    rules = norm.grading["duplicates"]
    place = Complaint.address == address
    if district_code:
        place = or_(place, Complaint.district_code == district_code)
    query = (
        select(Complaint)
        .where(
            Complaint.bureau_code == bureau_code,
            place,
            Complaint.received_at > received_at - timedelta(days=rules["window_days"]),
            Complaint.received_at <= received_at,
        )
        .order_by(Complaint.received_at.desc())
        .limit(CANDIDATE_LIMIT)
    )
    if exclude_id is not None:
        query = query.where(Complaint.id != exclude_id)
    labels = norm.catalog["categories"]
    found = []
    for earlier in db.session.scalars(query):
        similarity = fuzz.ratio(description, earlier.description) / 100
        if earlier.address == address:
            found.append((2.0 + similarity, earlier, f"同一地址，描述相似度 {similarity:.0%}"))
            continue
        shared = set(categories) & _categories_of(earlier)
        if shared and similarity >= rules["min_text_similarity"]:
            kinds = "、".join(labels[c] for c in sorted(shared))
            found.append((similarity, earlier, f"同一区县，类别重叠（{kinds}），描述相似度 {similarity:.0%}"))
    found.sort(key=lambda item: (-item[0], -item[1].id))
    return [(complaint, reason) for _, complaint, reason in found]


def count_repeats(norm, matches, received_at: datetime) -> int:
    """How many of the matches fall inside the repeat rule's window."""
    since = received_at - timedelta(days=norm.grading["repeat"]["window_days"])
    return sum(1 for complaint, _ in matches if complaint.received_at > since)
