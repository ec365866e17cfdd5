"""重复诉求: earlier complaints about the same source, by the rules in workflows/grading.yaml
(`duplicates`). Found at intake, they are offered for merging and counted by the repeat rule."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import NamedTuple

from rapidfuzz import fuzz
from sqlalchemy import bindparam, case, or_, select

from ecoflow.extensions import db

from .models import Complaint, ComplaintCategory

# Looked at per intake at most: the newest complaints of the same address or district in the window.
CANDIDATE_LIMIT = 300


class Match(NamedTuple):
    """An earlier complaint about the same source: at the same address (no `shared` categories), or in
    the same district with categories in common and a description alike."""

    complaint_id: int
    case_no: str
    received_at: datetime
    similarity: float
    shared: str  # the categories in common, as the intake officer reads them; "" for the same address

    @property
    def score(self) -> float:
        """Most alike first: the same address before the same district, then by the description."""
        return self.similarity + (0.0 if self.shared else 2.0)

    @property
    def reason(self) -> str:
        """Why it matched, in Chinese for the intake officer (made only for the matches shown)."""
        if not self.shared:
            return f"同一地址，描述相似度 {self.similarity:.0%}"
        return f"同一区县，类别重叠（{self.shared}），描述相似度 {self.similarity:.0%}"


def earlier_complaints(
    norm, *, bureau_code: str, address: str, district_code: str | None, description: str,
    categories, received_at: datetime, exclude_id: int | None = None,
) -> list[Match]:  # fmt: skip
    """The bureau's complaints received in the window before `received_at` about the same source,
    most alike first, each with the reason it matched."""
    rules = norm.grading["duplicates"]
    params = {"bureau_code": bureau_code, "address": address, "district_code": district_code,
              "since": received_at - timedelta(days=rules["window_days"]), "until": received_at,
              "exclude_id": exclude_id}  # fmt: skip
    query = _candidates(bool(district_code), exclude_id is not None)
    found, known = [], {}
    for row in db.session.connection().execute(query, params).all():
        if row.id in known:  # the same candidate again, with another of its categories
            known[row.id][1].add(row.category)
        else:
            known[row.id] = (row, {row.category} if row.category else set(row.suggested or ()))
    labels, wanted = norm.catalog["categories"], set(categories)
    for row, categories_of in known.values():
        similarity = fuzz.ratio(description, row.description) / 100
        if row.address == address:
            found.append(Match(row.id, row.case_no, row.received_at, similarity, ""))
        elif similarity >= rules["min_text_similarity"] and (shared := wanted & categories_of):
            kinds = "、".join(labels[c] for c in sorted(shared))
            found.append(Match(row.id, row.case_no, row.received_at, similarity, kinds))
    return sorted(found, key=lambda match: (-match.score, -match.complaint_id))


@functools.cache
def _candidates(in_district: bool, excluding: bool):
    """The newest complaints of the bureau at the address (or in its district) in the window, only
    the columns the comparison needs, a row per category set by grading; a case not graded yet comes
    once, with the categories suggested at intake (read only for those). Built once per shape."""
    place = Complaint.address == bindparam("address")
    if in_district:
        place = or_(place, Complaint.district_code == bindparam("district_code"))
    candidates = (
        select(Complaint.id, Complaint.case_no, Complaint.received_at, Complaint.address, Complaint.description,
               Complaint.suggestion)
        .where(Complaint.bureau_code == bindparam("bureau_code"), place,
               Complaint.received_at > bindparam("since"), Complaint.received_at <= bindparam("until"))
        .order_by(Complaint.received_at.desc())
        .limit(CANDIDATE_LIMIT)
    )  # fmt: skip
    if excluding:
        candidates = candidates.where(Complaint.id != bindparam("exclude_id"))
    candidates = candidates.subquery()
    category, suggested = ComplaintCategory.category, candidates.c.suggestion["categories"]
    return (
        select(
            candidates.c.id, candidates.c.case_no, candidates.c.received_at, candidates.c.address,
            candidates.c.description, category, case((category.is_(None), suggested)).label("suggested"),
        )
        .outerjoin(ComplaintCategory, ComplaintCategory.complaint_id == candidates.c.id)
        .order_by(candidates.c.received_at.desc(), candidates.c.id)
    )  # fmt: skip


def with_complaints(matches: list[Match]) -> list[tuple[Complaint, str]]:
    """The matches as (complaint, reason), loading the complaints."""
    if not matches:
        return []
    query = select(Complaint).where(Complaint.id.in_([m.complaint_id for m in matches]))
    complaints = {c.id: c for c in db.session.scalars(query)}
    return [(complaints[m.complaint_id], m.reason) for m in matches]


def count_repeats(norm, matches: list[Match], received_at: datetime) -> int:
    """How many of the matches fall inside the repeat rule's window."""
    since = received_at - timedelta(days=norm.grading["repeat"]["window_days"])
    return sum(1 for match in matches if match.received_at > since)
