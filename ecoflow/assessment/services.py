"""The measures of NORM.md "Assessment (三率 and more)", computed from the facts (see facts.py).

Each figure is a numerator over a denominator of items, each counted in the month its outcome is
known (a clock met: when it stopped; a clock that ran out: at its due time):

- 响应率 response: first-contact clocks met (contact or reply by the due time)
  ÷ first-contact clocks that ended: met, late, or past due and still running
  (a paused clock, or one cancelled before its due time, is not counted).
- 按时答复率 reply: reply clocks met ÷ reply clocks that ended (each reopening starts one more).
- 解决率 resolution: follow-ups saying resolved ÷ follow-ups (a case followed up three times counts three).
- 满意率 satisfaction: follow-ups 满意 + 基本满意 ÷ follow-ups; the share of each level is given too.
- 重办率 reopen: reopenings (by an unresolved follow-up or by a supervisor) ÷ answers (replies).
- 超期数 overdue: clocks (签收, 首次联系, 答复) that ran past due.
- 吹哨报到率 whistle: summoned parties who reported in by the deadline
  ÷ summoned parties whose deadline passed or who reported; and the average time to report in.
- 线索签收 lead: leads from peer bureaus signed for (签收) by their clock's due time ÷ lead clocks that
  ended; and the average time from arrival to 签收.

Leads from a peer bureau (channel peer_transfer) are left out of 响应率, 解决率 and 满意率: the origin
bureau answers and counts that complainant, so a transferred case is counted once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, literal, not_, or_, select

from ecoflow.complaints.models import Complaint
from ecoflow.errors import Forbidden, Invalid
from ecoflow.extensions import db
from ecoflow.norm.current import get_norm
from ecoflow.officers.models import Officer, Unit

from .facts import category_bits, month_of
from .models import Fact, MonthlyCount
from .rules import Rules, get_rules

GROUPS = ("bureau", "unit", "officer", "district", "category", "channel", "month")
FIGURES = ("response", "reply", "resolution", "satisfaction", "reopen", "overdue", "whistle", "lead")
LABELS = {
    "response": "响应率", "reply": "按时答复率", "resolution": "解决率", "satisfaction": "满意率",
    "reopen": "重办率", "overdue": "超期数", "whistle": "吹哨报到率", "lead": "线索签收及时率",
}  # fmt: skip
GROUP_LABELS = {
    "unit": "承办单位", "officer": "承办人", "bureau": "单位", "district": "区域", "category": "类别",
    "channel": "渠道", "month": "月份",
}  # fmt: skip
# Figures whose items are one measure of facts, with "ok" meaning met.
SIMPLE = {"response": "response", "reply": "reply", "resolution": "follow_up", "whistle": "whistle", "lead": "lead"}


def catalog():
    """The norm's code lists (bureaus, categories, channels ...) with their labels."""
    return get_norm().catalog


# --- who sees what --------------------------------------------------------------------------


def visible_bureaus(officer: Officer, rules: Rules | None = None) -> list[str]:
    """The bureaus whose figures this officer may see: where they lead, supervise or administer;
    every bureau for the coordination office."""
    rules = rules or get_rules()
    roles = {g.role for g in officer.grants}
    if roles & rules.all_bureaus:
        return sorted(get_norm().catalog["bureaus"])
    return sorted({g.bureau_code for g in officer.grants if g.role in rules.viewers})


def scope(officer: Officer, filters: dict) -> list[str]:
    """The bureaus a query covers; Forbidden when the officer may see none of them."""
    bureaus = visible_bureaus(officer)
    if filters.get("bureau"):
        if filters["bureau"] not in bureaus:
            raise Forbidden(f"无权查看 {filters['bureau']} 的考核数据。", code="other_bureau")
        return [filters["bureau"]]
    if not bureaus:
        raise Forbidden("考核数据仅对分管领导、督办员和管理员开放。", code="role_not_allowed")
    return bureaus


