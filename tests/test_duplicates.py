"""重复诉求: at intake, earlier complaints about the same source are found with the reason they
match, offered for merging, and the third within the repeat window is suggested as key."""

from datetime import timedelta

from ecoflow.timeutil import utcnow

SMELL = "小区旁边的工厂每天晚上排放废气，异味很重。"


def register_at(api, days_ago, address, description=SMELL, at_home=False, **fields):
    received_at = (utcnow() - timedelta(days=days_ago)).isoformat()
    location = {"address": address, "at_home": at_home}
    return api.register(received_at=received_at, location=location, description=description, **fields)


def test_a_similar_complaint_in_the_same_district_is_found_with_its_reason(api):
    first = register_at(api, 3, "北京市通州区梨园镇云景里小区3号楼", at_home=True)  # the complainant's home
    register_at(api, 2, "北京市通州区梨园镇某工地", description="工地夜间施工噪音扰民，凌晨还在打桩。")
    register_at(api, 2, "北京市朝阳区望京西园三区")  # the same words, another district
    register_at(api, 40, "北京市通州区梨园镇云景里小区5号楼")  # outside the window

    second = register_at(api, 1, "北京市通州区梨园镇云景里小区北门", description="工厂晚上排废气，味道很重")

    duplicates = second["suggestion"]["duplicates"]
    assert [d["case_no"] for d in duplicates] == [first["case_no"]]
    assert duplicates[0]["reason"].startswith("同一区县，类别重叠（大气），描述相似度")

    listed = api.get(f"/api/v1/complaints/{second['case_no']}/duplicates", "bj-intake").json
    assert [(d["case_no"], d["reason"]) for d in listed] == [(first["case_no"], duplicates[0]["reason"])]
    assert listed[0]["address"].endswith("****")  # the candidate's place, its complainant's home, stays masked


def test_the_same_address_matches_whatever_the_words(api):
    first = register_at(api, 5, "北京市通州区永顺镇垃圾转运站", description="垃圾转运站臭味很大。")

    second = register_at(api, 0, "北京市通州区永顺镇垃圾转运站", description="夏天这里苍蝇特别多。")

    assert second["suggestion"]["duplicates"][0]["case_no"] == first["case_no"]
    assert second["suggestion"]["duplicates"][0]["reason"].startswith("同一地址")


def test_duplicates_of_a_complaint_not_yet_registered(api):
    first = register_at(api, 1, "北京市通州区梨园镇云景里小区3号楼")
    body = {"channel": "online", "type": "complaint", "description": SMELL,
            "location": {"address": "北京市通州区梨园镇云景里小区3号楼"}}  # fmt: skip

    response = api.post("/api/v1/complaints/duplicates", "bj-intake", json=body)

    assert response.status_code == 200
    assert [d["case_no"] for d in response.json] == [first["case_no"]]
    assert api.get("/api/v1/complaints", "bj-intake").json["total"] == 1  # nothing was registered
    assert api.post("/api/v1/complaints/duplicates", "bj-intake", json={"type": "x"}).status_code == 422
    assert api.post("/api/v1/complaints/duplicates", "tj-intake", json={**body, "bureau": "BJ"}).status_code == 403


def test_the_third_complaint_on_one_source_within_30_days_is_suggested_key_and_can_be_merged(api):
    first = register_at(api, 20, "北京市通州区宋庄镇小堡村", description="化工厂晚上排放废气，异味很重。")
    second = register_at(api, 10, "北京市通州区宋庄镇小堡村东口", description="化工厂晚上又在排放废气，异味很重。")
    assert second["suggestion"]["grade"] == "general"

    third = register_at(api, 0, "北京市通州区宋庄镇小堡村西", description="化工厂晚上排放废气，异味太重了。")

    assert third["suggestion"]["grade"] == "key"
    assert any("第3次" in reason for reason in third["suggestion"]["reasons"])
    assert {d["case_no"] for d in third["suggestion"]["duplicates"]} == {first["case_no"], second["case_no"]}

    merged = api.ok(third["case_no"], "merge", "bj-intake", into=first["case_no"])
    assert (merged["state"], merged["merged_into"]) == ("merged", first["case_no"])


def test_another_bureau_cannot_read_the_duplicates_of_a_case(api):
    case_no = api.register()["case_no"]
    assert api.get(f"/api/v1/complaints/{case_no}/duplicates", "tj-intake").status_code == 403


def test_a_graded_case_matches_by_the_categories_it_was_graded_with_not_those_suggested(api):
    noise_only = register_at(api, 3, "北京市通州区梨园镇云景里小区3号楼")
    air_and_noise = register_at(api, 2, "北京市通州区梨园镇云景里小区7号楼")
    for case_no, categories in ((noise_only["case_no"], ["noise"]), (air_and_noise["case_no"], ["noise", "air"])):
        api.ok(case_no, "accept", "bj-intake")
        api.ok(case_no, "grade", "bj-dispatcher", grade="general", categories=categories)

    smell = register_at(api, 1, "北京市通州区梨园镇云景里小区北门", description="工厂晚上排废气，味道很重")

    # Both were suggested 大气 at intake; the dispatcher graded the first as 噪声 only.
    duplicates = smell["suggestion"]["duplicates"]
    assert [d["case_no"] for d in duplicates] == [air_and_noise["case_no"]]
    assert duplicates[0]["reason"].startswith("同一区县，类别重叠（大气），描述相似度")
