"""Masking of complainants' personal data for officers without the need to see it."""

from __future__ import annotations

import re

# The address down to the district or county (…区, …县, …市 after the province), never the street;
# the 区 of 小区, 社区 or 园区 is a housing estate, a community or a park, not a district.
_DISTRICT = (re.compile(r"^.{2,}?(?:(?<![小社园])区|县|旗)"), re.compile(r"^.{2,}?市.{1,}?市"))
# Without a district, the address down to its town or street office (镇, 乡, 街道).
_TOWN = re.compile(r"^.{2,}?(?:镇|乡|街道)")
# Where an address splits into the pieces a text might repeat alone: 梨园镇 / 云景里 / 小区.
_ADDRESS_PIECE = re.compile(
    r".{2,}?(?:省|市|区|县|旗|镇|乡|街道|街|大道|路|巷|胡同|村|里|小区|社区|花园|家园|苑|园|公寓|大厦|广场)"
)


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234, 62345678 → ****5678: never more than the last four digits of a
    number shorter than a mobile."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    head = 3 if len(digits) >= 11 else 0
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧***, 张 → *."""
    if not name:
        return name
    if len(name) == 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def address_district(address: str | None) -> str | None:
    """北京市通州区梨园镇云景里小区3号楼 → 北京市通州区; None when the address names no district."""
    matches = [m.group() for m in (pattern.match(address or "") for pattern in _DISTRICT) if m]
    shortest = min(matches, key=len, default=None)  # 廊坊市三河市, not 廊坊市三河市燕郊镇某小区
    return shortest if shortest and len(shortest) < len(address) else None


def mask_address(address: str | None) -> str | None:
    """北京市通州区梨园镇云景里小区3号楼 → 北京市通州区****; 燕郊镇福成小区3号楼 → 燕郊镇****."""
    if not address:
        return address
    coarse = address_district(address)
    if coarse is None:
        town = _TOWN.match(address)
        coarse = town.group() if town and len(town.group()) < len(address) else ""
    return coarse + "****"


def address_pieces(address: str) -> list[str]:
    """The parts of an address below its district, longest first: 梨园镇云景里小区3号楼 →
    [梨园镇云景里小区3号楼, 小区3号楼, 梨园镇, 云景里]."""
    district = address_district(address) or ""
    detail = address[len(district) :]
    pieces = [detail, *_ADDRESS_PIECE.findall(detail)]
    pieces.append(_ADDRESS_PIECE.sub("", detail))
    return sorted({p for p in pieces if len(p) >= 2}, key=len, reverse=True)


# A phone number inside free text: a mobile (spaces or dashes allowed: 138 1234 5678), a landline with
# its area code (010-62345678) or a local one (62345678); not part of a case number or a longer number.
_PHONE = re.compile(
    r"(?<![\dA-Za-z-])(?:\+?86[\s-]?)?(?:1[3-9]\d(?:[\s-]?\d){8}|0\d{2,3}[\s-]?\d{7,8}|\d{7,8})(?![\dA-Za-z-])"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Fields of an event's record that identify the complainant (an Open311 request's contact).
IDENTIFYING_KEYS = frozenset({"email", "device_id", "account_id"})


def mask_email(email: str) -> str:
    """zhangsan@example.com → z***@example.com."""
    local, _, domain = email.partition("@")
    return local[:1] + "***@" + domain


def redact(value, complaint):
    """Free text (or a structure of it) with this case's complainant masked out.

    Officers and complainants write text (a description, contact notes, whistle reasons) that may repeat
    the complainant's name, phone or address; whoever sees the complainant masked sees those masked in
    the text too, and any phone number or e-mail address in it."""
    if isinstance(value, dict):
        return {
            key: "****" if key in IDENTIFYING_KEYS and item else redact(item, complaint) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item, complaint) for item in value]
    if not isinstance(value, str):
        return value
    if complaint.address:
        value = value.replace(complaint.address, mask_address(complaint.address))
        for piece in address_pieces(complaint.address):
            value = value.replace(piece, "****")
    if complaint.complainant_phone:
        value = value.replace(complaint.complainant_phone, mask_phone(complaint.complainant_phone))
    if complaint.complainant_name and len(complaint.complainant_name) > 1:  # one character is too common
        value = value.replace(complaint.complainant_name, mask_name(complaint.complainant_name))
    value = _EMAIL.sub(lambda match: mask_email(match.group()), value)
    return _PHONE.sub(lambda match: mask_phone(match.group()), value)


def has_phone(text: str) -> bool:
    """Whether the text holds something that reads as a phone number."""
    return _PHONE.search(text) is not None


def coarsen(coordinate: float | None) -> float | None:
    """A coordinate to about a kilometre, so that it names an area, not a door."""
    return None if coordinate is None else round(coordinate, 2)