def default_months(filters: dict, now: datetime) -> tuple[int, int]:
    """The months a query covers: `month`, or `from`..`to`, or the current month."""
    if filters.get("month"):
        return filters["month"], filters["month"]
    current = month_of(now)
    high = filters.get("to") or current
    low = filters.get("from_") or high
    if low > high:
        raise Invalid("起始月份不能晚于结束月份。", {"fields": {"from": ["起始月份不能晚于结束月份。"]}})
    return low, high


def _conditions(model, officer: Officer, filters: dict, now: datetime) -> list:
    """What a query of these filters asks of the facts or of the monthly counts (`model`)."""
    low, high = default_months(filters, now)
    conditions = [model.month.between(low, high), model.bureau_code.in_(scope(officer, filters))]
    if filters.get("unit"):
        conditions.append(model.unit_id.in_(select(Unit.id).where(Unit.code == filters["unit"])))
    if filters.get("officer"):
        conditions.append(model.officer_id.in_(select(Officer.id).where(Officer.username == filters["officer"])))
    for name in ("district", "channel"):
        if filters.get(name):
            conditions.append(getattr(model, name) == filters[name])
    if filters.get("category"):
        conditions.append(model.categories.op("&")(category_bits([filters["category"]])) != 0)
    return conditions


def _fact_conditions(officer: Officer, filters: dict, now: datetime) -> list:
    # Counted by now: a NULL counted_at (not counted) never matches.
    return [*_conditions(Fact, officer, filters, now), Fact.counted_at <= now]


# --- the figures ----------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> dict:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rate": round(numerator / denominator, 4) if denominator else None,
    }


def _timed(row) -> dict:
    figure = _ratio(row["ok"], row["n"])
    figure["timed"] = row["timed"]
    figure["average_seconds"] = round(row["seconds"] / row["timed"]) if row["timed"] else None
    return figure


def figures(counts: dict[str, dict], rules: Rules) -> dict:
    """Every figure from the per-measure counts of one group."""
    empty = {"n": 0, "ok": 0, "seconds": 0, "timed": 0, "levels": {}}

    def get(measure):
        return counts.get(measure, empty)

    follow_ups = get("follow_up")
    levels = {level: follow_ups["levels"].get(level, 0) for level in get_norm().catalog["satisfaction"]}
    satisfaction = _ratio(sum(levels[level] for level in rules.satisfied_levels), follow_ups["n"])
    satisfaction["levels"] = levels
    satisfaction["shares"] = {
        level: round(count / follow_ups["n"], 4) if follow_ups["n"] else None for level, count in levels.items()
    }
    overdue_measures = {rules.clock_measures[kind] for kind in rules.overdue_clocks}
    return {
        "response": _ratio(get("response")["ok"], get("response")["n"]),
        "reply": _ratio(get("reply")["ok"], get("reply")["n"]),
        "resolution": _ratio(follow_ups["ok"], follow_ups["n"]),
        "satisfaction": satisfaction,
        "reopen": _ratio(get("reopen")["n"], get("answer")["n"]),
        "overdue": {"count": sum(get(m)["n"] - get(m)["ok"] for m in overdue_measures)},
        "whistle": _timed(get("whistle")),
        "lead": _timed(get("lead")),
    }


def _group_column(model, group_by: str):
    return getattr(model, {"bureau": "bureau_code", "unit": "unit_id", "officer": "officer_id",
                           "category": "categories"}.get(group_by, group_by))  # fmt: skip


