"""案件查询: every case of the officer's bureaus, open or closed, by any field; sorted, paged, counted;
exported; saved searches. How free text is found fast is docs/search.md.

Personal data is searched only as the viewer may see it: `phone` and `complainant` match only cases
whose complainant the viewer sees unmasked (intake of the case's bureau, the case's responsible
officer), and free text reads the unmasked description and address on those cases and the masked
copy (`Complaint.masked_text`, see privacy.searchable_copy) on every other."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import and_, case, cast, false, func, literal_column, not_, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import selectinload

from ecoflow.casework.access import role_set
from ecoflow.errors import Conflict, NotFound
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer, Unit
from ecoflow.timeutil import SHANGHAI

from . import privacy
from .intake import complainant_key
from .models import Clock, Complaint, ComplaintCategory, SavedSearch

# The keys `sort` takes, and what each sorts by (due_at: the nearest running deadline).
SORT_KEYS = ("received_at", "closed_at", "due_at", "case_no", "grade", "state")
ORDERS = ("asc", "desc")
# The parameters a search is made of (what a saved search keeps), besides paging.
SEARCH_PARAMS = (
    "text", "case_no", "external_id", "phone", "complainant", "state", "grade", "category", "channel", "unit",
    "officer", "district", "bureau", "routing_flag", "received_from", "received_to", "closed_from", "closed_to",
    "overdue", "reopened", "on_ledger", "sort", "order",
)  # fmt: skip
# An officer keeps at most this many saved searches.
MAX_SAVED = 50


def personal_scope(officer: Officer):
    """The condition that the officer sees this case's complainant unmasked (casework.access's
    may_see_personal_data as SQL): intake of its bureau (or of its unit, where held for one), or its
    responsible officer unless it was dispatched anonymously."""
    registers = role_set("registers")
    grants = [g for g in officer.grants if g.role in registers]
    # Never NULL (a case without an officer or unit), so that its negation holds where it does not.
    return func.coalesce(or_(
        Complaint.bureau_code.in_([g.bureau_code for g in grants if g.unit_id is None]),
        and_(
            Complaint.bureau_code.in_([g.bureau_code for g in grants if g.unit_id is not None]),
            Complaint.unit_id.in_([g.unit_id for g in grants if g.unit_id is not None]),
        ),
        and_(Complaint.officer_id == officer.id, Complaint.is_sensitive.is_(False)),
    ), false())  # fmt: skip


def phone_digits(phone: str) -> str:
    """A phone number in any notation as its digits: +86 139-1234-5678, （010）6234 5678 → 13912345678, 01062345678."""
    return re.sub(r"\D", "", phone.translate(privacy.FOLD))


def _phone_keys(phone: str) -> list[str]:
    """The keyed hashes under which a complainant who gave this number may be filed: as written, and
    with or without the country's code (86, 0086)."""
    digits = phone_digits(phone)
    national = re.sub(r"^(?:0086|86)(?=1\d{10}$|0?\d{9,11}$)", "", digits)
    forms = {digits, national, "86" + national, "0086" + national}
    return sorted({key for key in map(complainant_key, forms) if key})


def _like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# What free text is looked for in: the masked copy, and for those who see the complainant the
# description and the place as written. On PostgreSQL both together (SEARCHED) are indexed twice
# (migration c16e2a7f0b93, docs/search.md): the character bigrams, for words of two characters, and
# pg_trgm's trigrams, for longer ones; the index finds the candidates, the viewer's own text decides.
_MASKED = Complaint.masked_text
_UNMASKED = literal_column("description || ' ' || address")
SEARCHED = "coalesce(masked_text, '') || ' ' || description || ' ' || address"
_SEARCHED = literal_column(SEARCHED)


def _candidates(text: str):
    """On PostgreSQL, the indexed condition that narrows the cases to those whose texts (masked or not)
    hold `text`: a word of two characters is one bigram (`&&`: no recheck, the index answers alone); a
    longer one is pg_trgm's `ILIKE` (its recheck is the ILIKE itself). None where no index serves."""
    if db.session.get_bind().dialect.name != "postgresql" or len(text) < 2:
        return None
    if len(text) == 2:
        grams = func.ecoflow_bigrams(func.lower(_SEARCHED), type_=postgresql.ARRAY(postgresql.TEXT))
        return grams.op("&&")(cast([text.lower()], postgresql.ARRAY(postgresql.TEXT)))
    return _SEARCHED.ilike(_like_pattern(text), escape="\\")


def text_matches(officer: Officer, text: str):
    """The condition that the case is the one numbered `text` (its case number, or a centre's order
    number), or else that its text contains `text` as the officer sees it: the description and the
    place unmasked where they see the complainant, the masked copy elsewhere, so that ten of a phone
    number's eleven digits, the complainant's name or home estate find nothing for those who see
    them masked."""
    ident = text.strip().upper()
    numbered = db.session.scalars(
        select(Complaint.id).where(
            Complaint.bureau_code.in_(officer.bureau_codes),
            or_(Complaint.case_no == ident, func.upper(Complaint.external_id) == ident),
        )
    ).all()
    if numbered:
        return Complaint.id.in_(numbered)
    pattern = _like_pattern(text)
    scope = personal_scope(officer)
    seen = or_(
        and_(scope, _UNMASKED.ilike(pattern, escape="\\")),
        and_(not_(scope), _MASKED.ilike(pattern, escape="\\")),
    )
    candidates = _candidates(text)
    return seen if candidates is None else and_(candidates, seen)


