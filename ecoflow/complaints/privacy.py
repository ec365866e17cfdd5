"""Masking of complainants' personal data for officers without the need to see it."""

from __future__ import annotations

import re

# The address down to the district or county (…区, …县, …市 after the province), never the street.
_DISTRICT = (re.compile(r"^.{2,}?(?:区|县|旗)"), re.compile(r"^.{2,}?市.{1,}?市"))


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def address_district(address: str | None) -> str | None:
    """北京市通州区梨园镇云景里小区3号楼 → 北京市通州区; None when the address names no district."""
    matches = [m.group() for m in (pattern.match(address or "") for pattern in _DISTRICT) if m]
    shortest = min(matches, key=len, default=None)  # 廊坊市三河市, not 廊坊市三河市燕郊镇某小区
    return shortest if shortest and len(shortest) < len(address) else None


def mask_address(address: str | None) -> str | None:
    """北京市通州区梨园镇云景里小区3号楼 → 北京市通州区****."""
    if not address:
        return address
    return (address_district(address) or address[: min(6, len(address) // 2)]) + "****"


# A mainland mobile number inside free text, not part of a longer run of digits.
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def redact(value, complaint):
    """Free text (or a structure of it) with this case's complainant masked out.

    Officers write notes (contact, follow-up, whistle reasons) that may repeat the complainant's name,
    phone or address; whoever sees the complainant masked sees those masked in the notes too."""
    if isinstance(value, dict):
        return {key: redact(item, complaint) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, complaint) for item in value]
    if not isinstance(value, str):
        return value
    known = (
        (complaint.complainant_phone, mask_phone),
        (complaint.address, mask_address),
        (complaint.complainant_name, mask_name),
    )
    for secret, mask in known:
        if secret and len(secret) > 1:
            value = value.replace(secret, mask(secret))
    return _MOBILE.sub(lambda match: mask_phone(match.group()), value)


def coarsen(coordinate: float | None) -> float | None:
    """A coordinate to about a kilometre, so that it names an area, not a door."""
    return None if coordinate is None else round(coordinate, 2)
