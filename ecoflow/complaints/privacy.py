"""Masking of complainants' personal data for officers without the need to see it."""

from __future__ import annotations

import re

# The address down to the district or county (…区, …县, …市 after the province), never the street.
_DISTRICT = re.compile(r"^(.{2,}?(?:区|县|旗)|.{2,}?市.{1,}?市)")


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


def mask_address(address: str | None) -> str | None:
    """北京市通州区梨园镇云景里小区3号楼 → 北京市通州区****."""
    if not address:
        return address
    match = _DISTRICT.match(address)
    kept = match.group(1) if match and len(match.group(1)) < len(address) else address[: min(6, len(address) // 2)]
    return kept + "****"


_NUMBER = re.compile(r"\d{7,}")


def redact_numbers(text: str | None) -> str | None:
    """Phone-like numbers inside free text masked, for text that leaves the bureau."""
    return _NUMBER.sub(lambda m: mask_phone(m.group()), text) if text else text


def coarsen(coordinate: float | None) -> float | None:
    """A coordinate to about a kilometre, so that it names an area, not a door."""
    return None if coordinate is None else round(coordinate, 2)
