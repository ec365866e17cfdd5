"""Demo data: the three bureaus, their units and officers, and complaints in every state,
taken through the same services an officer uses, so every demo case has its clocks and trail."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from .casework import engine
from .complaints import intake
from .exchange.trust import get_trust
from .extensions import db
from .norm.current import get_norm
from .officers.models import Bureau, Officer, RoleGrant, Unit
from .officers.services import hash_password
from .timeutil import utcnow

PASSWORD = "ecoflow-demo"
ROLES = ("intake", "dispatcher", "officer", "supervisor", "leader", "admin")

UNITS = {
    "BJ": [("tongzhou", "通州分局", "110112"), ("chaoyang", "朝阳分局", "110105"),
           ("enforcement", "执法总队", None), ("supervision", "督办室", None)],
    "TJ": [("wuqing", "武清分局", "120114"), ("binhai", "滨海新区分局", "120116"),
           ("enforcement", "执法总队", None), ("supervision", "督办室", None)],
    "HE": [("sanhe", "廊坊市三河市分局", "131082"), ("zhuozhou", "保定市涿州市分局", "130681"),
           ("enforcement", "执法总队", None), ("supervision", "督办室", None)],
}  # fmt: skip

NAMES = {
    "BJ": ["王丽", "张建国", "李明", "赵志强", "陈静", "刘洋"],
    "TJ": ["孙敏", "周海涛", "吴磊", "郑红", "冯军", "何平"],
    "HE": ["马兰", "胡斌", "郭伟", "林峰", "高燕", "罗军"],
}

# (channel, type, description, address, complainant, phone, how far the demo takes it)
COMPLAINTS = {
    "BJ": [
        ("hotline_12345", "complaint", "小区东侧工地夜间施工噪音扰民，凌晨一点还在打桩。", "北京市通州区梨园镇云景里小区东侧工地", "张伟", "13811112201", "closed"),
        ("hotline_12345", "complaint", "每天傍晚闻到刺鼻的化工异味，怀疑来自东边的工厂，窗户都不敢开。", "北京市通州区宋庄镇小堡村", "李娜", "13811112202", "handling"),
        ("hotline_12369", "report", "河道里有大量死鱼，水面发黑发臭，疑似有人偷排废水。", "北京市通州区潮白河西岸漷县段", "王强", "13811112203", "assigned_urgent"),
        ("online", "complaint", "烧烤店油烟直排，楼上住户家里全是油烟味。", "北京市朝阳区望京西园三区", "刘芳", "13811112204", "replied"),
        ("hotline_12345", "complaint", "建筑垃圾堆在路边一个多月无人清运，扬尘严重。", "北京市朝阳区十八里店乡周庄村", "陈杰", "13811112205", "graded"),
        ("letter", "report", "某印刷厂无环评手续生产，废气直排，多次反映未解决。", "北京市朝阳区黑庄户乡万子营村", "杨静", "13811112206", "verifying"),
        ("hotline_12345", "consult", "想咨询一下装修噪声的允许时间段是几点到几点？", "北京市朝阳区双井街道", "黄磊", "13811112207", "accepted"),
        ("hotline_12345", "complaint", "夜间施工噪音扰民，凌晨一点还在打桩，已经第二次反映。", "北京市通州区梨园镇云景里小区东侧工地", "张伟", "13811112201", "merged"),
        ("visit", "complaint", "邻居家空调外机噪音大。", "北京市朝阳区望京街道", "周敏", "13811112209", "rejected"),
        ("hotline_12345", "complaint", "垃圾转运站臭味很大，夏天尤其严重。", "北京市通州区永顺镇垃圾转运站", "吴刚", "13811112210", "received"),
        ("media", "complaint", "媒体报道：某搅拌站粉尘污染周边农田。", "北京市通州区马驹桥镇", "融媒体中心", "01088880001", "received"),
        ("hotline_12345", "complaint", "通州潞城一带夜里闻到刺鼻化工味，风从东边燕郊方向吹来。", "河北省廊坊市三河市燕郊镇化工园东侧", "赵敏", "13811112211", "received"),
    ],
    "TJ": [
        ("hotline_12345", "complaint", "工厂烟囱冒黑烟，附近都是烟味。", "天津市武清区下朱庄街道工业园", "孙丽", "13922223301", "handling"),
        ("hotline_12369", "report", "有人往河道倾倒垃圾和废料。", "天津市武清区北运河杨村段", "周杰", "13922223302", "closed"),
        ("online", "complaint", "化工园区附近闻到强烈刺鼻气味，怀疑泄漏。", "天津市滨海新区大港石化产业园区", "吴霞", "13922223303", "handling_urgent"),
        ("hotline_12345", "complaint", "夜间货车鸣笛噪声大。", "天津市滨海新区塘沽街道", "郑浩", "13922223304", "accepted"),
        ("hotline_12345", "suggest", "建议在公园增设分类垃圾桶。", "天津市武清区杨村街道", "王梅", "13922223305", "received"),
        ("letter", "report", "养殖场污水直排鱼塘，水体发黑。", "天津市武清区大良镇", "冯涛", "13922223306", "replied"),
    ],
    "HE": [
        ("hotline_12345", "complaint", "化工厂晚上排放废气，异味很重，整个镇都能闻到。", "河北省廊坊市三河市燕郊镇化工园", "马超", "13733334401", "handling"),
        ("hotline_12369", "report", "采砂场破坏河道湿地，大型机械日夜作业。", "河北省保定市涿州市码头镇拒马河", "胡静", "13733334402", "assigned"),
        ("hotline_12345", "complaint", "石料厂粉尘污染，车上落满灰。", "河北省廊坊市三河市黄土庄镇", "郭明", "13733334403", "closed"),
        ("online", "consult", "咨询一下危废处置需要什么资质？", "河北省保定市涿州市双塔街道", "林晓", "13733334404", "received"),
        ("hotline_12345", "complaint", "废品收购站焚烧电线，黑烟刺鼻。", "河北省廊坊市三河市杨庄镇", "高强", "13733334405", "graded"),
    ],
}  # fmt: skip

# The actions that take a complaint to each demo stage, after accept.
PATHS = {
    "received": [],
    "accepted": ["accept"],
    "rejected": ["reject"],
    "merged": ["merge"],
    "graded": ["accept", "grade"],
    "assigned": ["accept", "assign"],
    "assigned_urgent": ["accept", "assign"],
    "handling": ["accept", "assign", "sign", "contact", "record_progress"],
    "handling_urgent": ["accept", "assign", "sign", "contact"],
    "replied": ["accept", "assign", "sign", "contact", "reply"],
    "closed": ["accept", "assign", "sign", "contact", "reply", "follow_up"],
    "verifying": ["accept", "assign", "sign", "contact", "reply", "follow_up"],
}


def load_demo() -> bool:
    """Fill an empty database with the demo; False (and nothing done) if it holds data already."""
    if db.session.scalar(select(Bureau).limit(1)) is not None:
        return False
    norm = get_norm()
    hosted = get_trust().hosted  # one bureau's instance: only its people and cases
    now = utcnow()
    password_hash = hash_password(PASSWORD)
    for code, name in norm.catalog["bureaus"].items():
        db.session.add(Bureau(code=code, name=name))
        units = [Unit(bureau_code=code, code=c, name=n, district_code=d) for c, n, d in UNITS[code]]
        db.session.add_all(units)
        db.session.flush()
        if code not in hosted:
            continue
        for role, person in zip(ROLES, NAMES[code], strict=True):
            officer = Officer(
                username=f"{code.lower()}-{role}", name=person, password_hash=password_hash,
                bureau_code=code, unit_id=units[0].id if role == "officer" else None, is_demo=True,
            )  # fmt: skip
            officer.grants.append(RoleGrant(role=role, bureau_code=code))
            db.session.add(officer)
    # 京津冀协调办: sees the three bureaus' figures and gets the hotspot alerts.
    home = sorted(hosted)[0]
    coordinator = Officer(
        username="jjj-coordinator", name="京津冀协调办", password_hash=password_hash, bureau_code=home, is_demo=True
    )
    coordinator.grants.append(RoleGrant(role="coordinator", bureau_code=home))
    db.session.add(coordinator)
    db.session.flush()
    for code, complaints in COMPLAINTS.items():
        if code in hosted:
            _load_complaints(code, complaints, now)
    return True


def _load_complaints(code, complaints, now):
    people = {
        role: db.session.scalar(select(Officer).where(Officer.username == f"{code.lower()}-{role}")) for role in ROLES
    }
    first_case = None
    for index, (channel, kind, text, address, name, phone, stage) in enumerate(complaints):
        received_at = now - timedelta(days=len(complaints) - index, hours=index % 5)
        complaint, _ = intake.register_complaint(people["intake"], {
            "channel": channel, "type": kind, "description": text, "bureau": code,
            "external_id": f"{code}-DEMO-{index + 1:03d}" if channel.startswith("hotline") else None,
            "complainant": {"name": name, "phone": phone, "callback_consent": index % 2 == 0},
            "location": {"address": address}, "received_at": received_at,
        }, received_at + timedelta(minutes=3))  # fmt: skip
        first_case = first_case or complaint
        at = received_at + timedelta(minutes=10)
        for action in PATHS[stage]:
            data = _demo_fields(action, stage, complaint, first_case, people, code)
            actor = people[_actor_role(action)]
            engine.perform_action(actor, complaint, action, {**data, "version": complaint.version}, at)
            at += timedelta(hours=2)


def _actor_role(action):
    return {"accept": "intake", "reject": "intake", "merge": "intake", "follow_up": "intake",
            "grade": "dispatcher", "assign": "dispatcher"}.get(action, "officer")  # fmt: skip


def _demo_fields(action, stage, complaint, first_case, people, code):
    suggestion = complaint.suggestion
    grade = "urgent" if stage.endswith("urgent") else ("key" if stage == "verifying" else suggestion["grade"])
    fields = {
        "reject": {"reason": "属于邻里纠纷，不属于生态环境部门职责", "referred_to": "街道办事处"},
        "merge": {"into": first_case.case_no},
        "grade": {"grade": grade, "categories": suggestion["categories"]},
        "assign": {"unit": UNITS[code][0][0], "officer": people["officer"].username,
                   "grade": grade, "categories": suggestion["categories"]},
        "contact": {"method": "phone", "note": "已电话联系诉求人，说明将于近日现场核查。"},
        "record_progress": {"note": "执法人员已现场检查，责令整改并取样送检。"},
        "reply": {"result": "已查实并责令整改", "text": "经现场核查，问题属实，已责令企业立即整改，我局将持续跟踪。"},
        "follow_up": {"resolved": True, "satisfaction": "satisfied"},
    }  # fmt: skip
    return fields.get(action, {})
