"""Personal data in free text, found by its kinds, and masked for whoever has no need to see it.

The kinds: phone numbers (mobile and landline) in any notation a person writes (spaces, dashes, dots,
slashes, middle dots, brackets, +86 or 0086, full-width digits), e-mail addresses, ID-card numbers
(18 characters, the last a digit or X), the complainant's own name (and a long name's given name
alone) and the complainant's own address and the parts of it that point at a door: the estate, road
or village and what follows. Place names that are not the complainant's (a river, another estate, a
road, a factory, a town) are what officers work with, and stay: the place of the pollution (a
complaint's `address`) among them, unless it is the complainant's home. A mechanism: it reads a
complaint's `complainant_name`, `complainant_phone`, `complainant_address`, `address` and
`district_code`, and knows nothing else of it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ecoflow import routing

HIDDEN = "****"
# Fields of an event's record that identify the complainant (an Open311 request's contact).
IDENTIFYING_KEYS = frozenset({"email", "device_id", "account_id"})

# Full-width forms read as their ASCII twins, one character for one, so that a match's place in the
# folded text is its place in the original.
FOLD = str.maketrans({chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " ", "\u00a0": " "})
# What people write between the digits of one number: spaces, dashes, dots, slashes, middle dots,
# brackets; up to three of them at a time ("139 - 1234").
SEPARATOR = r"[\s\-‐‑‒–—―.·•・‧∙/\\_()\[\]【】〔〕]{0,3}"
# Not inside a longer number or a code (BJ-20261201-0001, a licence plate, an order number).
_BEFORE = r"(?<![\dA-Za-z])(?<![A-Za-z]-)(?<![\d]-)"
_AFTER = r"(?![\dA-Za-z])(?!-\d)"
# An opening bracket belongs to the number only when it closes after the first group: (010)62345678.
_COUNTRY = rf"(?:\(?(?:\+|00)?\s?86\)?{SEPARATOR})?(?:[(\[【〔](?=\d{{3,4}}[)\]】〕]))?"
_MOBILE = rf"1{SEPARATOR}[3-9](?:{SEPARATOR}\d){{9}}"
_LANDLINE = rf"\(?0(?:{SEPARATOR}\d){{2,3}}\)?{SEPARATOR}[2-9](?:{SEPARATOR}\d){{6,7}}"
# A local number alone: plain, or in its two groups (6234-5678); not a date (2026.11.22).
_LOCAL = r"[2-9]\d{2,3}[\s\-.·/]?\d{4}"
_PHONE = re.compile(rf"{_BEFORE}{_COUNTRY}(?:{_MOBILE}|{_LANDLINE}|{_LOCAL}){_AFTER}")
_ID_CARD = re.compile(
    rf"{_BEFORE}[1-9]\d{{5}}\s?(?:18|19|20)\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?\d{{3}}[\dXx]{_AFTER}"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_CHINESE = re.compile(r"[\u4e00-\u9fff]+")

# Where an address's town ends (十八里店乡, 梨园镇, 塘沽街道).
_TOWN = re.compile(r"^.{2,6}?(?:街道|镇|乡|地区)(?=.)")
# The name of the estate, road or village is what comes before the first digit (云景里小区 of
# 云景里小区3号楼); its stem (云景里) is what a person says for it.
_NAMED_PLACE = re.compile(r"^[^\d]+")
_GENERIC_SUFFIX = re.compile(r"(?:小区|社区|花园|家园|公寓|大厦|新村|村|苑|园)$")


class Complainant(NamedTuple):
    """Whose personal data to look for, where there is no complaint at hand (a public text)."""

    complainant_name: str | None = None
    complainant_address: str | None = None
    district_code: str | None = None


class Found(NamedTuple):
    """A piece of personal data in a text: where it is, its kind and the text itself."""

    start: int
    end: int
    kind: str  # phone, email, id_card, name, address
    text: str


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234, 010-62345678 → 010****5678, 62345678 → ****5678: never more than the
    last four digits (and a mobile's first three, a landline's area code); +86 139.1234.5678 → 139****5678."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone.translate(FOLD))
    if len(digits) >= 12 and digits.startswith(("0086", "86")):  # the country's code
        digits = digits[4:] if digits.startswith("0086") else digits[2:]
        digits = digits if digits.startswith(("0", "1")) and not digits.startswith("10") else "0" + digits
    if len(digits) < 7:
        return "*" * len(digits)
    # What may show of its head: a landline's area code (010, 022; 0316), a mobile's first three.
    area = 3 if digits.startswith(("01", "02")) else 4
    head = area if digits.startswith("0") else (3 if len(digits) >= 11 else 0)
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧***, 张 → *."""
    if not name:
        return name
    if len(name) == 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def mask_email(email: str) -> str:
    """zhangsan@example.com → z***@example.com."""
    at = email.translate(FOLD).index("@")
    return email[:1] + "***" + email[at:]