def count_facts(officer: Officer, filters: dict, now: datetime, group_by: str | None) -> dict:
    """{group key: {measure: {n, ok, seconds, timed, levels}}}.

    From the monthly counts, less the items they hold that count only later than `now` (pending, due
    ahead); by or of one officer, from the facts themselves (the counts are not kept per officer)."""
    met = func.sum(case((Fact.is_ok.is_(True), 1), else_=0))
    fact_sums = [func.count(), met, func.coalesce(func.sum(Fact.seconds), 0), func.count(Fact.seconds)]
    if group_by == "officer" or filters.get("officer"):
        parts = [(_grouped(Fact, group_by, fact_sums, _fact_conditions(officer, filters, now)), 1)]
    else:
        sums = [func.sum(MonthlyCount.n), func.sum(MonthlyCount.ok), func.sum(MonthlyCount.seconds),
                func.sum(MonthlyCount.timed)]  # fmt: skip
        kept = _grouped(MonthlyCount, group_by, sums, _conditions(MonthlyCount, officer, filters, now))
        parts = [(kept, 1)]
        if default_months(filters, now)[1] >= month_of(now):  # a past month holds nothing that counts later
            ahead = [*_conditions(Fact, officer, filters, now), Fact.counted_at > now]
            parts.append((_grouped(Fact, group_by, fact_sums, ahead), -1))
    result: dict = {}
    for rows, sign in parts:
        for key, measure, level, n, ok, seconds, timed in rows:
            for group in _group_keys(group_by, key):
                counts = result.setdefault(group, {}).setdefault(
                    measure, {"n": 0, "ok": 0, "seconds": 0, "timed": 0, "levels": {}}
                )
                counts["n"] += sign * n
                counts["ok"] += sign * (ok or 0)
                counts["seconds"] += sign * (seconds or 0)
                counts["timed"] += sign * (timed or 0)
                if level:
                    counts["levels"][level] = counts["levels"].get(level, 0) + sign * n
    # A count that went back to nothing (a case moved away) is no group.
    result = {group: {m: c for m, c in measures.items() if c["n"]} for group, measures in result.items()}
    return {group: measures for group, measures in result.items() if measures}


def _grouped(model, group_by, columns, conditions):
    key = _group_column(model, group_by) if group_by else literal(None)
    query = select(key, model.measure, model.level, *columns).where(*conditions)
    return db.session.execute(query.group_by(key, model.measure, model.level)).all()


def _group_keys(group_by: str | None, key) -> list:
    """The groups a row counts in: its key, or each of its categories (a case counts in each)."""
    if group_by == "category":
        order = list(get_norm().catalog["categories"])
        return [category for bit, category in enumerate(order) if (key or 0) & (1 << bit)]
    if group_by in ("unit", "officer"):
        return [key or None]  # 0 in the monthly counts: none
    return [key if key != "" else None]


def _labels(group_by: str, keys) -> dict:
    """Readable names of the group keys: unit and officer names, code-list labels, months."""
    catalog = get_norm().catalog
    if group_by == "unit":
        rows = db.session.execute(select(Unit.id, Unit.code, Unit.name, Unit.bureau_code).where(Unit.id.in_(keys)))
        return {i: {"key": code, "label": name, "bureau": bureau} for i, code, name, bureau in rows}
    if group_by == "officer":
        rows = db.session.execute(select(Officer.id, Officer.username, Officer.name, Officer.bureau_code)
                                  .where(Officer.id.in_(keys)))  # fmt: skip
        return {i: {"key": username, "label": name, "bureau": bureau} for i, username, name, bureau in rows}
    if group_by == "month":
        return {k: {"key": f"{k // 100:04d}-{k % 100:02d}", "label": f"{k // 100}年{k % 100}月"} for k in keys}
    if group_by == "district":  # a division code by its name in workflows/routing.yaml
        districts = get_norm().routing.districts
        return {k: {"key": k, "label": districts[k].name if k in districts else k} for k in keys}
    names = {"bureau": "bureaus", "category": "categories", "channel": "channels"}.get(group_by)
    return {k: {"key": k, "label": catalog[names].get(k, k) if names else k} for k in keys}


def score(figure_set: dict, rules: Rules) -> float | None:
    """The ranking score: the weighted mean of the ranked rates (reopen rate counts inverted)."""
    total = weight_sum = 0.0
    for name, weight in rules.ranking.items():
        rate = figure_set[name]["rate"]
        if rate is None or not weight:
            continue
        total += weight * (1 - rate if name == "reopen" else rate)
        weight_sum += weight
    return round(total / weight_sum, 4) if weight_sum else None


