"""重复诉求: earlier complaints about the same source, by the rules in workflows/grading.yaml
(`duplicates`). Found at intake, they are offered for merging and counted by the repeat rule."""

from __future__ import annotations

from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import or_, select

from ecoflow.extensions import db

from .models import Complaint, ComplaintCategory

# Looked at per intake at most: the newest complaints of the same address or district in the window.
CANDIDATE_LIMIT = 300


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
    # Only the columns the comparison needs: whole complaints are loaded for the matches alone.
    query = (
        select(Complaint.id, Complaint.address, Complaint.description, Complaint.suggestion)
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
    candidates = db.session.execute(query).all()
    graded = _categories([c.id for c in candidates if c.address != address])
    labels = norm.catalog["categories"]
    found = []
    for candidate in candidates:
        similarity = fuzz.ratio(description, candidate.description) / 100
        if candidate.address == address:
            found.append((2.0 + similarity, candidate.id, f"同一地址，描述相似度 {similarity:.0%}"))
            continue
        shared = set(categories) & (graded.get(candidate.id) or set(candidate.suggestion.get("categories", ())))
        if shared and similarity >= rules["min_text_similarity"]:
            kinds = "、".join(labels[c] for c in sorted(shared))
            found.append((similarity, candidate.id, f"同一区县，类别重叠（{kinds}），描述相似度 {similarity:.0%}"))
    found.sort(key=lambda item: (-item[0], -item[1]))
    if not found:
        return []
    complaints = {c.id: c for c in db.session.scalars(select(Complaint).where(Complaint.id.in_([f[1] for f in found])))}
    return [(complaints[complaint_id], reason) for _, complaint_id, reason in found]


def _categories(ids: list[int]) -> dict[int, set[str]]:
    """The categories set by grading, of the complaints that have them."""
    if not ids:
        return {}
    columns = select(ComplaintCategory.complaint_id, ComplaintCategory.category)
    rows = db.session.execute(columns.where(ComplaintCategory.complaint_id.in_(ids)))
    categories = {}
    for complaint_id, category in rows:
        categories.setdefault(complaint_id, set()).add(category)
    return categories


def count_repeats(norm, matches, received_at: datetime) -> int:
    """How many of the matches fall inside the repeat rule's window."""
    since = received_at - timedelta(days=norm.grading["repeat"]["window_days"])
    return sum(1 for complaint, _ in matches if complaint.received_at > since)