def overdue_condition(overdue: bool, now: datetime):
    """The condition that a case has (or has not) a running clock past due."""
    late = select(Clock.complaint_id).where(Clock.stopped_at.is_(None), Clock.paused_at.is_(None), Clock.due_at < now)
    return Complaint.id.in_(late) if overdue else Complaint.id.not_in(late)


def _conditions(officer: Officer, filters: dict, now: datetime) -> list:
    """The WHERE of a search: the officer's bureaus and each filter given."""
    where = [Complaint.bureau_code.in_(officer.bureau_codes)]
    if filters.get("bureau"):
        where.append(Complaint.bureau_code == filters["bureau"])
    if filters.get("state"):
        where.append(Complaint.state.in_(filters["state"]))
    for name in ("grade", "channel", "routing_flag"):
        if filters.get(name):
            where.append(getattr(Complaint, name) == filters[name])
    if filters.get("district"):
        where.append(Complaint.district_code.startswith(filters["district"], autoescape=True))
    if filters.get("case_no"):
        where.append(Complaint.case_no == filters["case_no"].strip().upper())
    if filters.get("external_id"):
        where.append(func.upper(Complaint.external_id) == filters["external_id"].strip().upper())
    if filters.get("category"):
        where.append(
            Complaint.id.in_(
                select(ComplaintCategory.complaint_id).where(ComplaintCategory.category == filters["category"])
            )
        )
    if filters.get("unit"):
        where.append(Complaint.unit_id.in_(select(Unit.id).where(Unit.code == filters["unit"])))
    if filters.get("officer"):
        where.append(Complaint.officer_id.in_(select(Officer.id).where(Officer.username == filters["officer"])))
    # Personal data: only where the officer sees it, and then exactly; elsewhere as a miss.
    if filters.get("phone"):
        keys = _phone_keys(filters["phone"])
        where += [Complaint.complainant_key.in_(keys) if keys else false(), personal_scope(officer)]
    if filters.get("complainant"):
        where += [Complaint.complainant_name == filters["complainant"].strip(), personal_scope(officer)]
    if "overdue" in filters:
        where.append(overdue_condition(filters["overdue"], now))
    if "reopened" in filters:
        where.append(Complaint.reopen_count > 0 if filters["reopened"] else Complaint.reopen_count == 0)
    if "on_ledger" in filters:
        where.append(Complaint.is_on_ledger.is_(filters["on_ledger"]))
    if filters.get("text"):
        where.append(text_matches(officer, filters["text"]))
    for name, column, op in (
        ("received_from", Complaint.received_at, "ge"),
        ("received_to", Complaint.received_at, "lt"),
        ("closed_from", Complaint.closed_at, "ge"),
        ("closed_to", Complaint.closed_at, "lt"),
    ):
        if filters.get(name):
            where.append(column >= filters[name] if op == "ge" else column < filters[name])
    return where


def _nearest_due():
    """Each case's nearest running deadline: one pass over the running clocks (a partial index), joined
    to the cases, instead of a lookup per case."""
    return (
        select(Clock.complaint_id, func.min(Clock.due_at).label("due_at"))
        .where(Clock.stopped_at.is_(None))
        .group_by(Clock.complaint_id)
        .subquery()
    )


def _sorted(query, filters: dict):
    """The query in the asked order (newest first by default), ties by id the same way; cases without the
    value (not closed, no running deadline) last either way."""
    key, order = filters.get("sort") or "received_at", filters.get("order") or "desc"
    if key == "due_at":
        due = _nearest_due()
        query = query.outerjoin(due, due.c.complaint_id == Complaint.id)
        column = due.c.due_at
    else:
        column = _sort_column(key)
    ordered = column.asc() if order == "asc" else column.desc()
    if key in ("closed_at", "due_at"):  # the others are never NULL: in index order, which may then serve
        ordered = ordered.nulls_last()
    return query.order_by(ordered, Complaint.id.asc() if order == "asc" else Complaint.id.desc())


def _sort_column(key: str):
    norm = get_norm()
    return {
        "received_at": Complaint.received_at,
        "closed_at": Complaint.closed_at,
        "case_no": Complaint.case_no,
        "grade": case({g: n for n, g in enumerate(norm.grades)}, value=Complaint.grade, else_=len(norm.grades)),
        "state": case({s: n for n, s in enumerate(norm.states)}, value=Complaint.state, else_=len(norm.states)),
    }[key]


def search_query(officer: Officer, filters: dict, now: datetime):
    """The SELECT of the matching complaints, sorted as asked (newest first by default)."""
    return _sorted(select(Complaint).where(*_conditions(officer, filters, now)), filters)