def assess(officer: Officer, filters: dict, now: datetime) -> dict:
    """The figures for the filters: the total, and per group when `group_by` is given."""
    low, high = default_months(filters, now)
    body = {
        "bureaus": scope(officer, filters),
        "from": f"{low // 100:04d}-{low % 100:02d}",
        "to": f"{high // 100:04d}-{high % 100:02d}",
        "total": figures(count_facts(officer, filters, now, None).get(None, {}), get_rules()),
    }
    if filters.get("group_by"):
        body["group_by"] = filters["group_by"]
        body["groups"] = grouped(officer, filters, now, filters["group_by"])
    return body


def grouped(officer: Officer, filters: dict, now: datetime, group_by: str) -> list[dict]:
    """The figures per group: by month in order, or ranked by score (rank None: nothing to rank)."""
    rules = get_rules()
    counts = count_facts(officer, filters, now, group_by)
    labels = _labels(group_by, [k for k in counts if k is not None])
    groups = []
    for key, per_measure in counts.items():
        label = labels.get(key, {"key": None, "label": "（未派单）" if group_by in ("unit", "officer") else "（未知）"})
        groups.append({**label, "figures": figures(per_measure, rules)})
    if group_by == "month":
        return sorted(groups, key=lambda g: g["key"])
    for group in groups:
        group["score"] = score(group["figures"], rules)
    groups.sort(key=lambda g: (g["score"] is None, -(g["score"] or 0), str(g["key"])))
    for rank, group in enumerate(groups, 1):
        group["rank"] = rank if group["score"] is not None else None
    return groups


# --- the cases behind a figure ----------------------------------------------------------------


def _figure_conditions(figure: str, part: str, rules: Rules) -> list:
    """Which facts make up `part` (numerator, denominator, missed) of `figure`."""
    if figure == "reopen":
        if part == "missed":
            raise Invalid("重办率没有“未达标”明细。", {"fields": {"part": ["重办率只有分子和分母。"]}})
        return [Fact.measure == ("reopen" if part == "numerator" else "answer")]
    if figure == "overdue":
        measures = [rules.clock_measures[kind] for kind in rules.overdue_clocks]
        return [Fact.measure.in_(measures), Fact.is_ok.is_not(True)]
    if figure == "satisfaction":
        met = Fact.level.in_(rules.satisfied_levels)
        missed = or_(Fact.level.is_(None), not_(met))
        measure = "follow_up"
    else:
        met, missed, measure = Fact.is_ok.is_(True), Fact.is_ok.is_not(True), SIMPLE[figure]
    return [Fact.measure == measure, *({"numerator": [met], "missed": [missed]}.get(part, []))]


def figure_cases(officer: Officer, filters: dict, now: datetime, count: bool = True) -> tuple[list[dict], int | None]:
    """The items behind one figure, with their cases, one page, latest first, and how many in all
    (None when not asked to count)."""
    rules = get_rules()
    conditions = _fact_conditions(officer, filters, now) + _figure_conditions(filters["figure"], filters["part"], rules)
    query = (
        select(Complaint.case_no, Fact.measure, Fact.counted_at, Fact.is_ok, Fact.level, Fact.seconds,
               Unit.code.label("unit"), Officer.username.label("officer"), Fact.bureau_code.label("bureau"),
               Unit.name.label("unit_name"), Officer.name.label("officer_name"))
        .join(Complaint, Complaint.id == Fact.complaint_id)
        .outerjoin(Unit, Unit.id == Fact.unit_id)
        .outerjoin(Officer, Officer.id == Fact.officer_id)
        .where(*conditions)
    )  # fmt: skip
    total = db.session.scalar(select(func.count()).select_from(Fact).where(*conditions)) if count else None
    page, per_page = filters["page"], filters["per_page"]
    rows = db.session.execute(
        query.order_by(Fact.counted_at.desc(), Fact.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).mappings()
    items = [{**row, "is_ok": bool(row["is_ok"]) if row["is_ok"] is not None else None} for row in rows]
    return items, total
