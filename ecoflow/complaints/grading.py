"""诉求分级 suggestions from the rules in workflows/grading.yaml."""

from __future__ import annotations


def keyword_categories(norm, description: str) -> tuple[list[str], list[str]]:
    """The categories the description's keywords suggest (the default one when none), with reasons."""
    rules = norm.grading
    categories, reasons = [], []
    for category, words in rules["categories"].items():
        hits = [w for w in words if w in description]
        if hits:
            categories.append(category)
            reasons.append(f"关键词“{'、'.join(hits)}” → {norm.catalog['categories'][category]}")
    return categories or [rules["default_category"]], reasons


def suggest_grade(
    norm,
    *,
    description: str,
    channel: str,
    request_type: str,
    repeats: int,
    cross_border: bool = False,
    people_count: int | None = None,
    petition: bool = False,
) -> dict:
    """The suggested grade and categories with the reasons for them; `repeats` counts the
    earlier complaints about the same source inside the repeat window; `cross_border` says the
    source lies in another bureau's jurisdiction; `people_count` how many brought it, `petition`
    whether it is a formal petition (信访事项)."""
    rules = norm.grading
    categories, reasons = keyword_categories(norm, description)

    grade = None
    urgent_hits = [w for w in rules["urgent"] if w in description]
    if urgent_hits:
        grade = "urgent"
        reasons.append(f"关键词“{'、'.join(urgent_hits)}”表明正在发生危害 → 紧急")
    repeat = rules["repeat"]
    if repeats + 1 >= repeat["count"]:
        reasons.append(f"{repeat['window_days']}日内同一污染源第{repeats + 1}次诉求 → 重点")
        grade = grade or "key"
    if cross_border:
        reasons.append("污染源位于其他省市（跨界） → 重点")
        grade = grade or "key"
    collective = rules["collective_people"]
    if people_count and people_count >= collective:
        reasons.append(f"{people_count}人集体诉求（{collective}人及以上） → 重点")
        grade = grade or "key"
    if petition and rules["petition_key"]:
        reasons.append("正式信访事项 → 重点")
        grade = grade or "key"
    if channel in rules["key_channels"]:
        reasons.append(f"来源渠道为{norm.catalog['channels'][channel]} → 重点")
        grade = grade or "key"
    for rule in rules["rules"]:
        hits = _found(rule["patterns"], description)
        if hits:
            label = norm.grades[rule["grade"]].label
            reasons.append(f"{rule['reason']}（“{'、'.join(hits)}”） → {label}")
            grade = _weightier(norm, grade, rule["grade"])
    if grade is None and request_type in rules["consult_types"]:
        grade = "consult"
        reasons.append("诉求类型为咨询 → 咨询")
    if grade is None:
        grade = rules["default_grade"]
        reasons.append(f"未命中其他规则 → {norm.grades[grade].label}")
    return {"grade": grade, "categories": categories, "reasons": reasons}


def _found(patterns, description: str) -> list[str]:
    """The words the patterns find in the description, each once, in the order found."""
    hits = []
    for pattern in patterns:
        match = pattern.search(description)
        if match and match.group(0) not in hits:
            hits.append(match.group(0))
    return hits


def _weightier(norm, grade: str | None, other: str) -> str:
    """The weightier of two grades: the earlier in workflows/grades.yaml (urgent before key)."""
    if grade is None:
        return other
    order = list(norm.grades)
    return grade if order.index(grade) <= order.index(other) else other


def origin_grade(norm, lead: dict | None) -> dict:
    """A lead from a peer is graded, at first, as its origin graded it (a key case arrives key, an
    urgent one urgent), in the origin's categories; nothing for any other case."""
    if not lead or lead.get("grade") not in norm.grades:
        return {}
    grade = lead["grade"]
    categories = [c for c in lead.get("categories") or [] if c in norm.catalog["categories"]]
    origin = norm.catalog["bureaus"].get(lead["origin_bureau"], lead["origin_bureau"])
    reason = f"移送方{origin}定级 → {norm.grades[grade].label}"
    return {"grade": grade, "reasons": [reason]} | ({"categories": categories} if categories else {})
