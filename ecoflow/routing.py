"""属地派单: the province, city and district of an address, and the bureau and default unit that
handle it by the table in workflows/routing.yaml. A mechanism: it knows addresses and bureaus, not
complaints.

Addresses are parsed by jionlp's location parser, whose dictionary of administrative divisions
ships inside the package (nothing is downloaded). An address that plainly names its district (the
full name and its city or province) is placed by an Aho-Corasick automaton over that dictionary in
microseconds; the parser (5 ms, and one address at a time) reads the rest. A district name that exists in several places
(朝阳区, 和平区, 桥西区) is resolved only against the receiving bureau's own province; otherwise
the result says it is ambiguous, and the dispatcher decides.
"""

from __future__ import annotations

import contextlib
import io
import threading
from functools import cache, lru_cache

import ahocorasick

# What a route can be flagged with for the dispatcher; None when it is routed inside the bureau.
FLAGS = {
    "cross_border": "地址属于其他省市，建议移送",
    "outside_region": "地址不在京津冀范围内",
    "ambiguous": "区县名称有重名，无法确定所属省市",
    "no_district": "地址未写明区县",
    "unparsed": "无法识别地址",
}

_lock = threading.Lock()


@cache
def _jionlp():
    """jionlp, imported on first use (it takes half a second and prints banners to stdout)."""
    with _lock, contextlib.redirect_stdout(io.StringIO()):
        import jionlp

        jionlp.parse_location("北京市")  # builds the parser's tables once
        return jionlp


def _names(name: str, info: dict) -> set[str]:
    aliases = info["_alias"] if isinstance(info["_alias"], list) else [info["_alias"]]
    return {name, *(a for a in aliases if a)}


def warm_up():
    """Load the parser and the division tables now (a second or two), not on the first complaint."""
    _province_names()
    _district_names()


@cache
def _divisions() -> tuple[dict[str, dict], dict[str, list[dict]], dict[str, frozenset[str]]]:
    """Every district of the dictionary by code and by full name and alias; and for each district
    code, the names (full and short) of its province and city, which confirm a short district name."""
    by_code, by_name, confirming = {}, {}, {}
    for province, cities in _jionlp().china_location_loader().items():
        if province.startswith("_"):
            continue
        for city, counties in cities.items():
            if city.startswith("_"):
                continue
            for county, info in counties.items():
                if county.startswith("_"):
                    continue
                place = {"province": province, "city": city, "district": county, "code": info["_admin_code"]}
                by_code[place["code"]] = place
                for name in _names(county, info):
                    by_name.setdefault(name, []).append(place)
                higher = _names(province, cities) | _names(city, counties) | {county}
                confirming[place["code"]] = frozenset(n for n in higher if len(n) >= 2)
    return by_code, by_name, confirming


def _confirmed(address: str, place: dict) -> bool:
    """Whether the address names the district in full, or its city or province: a short name
    alone (工业园区, 开发区) may be a different place the dictionary happens to know."""
    return any(name in address for name in _divisions()[2][place["code"]])


@cache
def _district_names():
    """An Aho-Corasick automaton of every district's full name: finds all the district names an
    address contains in one pass, where jionlp tries each of some 3,200 districts in turn."""
    automaton = ahocorasick.Automaton()
    for place in _divisions()[0].values():
        name = place["district"]
        if automaton.exists(name):
            automaton.get(name)[1].append(place)
        else:
            automaton.add_word(name, (name, [place]))
    automaton.make_automaton()
    return automaton


def plainly_named(address: str) -> dict | None:
    """The district, when the address leaves no doubt: of the districts whose full name it contains
    (not inside a longer one: 城区 in 东城区), exactly one is in a city or province it also names.
    Anything else is left to the parser: old names, short names, a district without its city."""
    found = [(end - len(name) + 1, end, places) for end, (name, places) in _district_names().iter(address)]
    outer = [f for f in found if not any(o[0] <= f[0] and f[1] <= o[1] and o != f for o in found)]
    confirming = _divisions()[2]
    named = {
        place["code"]: place
        for _, _, places in outer
        for place in places
        if any(name in address for name in confirming[place["code"]] - {place["district"]})
    }
    return next(iter(named.values())) if len(named) == 1 else None


def district_name(code: str | None) -> str | None:
    """A district's name with its city (廊坊市三河市) by its division code, as an officer reads it;
    None for a code the dictionary does not know."""
    place = _divisions()[0].get(code) if code else None
    if place is None:
        return None
    city = place["city"] if place["city"] not in ("市辖区", "县", place["district"]) else place["province"]
    return f"{city}{place['district']}"


