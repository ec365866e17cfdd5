def test_general_case_from_intake_to_closure(api):
    case_no = api.to_handling()
    api.ok(case_no, "contact", "bj-officer", method="phone")
    api.ok(case_no, "reply", "bj-officer", result="已责令整改", text="经核查问题属实，已责令整改。")
    closed = api.ok(case_no, "follow_up", "bj-intake", resolved=True, satisfaction="satisfied")
    assert closed["state"] == "closed"
    assert closed["closed_at"] is not None