def mask_id_card(number: str) -> str:
    """110105199001011234 → **************1234."""
    return "*" * 14 + number[-4:]


def address_district(address: str | None, district_code: str | None = None) -> str | None:
    """The address down to its district as the address parser reads it (北京市通州区梨园镇云景里小区3号楼 →
    北京市通州区, never 望京西园三区 of an estate); where it names none, the district the case was routed
    to, else its city; None when nothing is known or there is nothing below the district."""
    if not address:
        return None
    detail = routing.address_detail(address)
    if detail is not None:
        return address[: len(address) - len(detail)] if detail else None
    place = routing.place_for_code(district_code) if district_code else None
    if place is not None:
        return place["city"] + place["district"]
    return routing.parse_address(address)["city"]


def mask_address(address: str | None, district_code: str | None = None) -> str | None:
    """北京市通州区梨园镇云景里小区3号楼 → 北京市通州区****; 望京西园三区222号楼 routed to 朝阳区 → 北京市朝阳区****."""
    if not address:
        return address
    return (address_district(address, district_code) or "") + HIDDEN


def _compact(address: str | None) -> str:
    return re.sub(r"\s", "", (address or "").translate(FOLD))


def place_is_home(complaint) -> bool:
    """Whether the place of the pollution is the complainant's own home (我家楼下): then it is their
    personal data like their name, masked for those without need and not sent whole with a lead."""
    return bool(complaint.complainant_address) and _compact(complaint.address) == _compact(
        complaint.complainant_address
    )


def shown_place(complaint, unmasked: bool = False) -> str | None:
    """The place of the pollution as a viewer sees it: whole, unless it is the complainant's home and
    the viewer sees the complainant masked."""
    if unmasked or not place_is_home(complaint):
        return complaint.address
    return mask_address(complaint.address, complaint.district_code)


def address_pieces(address: str, district_code: str | None = None) -> list[str]:
    """The parts of an address below its district that lead to a door, longest first:
    梨园镇云景里小区3号楼 → [梨园镇云景里小区3号楼, 云景里小区3号楼, 云景里小区, 梨园镇, 云景里]: the town as
    written, with its 镇, 乡 or 街道 (so 十八里店 alone, a place officers name, is not among them), never a
    generic word (小区) or a piece of a name cut at a character that also ends one (十八里 of 十八里店)."""
    district = address_district(address, district_code)
    detail = address[len(district) :] if district and address.startswith(district) else address
    town = _TOWN.match(detail)
    below_town = detail[town.end() :] if town else detail
    pieces = {detail, below_town, town.group() if town else ""}
    named = _NAMED_PLACE.match(below_town)
    if named:
        pieces.add(named.group())
        pieces.add(_GENERIC_SUFFIX.sub("", named.group()))
    return sorted((p for p in pieces if len(p) >= 3), key=len, reverse=True)


