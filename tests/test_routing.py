"""属地派单: a complaint's address places it in a district, names the bureau and the default unit,
and flags what the dispatcher must decide: another bureau's source, an ambiguous or unreadable place."""

import pytest

from ecoflow.routing import route_address


@pytest.fixture
def route(app):
    table = app.extensions["ecoflow.norm"].routing
    return lambda address, bureau="BJ", code=None: route_address(table, address, bureau, code)


@pytest.mark.parametrize(
    ("address", "bureau", "district", "code", "unit"),
    [
        ("北京市通州区梨园镇云景里小区3号楼", "BJ", "通州区", "110112", "tongzhou"),
        ("北京朝阳望京西园三区", "BJ", "朝阳区", "110105", "chaoyang"),
        ("北京市海淀区中关村大街1号", "BJ", "海淀区", "110108", None),
        ("天津市武清区下朱庄街道工业园", "TJ", "武清区", "120114", "wuqing"),
        ("天津市滨海新区大港石化产业园区", "TJ", "滨海新区", "120116", "binhai"),
        ("河北省廊坊市三河市燕郊镇化工园", "HE", "三河市", "131082", "sanhe"),
        ("三河市燕郊镇", "HE", "三河市", "131082", "sanhe"),
        ("涿州市码头镇拒马河", "HE", "涿州市", "130681", "zhuozhou"),
        ("保定市涿州市双塔街道", "HE", "涿州市", "130681", "zhuozhou"),
        ("石家庄市桥西区中山西路", "HE", "桥西区", "130104", None),
    ],
)
def test_addresses_of_the_three_regions_are_routed_to_their_district_and_unit(route, address, bureau, district,
                                                                               code, unit):  # fmt: skip
    result = route(address, bureau)

    assert (result["status"], result["flag"]) == ("routed", None)
    assert (result["district"], result["district_code"], result["bureau"], result["unit"]) == (
        district, code, bureau, unit
    )  # fmt: skip


def test_a_district_name_shared_across_provinces_is_resolved_only_by_the_receiving_bureau(route):
    # 朝阳区 is in Beijing and in Changchun; 和平区 in Tianjin and Shenyang.
    beijing = route("朝阳区望京西园三区", "BJ")
    assert (beijing["district_code"], beijing["basis"], beijing["flag"]) == ("110105", "receiving_bureau", None)
    tianjin = route("和平区南京路", "TJ")
    assert (tianjin["district_code"], tianjin["flag"]) == ("120101", None)

    # The Tianjin bureau cannot tell which 朝阳区 is meant: it does not guess.
    unknown = route("朝阳区望京西园三区", "TJ")
    assert unknown["flag"] == "ambiguous"
    assert unknown["district_code"] is None and unknown["bureau"] is None
    assert "北京市" in unknown["message"]
    # 桥西区 exists twice in Hebei alone (石家庄, 张家口) and elsewhere: still ambiguous for Hebei.
    assert route("桥西区", "HE")["flag"] == "ambiguous"


def test_a_short_name_alone_is_taken_only_inside_the_receiving_bureau(route):
    # "工业园区" is also the short name of 河南濮阳工业园区: not taken for it.
    park = route("某工业园区东门", "BJ")
    assert (park["flag"], park["district_code"], park["province"]) == ("ambiguous", None, None)
    assert "河南省" in park["message"]
    # 三河 without 市 or 廊坊: the Hebei bureau's own 三河市, but for Beijing only a guess.
    assert (route("三河燕郊", "HE")["district_code"], route("三河燕郊", "HE")["flag"]) == ("131082", None)
    assert route("三河燕郊", "BJ")["flag"] == "ambiguous"


def test_a_source_across_the_border_is_flagged_with_the_transfer_it_suggests(route):
    result = route("河北省廊坊市三河市燕郊镇化工园", "BJ")

    assert result["flag"] == "cross_border"
    assert result["district_code"] == "131082"
    assert result["transfer"] == {"bureau": "HE", "reason": "污染源位于河北省三河市"}
    # Without its district, the province still says whose it is.
    assert route("河北省廊坊市", "BJ")["transfer"]["bureau"] == "HE"
    assert route("河北省廊坊市", "HE")["flag"] == "no_district"


