"""Scrubbing text for the public: no name, phone or exact address may get through."""

from __future__ import annotations

import re

from ecoflow.complaints.privacy import address_district, address_pieces

# Any run of 7 or more digits, spaces or dashes between them allowed: phones, landlines, ID numbers.
_NUMBER = re.compile(r"(?<!\d)\+?\d(?:[\s-]?\d){6,}[\dXx]?")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Door-level detail anywhere in text: 3号楼, 12号院, 5单元, 301室 ...
_DOOR = re.compile(r"\d+\s*(?:号楼|号院|号|栋|幢|单元|室|层|楼)")
_CHINESE_NAME = re.compile(r"[\u4e00-\u9fff]{3,}")

HIDDEN = "＊＊"


def person(name: str) -> str:
    """张三 → 张某."""
    return name[0] + "某"


def scrub(text: str, names=(), addresses=()) -> str:
    """`text` without the given people's names, the given addresses below their district, and
    any phone number, e-mail address or door number."""
    for address in addresses:
        if not address:
            continue
        district = address_district(address)
        text = text.replace(address, (district or "") + "某处")
        for piece in address_pieces(address):
            text = text.replace(piece, "某处")
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        text = text.replace(name, person(name))
        if _CHINESE_NAME.fullmatch(name):  # the given name alone (娜娜 of 欧阳娜娜); one character is too common
            text = text.replace(name[-2:], "某")
    text = _EMAIL.sub(HIDDEN, text)
    text = _NUMBER.sub(HIDDEN, text)
    return _DOOR.sub(HIDDEN, text)