def count_matches(where: list, cap: int | None) -> tuple[int, bool]:
    """How many complaints match `where`, counted exactly up to `cap` (config SEARCH_COUNT_CAP): beyond it
    (cap, True), read "more than cap". Counting tens of thousands of matching rows costs more than
    finding the page of them; a capped count stops at the (cap + 1)th. No cap (0/None): exact."""
    if not cap:
        return db.session.scalar(select(func.count(Complaint.id)).where(*where)), False
    first = select(Complaint.id).where(*where).limit(cap + 1).subquery()
    n = db.session.scalar(select(func.count()).select_from(first))
    return (cap, True) if n > cap else (n, False)


def search_complaints(
    officer: Officer, filters: dict, now: datetime, count_cap: int | None = None
) -> tuple[list[Complaint], int, bool]:
    """案件查询: one page of the complaints of the officer's bureaus that match `filters`, how many match
    (exactly up to `count_cap`), and whether that number is only a lower bound (more match)."""
    where = _conditions(officer, filters, now)
    total, more = count_matches(where, count_cap)
    page, per_page = filters["page"], filters["per_page"]
    if not more and (page - 1) * per_page >= total:  # past the end: nothing to read
        return [], total, more
    query = select(Complaint).options(selectinload(Complaint.clocks.and_(Clock.stopped_at.is_(None)))).where(*where)
    query = _sorted(query, filters).limit(per_page).offset((page - 1) * per_page)
    return db.session.scalars(query).unique().all(), total, more


def export_complaints(officer: Officer, filters: dict, now: datetime, cap: int) -> tuple[list[Complaint], int]:
    """The first `cap` complaints that match, in the order asked, and how many match in all."""
    where = _conditions(officer, filters, now)
    total = db.session.scalar(select(func.count(Complaint.id)).where(*where))
    query = _sorted(select(Complaint).where(*where), filters).limit(cap)
    return db.session.scalars(query).unique().all(), total


# --- saved searches ---------------------------------------------------------------------------


def list_saved_searches(officer: Officer) -> list[SavedSearch]:
    """The officer's saved searches, by name."""
    query = select(SavedSearch).where(SavedSearch.officer_id == officer.id).order_by(SavedSearch.name, SavedSearch.id)
    return db.session.scalars(query).all()


def save_search(officer: Officer, name: str, params: dict, now: datetime) -> SavedSearch:
    """Keeps a search under a name for the officer; the same name again replaces it."""
    mine = SavedSearch.officer_id == officer.id
    existing = db.session.scalar(select(SavedSearch).where(mine, SavedSearch.name == name))
    if existing is not None:
        existing.params, existing.created_at = params, now
        db.session.flush()
        return existing
    count = db.session.scalar(select(func.count(SavedSearch.id)).where(SavedSearch.officer_id == officer.id))
    if count >= MAX_SAVED:
        raise Conflict(f"最多保存 {MAX_SAVED} 个查询，请先删除不用的。", code="too_many_saved_searches")
    saved = SavedSearch(officer_id=officer.id, name=name, params=params, created_at=now)
    db.session.add(saved)
    db.session.flush()
    return saved


def delete_saved_search(officer: Officer, search_id: int):
    """Removes one of the officer's saved searches (another's is unknown to them)."""
    saved = db.session.get(SavedSearch, search_id)
    if saved is None or saved.officer_id != officer.id:
        raise NotFound("没有这个保存的查询。", code="unknown_saved_search")
    db.session.delete(saved)
    db.session.flush()


# --- export -----------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "案件编号", "来源工单号", "渠道", "类型", "状态", "等级", "类别", "诉求内容", "诉求人", "联系电话", "地点",
    "区划代码", "承办单位", "承办人", "登记时间", "办结时间", "重办次数", "挂账",
)  # fmt: skip


def _local(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def export_rows(complaints: list[Complaint], total: int, cap: int) -> list[list]:
    """The rows of an export, the heading first: every case as a list shows it, the complainant masked
    (lists always mask: opening one case is what shows it, and logs it); a last line says when the cap
    cut the result short."""
    norm = get_norm()
    catalog = norm.catalog
    rows: list[list] = [list(EXPORT_COLUMNS)]
    for c in complaints:
        rows.append([
            c.case_no, c.external_id or "", catalog["channels"].get(c.channel, c.channel),
            catalog["types"].get(c.type, c.type), norm.states[c.state]["label"] if c.state in norm.states else c.state,
            norm.grades[c.grade].label if c.grade in norm.grades else (c.grade or ""),
            "、".join(catalog["categories"].get(k, k) for k in c.categories),
            privacy.redact(c.description, c), privacy.mask_name(c.complainant_name) or "",
            privacy.mask_phone(c.complainant_phone) or "", privacy.mask_address(c.address, c.district_code) or "",
            c.district_code or "", c.unit.name if c.unit else "", c.officer.name if c.officer else "",
            _local(c.received_at), _local(c.closed_at), c.reopen_count, "是" if c.is_on_ledger else "否",
        ])  # fmt: skip
    if total > len(complaints):
        rows.append([f"共 {total} 件，只导出了前 {len(complaints)} 件（上限 {cap} 件）：请缩小查询条件后分批导出。"])
    return rows