def _name_patterns(name: str | None) -> list[re.Pattern]:
    """The complainant's name (spaces between its characters allowed), and a long Chinese name's given
    name alone (娜娜 of 欧阳娜娜); a name of one character is too common to look for."""
    if not name or len(name.strip()) < 2:
        return []
    name = name.strip()
    found = [re.compile(r"\s*".join(map(re.escape, name)))]
    if len(name) >= 3 and _CHINESE.fullmatch(name):
        found.append(re.compile(re.escape(name[-2:])))
    return found


def find_personal(text: str, complaint=None) -> list[Found]:
    """Every piece of personal data in `text`, in order, none overlapping (the longest wins): any phone
    number, e-mail address or ID-card number, and this complaint's complainant's name and address."""
    folded = text.translate(FOLD)
    found = [Found(m.start(), m.end(), "email", m.group()) for m in _EMAIL.finditer(folded)]
    found += [Found(m.start(), m.end(), "id_card", m.group()) for m in _ID_CARD.finditer(folded)]
    found += [Found(m.start(), m.end(), "phone", m.group()) for m in _PHONE.finditer(folded)]
    if complaint is not None:
        for pattern in _name_patterns(complaint.complainant_name):
            found += [Found(m.start(), m.end(), "name", m.group()) for m in pattern.finditer(folded)]
        if complaint.complainant_address:
            address = complaint.complainant_address.translate(FOLD)
            for piece in [address, *address_pieces(address, complaint.district_code)]:
                found += [Found(m.start(), m.end(), "address", piece) for m in re.finditer(re.escape(piece), folded)]
    chosen, end = [], 0
    for item in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if item.start >= end:
            chosen.append(item._replace(text=text[item.start : item.end]))
            end = item.end
    return chosen


def replace_personal(text: str, found: list[Found], replace) -> str:
    """`text` with each found piece replaced by `replace(piece)`."""
    out, at = [], 0
    for item in found:
        out += [text[at : item.start], replace(item)]
        at = item.end
    return "".join([*out, text[at:]])


def mask_text(text: str, complaint=None) -> str:
    """Free text as whoever sees the complainant masked sees it: 张三 → 张*, 139.1234.5678 → 139****5678,
    the complainant's address → 北京市通州区**** and its estate → ****, an e-mail → z***@example.com."""

    def masked(item: Found) -> str:
        if item.kind == "phone":
            return mask_phone(item.text)
        if item.kind == "email":
            return mask_email(item.text)
        if item.kind == "id_card":
            return mask_id_card(item.text)
        if item.kind == "name":
            whole = re.sub(r"\s", "", item.text) == complaint.complainant_name.strip()
            return mask_name(complaint.complainant_name.strip()) if whole else "*" * len(item.text)
        if item.text.translate(FOLD) == (complaint.complainant_address or "").translate(FOLD):
            return mask_address(complaint.complainant_address, complaint.district_code)
        return HIDDEN

    return replace_personal(text, find_personal(text, complaint), masked)


def redact(value, complaint):
    """Free text (or a structure of it) with this case's complainant masked out.

    Officers and complainants write text (a description, contact notes, whistle reasons) that may repeat
    the complainant's name, phone or address; whoever sees the complainant masked sees those masked in
    the text too, and any phone number, e-mail address or ID-card number in it."""
    if isinstance(value, dict):
        return {
            key: HIDDEN if key in IDENTIFYING_KEYS and item else redact(item, complaint) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item, complaint) for item in value]
    if not isinstance(value, str):
        return value
    return mask_text(value, complaint)


def searchable_copy(complaint) -> str:
    """The text a viewer who sees the complainant masked may search: the description and the place as
    they see them (北京市通州区****), so that ten of eleven digits, the complainant's name or home estate
    find nothing for them."""
    place = mask_address(complaint.address, complaint.district_code) or ""
    return mask_text(complaint.description or "", complaint) + " " + place


def has_phone(text: str) -> bool:
    """Whether the text holds something that reads as a phone number."""
    return _PHONE.search(text.translate(FOLD)) is not None


def coarsen(coordinate: float | None) -> float | None:
    """A coordinate to about a kilometre, so that it names an area, not a door."""
    return None if coordinate is None else round(coordinate, 2)