@lru_cache(maxsize=4096)
def parse_address(address: str) -> dict:
    """{province, city, district} as far as the parser recognises them (None where it does not), and
    the `detail` the parser finds below them."""
    parser = _jionlp()
    with _lock:  # the parser keeps its working state in its shared tables: one parse at a time
        parsed = parser.parse_location(address, town_village=False, change2new=True)
    return {"province": parsed["province"], "city": parsed["city"], "district": parsed["county"],
            "detail": parsed["detail"] or ""}  # fmt: skip


def address_detail(address: str) -> str | None:
    """What the address says below its district (梨园镇云景里小区3号楼 of 北京市通州区梨园镇云景里小区3号楼),
    as written; None when it names no district. An address that plainly names its district is cut
    after that name in microseconds; the parser reads the rest."""
    named = plainly_named(address)
    if named is not None and (at := address.find(named["district"])) >= 0:
        return address[at + len(named["district"]) :]
    parsed = parse_address(address)
    detail = parsed["detail"]
    return detail if parsed["district"] and address.endswith(detail) else None


def _province_code(code: str) -> str:
    return code[:2] + "0000"


def place_for_code(code: str) -> dict | None:
    """The district with this 6-digit code (longer codes are cut to the district)."""
    return _divisions()[0].get(code[:6])


def _candidates(parsed: dict) -> list[dict]:
    """The dictionary's districts that the parsed names can mean."""
    by_name = _divisions()[1]
    found = by_name.get(parsed["district"] or "", [])
    return [p for p in found if all(parsed[k] in (None, p[k]) for k in ("province", "city"))]


def route_address(table, address: str, bureau_code: str, district_code: str | None = None) -> dict:
    """Where a complaint at `address` received by `bureau_code` belongs:
    {status, flag, message, province, city, district, district_code, bureau, unit, basis, transfer}.
    `flag` is None when the place is in the receiving bureau's jurisdiction and known to the district."""
    if district_code and place_for_code(district_code):
        place, basis = place_for_code(district_code), "given_code"
    elif (named := plainly_named(address)) is not None:
        place, basis = named, "address"
    else:
        parsed = {k: v for k, v in parse_address(address).items() if k != "detail"}
        candidates = _candidates(parsed)
        own = [p for p in candidates if table.bureau_of(p["code"]) == bureau_code]
        if len(candidates) == 1 and _confirmed(address, candidates[0]):
            place, basis = candidates[0], "address"
        elif len(own) == 1:
            place, basis = own[0], "receiving_bureau"
        elif candidates:
            names = "、".join(sorted({p["province"] + p["city"] + p["district"] for p in candidates}))
            unsure = {"province": None, "city": None, "district": parsed["district"]}
            return _flagged("ambiguous", unsure, f"地址中的“{parsed['district']}”可能指：{names}，请核实")
        elif parsed["province"]:
            return _partial(table, parsed, bureau_code)
        else:
            return _flagged("unparsed", parsed)
    code = place["code"]
    bureau = table.bureau_of(code)
    route = {**place, "district_code": code, "bureau": bureau, "unit": None, "basis": basis, "transfer": None}
    district = table.districts.get(code)
    if district is not None:
        route["unit"] = district.unit
    return _judge(route, bureau_code)


def _partial(table, parsed: dict, bureau_code: str) -> dict:
    """The province is known but not the district: the bureau can still be told."""
    province_code = next((c for c, p in _province_names().items() if p == parsed["province"]), None)
    bureau = table.bureau_of(province_code) if province_code else None
    route = {**parsed, "district_code": None, "bureau": bureau, "unit": None, "basis": "address", "transfer": None}
    route = _judge(route, bureau_code)
    if route["flag"] is None:
        route.update(status="flagged", flag="no_district", message=FLAGS["no_district"])
    return route


@cache
def _province_names() -> dict[str, str]:
    return {_province_code(p["code"]): p["province"] for p in _divisions()[0].values()}


def _judge(route: dict, bureau_code: str) -> dict:
    if route["bureau"] is None:
        return {**route, "status": "flagged", "flag": "outside_region", "message": FLAGS["outside_region"]}
    if route["bureau"] != bureau_code:
        transfer = {"bureau": route["bureau"], "reason": f"污染源位于{route['province']}{route['district'] or ''}"}
        return {**route, "status": "flagged", "flag": "cross_border", "message": FLAGS["cross_border"],
                "transfer": transfer}  # fmt: skip
    return {**route, "status": "routed", "flag": None, "message": None}


def _flagged(flag: str, parsed: dict, message: str | None = None) -> dict:
    return {
        **parsed, "district_code": None, "bureau": None, "unit": None, "basis": "address", "transfer": None,
        "status": "flagged", "flag": flag, "message": message or FLAGS[flag],
    }  # fmt: skip
