"""Scrubbing text for the public: no name, phone or exact address may get through."""

from __future__ import annotations

import re

from ecoflow.complaints import privacy
from ecoflow.complaints.privacy import Complainant

# Any run of 7 or more digits, whatever is written between them: phones, landlines, ID numbers, and
# whatever else is long enough to point at someone.
_NUMBER = re.compile(rf"(?<!\d)\+?\d(?:{privacy.SEPARATOR}\d){{6,}}[\dXx]?")
# Door-level detail anywhere in text: 3号楼, 12号院, 5单元, 301室 ...
_DOOR = re.compile(r"\d+\s*(?:号楼|号院|号|栋|幢|单元|室|层|楼)")

HIDDEN = "＊＊"


def person(name: str) -> str:
    """张三 → 张某."""
    return name[0] + "某"


def _hide(text: str, found, replacement) -> str:
    return privacy.replace_personal(text, list(found), replacement)


def scrub(text: str, names=(), addresses=(), district_code: str | None = None) -> str:
    """`text` without the given people's names, the given addresses below their district, and
    any phone number, e-mail address, ID-card number or door number."""
    for address in filter(None, addresses):
        near = (privacy.address_district(address, district_code) or "") + "某处"
        found = privacy.find_personal(text, Complainant(None, address, district_code))
        text = _hide(
            text, (f for f in found if f.kind == "address"), lambda f, a=address, n=near: n if f.text == a else "某处"
        )
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        found = privacy.find_personal(text, Complainant(name))
        text = _hide(
            text, (f for f in found if f.kind == "name"), lambda f, n=name: person(n) if len(f.text) >= len(n) else "某"
        )
    text = _hide(text, privacy.find_personal(text), lambda f: HIDDEN)
    for pattern in (_NUMBER, _DOOR):
        found = pattern.finditer(text.translate(privacy.FOLD))
        text = _hide(text, (privacy.Found(m.start(), m.end(), "number", "") for m in found), lambda f: HIDDEN)
    return text