@pytest.mark.parametrize(
    ("address", "flag"),
    [
        ("asdfgh", "unparsed"),
        ("我家楼下", "unparsed"),
        ("！！！？？", "unparsed"),
        ("燕郊镇化工园", "unparsed"),  # a town without its county: not guessed
        ("辽宁省沈阳市和平区", "outside_region"),
        ("北京市", "no_district"),
        ("北京市经济技术开发区", "no_district"),
    ],
)
def test_unreadable_incomplete_or_foreign_addresses_are_flagged_never_guessed(route, address, flag):
    result = route(address, "BJ")

    assert result["flag"] == flag
    assert result["district_code"] is None or flag == "outside_region"
    assert result["message"]


def test_a_given_district_code_wins_over_the_text(route):
    result = route("燕郊镇化工园", "HE", "131082")
    assert (result["district"], result["basis"], result["flag"]) == ("三河市", "given_code", None)


def test_registration_stores_the_district_code_and_the_flag(api):
    routed = api.register()
    assert routed["location"]["district"] == "110112"
    assert routed["routing"]["unit"] == "tongzhou" and routed["routing"]["flag"] is None

    crossing = api.register(location={"address": "河北省廊坊市三河市燕郊镇化工园"})
    assert crossing["routing"]["flag"] == "cross_border"
    assert crossing["routing"]["transfer"]["bureau"] == "HE"
    assert crossing["location"]["district"] == "131082"
    assert crossing["suggestion"]["grade"] == "key"  # cross-border cases are key by the norm
    assert "污染源位于其他省市（跨界） → 重点" in crossing["suggestion"]["reasons"]

    register = api.events(crossing["case_no"])[0]
    assert (register["data"]["district"], register["data"]["routing_flag"]) == ("131082", "cross_border")

    garbage = api.register(location={"address": "不知道在哪"})
    assert garbage["routing"]["flag"] == "unparsed" and garbage["location"]["district"] is None

    # The dispatcher finds what needs a decision.
    flagged = api.get("/api/v1/complaints?routing_flag=cross_border", "bj-dispatcher").json
    assert [c["case_no"] for c in flagged["items"]] == [crossing["case_no"]]


def test_addresses_parsed_by_many_threads_at_once_are_placed_as_one_at_a_time(app):
    """gthread workers parse in several threads; the parser must not mix up their addresses."""
    from concurrent.futures import ThreadPoolExecutor

    from ecoflow.routing import parse_address

    places = ["北京市通州区梨园镇", "天津市武清区下朱庄街道", "河北省廊坊市三河市燕郊镇", "保定市涿州市双塔街道",
              "北京市海淀区中关村大街", "天津市滨海新区大港"]  # fmt: skip
    addresses = [f"{places[n % len(places)]}{n}号院" for n in range(240)]
    parse_address.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(parse_address, addresses))
    parse_address.cache_clear()

    assert together == [parse_address(address) for address in addresses]


def test_addresses_that_plainly_name_their_district_are_placed_as_the_parser_places_them(app, monkeypatch):
    """The quick way (one pass of an automaton) must agree with jionlp wherever it answers at all: every
    district of the three regions, written the ways people write them. Where they differ, jionlp could
    not name the district (it cuts 廊坊经济技术开发区 to 经济技术开发区) and the quick way names it."""
    from ecoflow import routing

    table = app.extensions["ecoflow.norm"].routing
    places = [p for p in routing._divisions()[0].values() if p["code"][:2] in ("11", "12", "13")]
    addresses = [
        form.format(**place)
        for place in places
        for form in ("{province}{city}{district}人民路8号", "{city}{district}工业园区3号院", "{district}建设大街2号")
    ]
    assert len(places) > 150

    quick = [routing.route_address(table, address, "BJ") for address in addresses]
    answered = sum(1 for address in addresses if routing.plainly_named(address))
    monkeypatch.setattr(routing, "plainly_named", lambda address: None)
    parsed = [routing.route_address(table, address, "BJ") for address in addresses]

    differ = [(address, q, p) for address, q, p in zip(addresses, quick, parsed, strict=True) if q != p]
    assert [(a, q["district_code"]) for a, q, p in differ if p["district_code"] is not None] == []
    assert all(q["district"] in address and "开发区" in address for address, q, _ in differ)
    assert answered > len(places) / 2
