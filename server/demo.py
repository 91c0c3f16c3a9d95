"""Demo data for both rules profiles: the organisation trees, users of every role, and households at
every stage of the procedure.  Everything goes through the operations layer, so the demo cases have
the same history and audit trail a real case would have.

The 12 street offices of 管城回族区 are those named in the guancheng seed; the 宜君县 townships and every
community, village, person and ID number are invented for the demo.
"""

from __future__ import annotations

import datetime as dt
import random

from server import services, today
from server.domain.declaration import Declaration, parse_declaration
from server.domain.ids import check_character
from server.domain.workflow import STATES, certificate_valid_until
from server.extensions import db
from server.models import User
from server.operations.accounts import add_unit, add_user
from server.operations.cases import perform, register_application
from server.operations.visits import assign_visit

DEMO_PASSWORD = "ruhu-demo-2026"
# The account `ruhu demo logins` checks a password against (every demo account gets the same one).
PROBE_ACCOUNT = "gc_admin"

GUANCHENG_OFFICES = [  # (code suffix, name, slug)
    ("001", "南曹街道办事处", "nancao"), ("002", "十八里河街道办事处", "shibalihe"),
    ("003", "北下街街道办事处", "beixiajie"), ("004", "西大街街道办事处", "xidajie"),
    ("005", "南关街街道办事处", "nanguanjie"), ("006", "城东路街道办事处", "chengdonglu"),
    ("007", "东大街街道办事处", "dongdajie"), ("008", "二里岗街道办事处", "erligang"),
    ("009", "陇海马路街道办事处", "longhaimalu"), ("010", "紫荆山南路街道办事处", "zijingshannanlu"),
    ("011", "航海东路街道办事处", "hanghaidonglu"), ("012", "金岱街道办事处", "jindai"),
]
YIJUN_OFFICES = [  # (code suffix, name, level, slug)
    ("001", "宜阳街道办事处", "street_office", "yiyang"), ("002", "彭镇", "township", "pengzhen"),
    ("003", "五里镇", "township", "wuli"), ("004", "太安镇", "township", "taian"),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "建国秀英桂兰志强海燕春梅文华国庆玉珍小红明杰淑芬丽娟红霞永刚德胜金凤晓东"



def _id_number(rng: random.Random, region: str, born: dt.date, male: bool) -> str:
    seq = rng.randrange(10, 99) * 10 + (rng.choice((1, 3, 5, 7, 9)) if male else rng.choice((0, 2, 4, 6, 8)))
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


def _members(rng: random.Random, region: str, on: dt.date) -> list[dict]:
    size = rng.choice((1, 2, 3, 3, 4))
    surname = rng.choice(SURNAMES)
    head_born = dt.date(rng.randrange(1950, 1990), rng.randrange(1, 13), rng.randrange(1, 29))
    members = [{"name": surname + "".join(rng.sample(GIVEN, 2)), "relation": "head", "hukou_place": "本地",
                "id_number": _id_number(rng, region, head_born, True), "unemployed": True,
                "disabled": rng.random() < 0.2}]
    for i in range(1, size):
        if i == 1:
            born = dt.date(head_born.year + rng.randrange(-3, 4), rng.randrange(1, 13), rng.randrange(1, 29))
            name, relation, male = _name(rng), "spouse", False
        else:
            born = dt.date(min(on.year - 1, head_born.year + 24 + i), rng.randrange(1, 13), rng.randrange(1, 29))
            name, relation, male = surname + "".join(rng.sample(GIVEN, 2)), "child", rng.random() < 0.5
        members.append({"name": name, "relation": relation, "id_number": _id_number(rng, region, born, male),
                        "student": relation == "child" and on.year - born.year < 23,
                        "seriously_ill": rng.random() < 0.15, "hukou_place": "本地"})
    return members


def _declaration(rng: random.Random) -> Declaration:
    # Below every shipped standard per person (the demo's approved households qualify, and the check says so).
    form = {f"income_wages_{m}": str(rng.randrange(1, 450)) for m in range(1, 7)}
    form["property_housing"] = "自有住房一套，约45平方米"
    declaration, errors = parse_declaration(form)
    assert declaration is not None and not errors
    return declaration


def _build_units(password: str) -> dict[str, dict]:
    """The two organisation trees with their staff.  Returns per-office info for the case builder."""
    offices: dict[str, dict] = {}
    profiles = services().profiles
    gc = add_unit("410104", "管城回族区", "district", "guancheng", name_en="Guancheng Hui District",
                  known_profiles=profiles, actor_label="demo")
    yj = add_unit("610222", "宜君县", "district", "yijun", name_en="Yijun County", known_profiles=profiles,
                  actor_label="demo")
    add_user("gc_bureau", "bureau_supervisor", "410104", password, "管城区民政局 监管员")
    add_user("gc_admin", "admin", "410104", password, "管城区 系统管理员")
    add_user("yj_bureau", "bureau_supervisor", "610222", password, "宜君县民政局 监管员")
    add_user("yj_admin", "admin", "610222", password, "宜君县 系统管理员")
    specs = [(gc, "410104" + s, n, "street_office", slug, "guancheng", ("和平社区", "幸福社区"), "community")
             for s, n, slug in GUANCHENG_OFFICES]
    specs += [(yj, "610222" + s, n, lvl, slug, "yijun",
               ("城关社区", "东关社区") if lvl == "street_office" else (n[:-1] + "村", "西河村"),
               "community" if lvl == "street_office" else "village") for s, n, lvl, slug in YIJUN_OFFICES]
    for district, code, name, level, slug, profile, subs, sublevel in specs:
        office = add_unit(code, name, level, profile, district, known_profiles=profiles, actor_label="demo")
        short = name.replace("街道办事处", "").replace("办事处", "")
        communities = []
        for i, sub in enumerate(subs, start=1):
            label = short + sub if profile == "guancheng" else sub
            c = add_unit(f"{code}{i:03d}", label, sublevel, profile, office, known_profiles=profiles,
                         actor_label="demo")
            if profile == "yijun":
                add_unit(f"{code}{i:03d}01", label.replace("社区", "").replace("村", "") + "一组", "natural_village",
                         profile, c, known_profiles=profiles, actor_label="demo")
            communities.append(c)
        staff = {}
        for role, label in (("caseworker", "经办人"), ("leader", "分管领导"), ("director", "主任")):
            staff[role] = add_user(f"{slug}_{role}", role, code, password, f"{short}{label}")
        staff["inv"] = add_user(f"{slug}_inv1", "investigator", code, password, f"{short}调查员")
        staff["community_inv"] = {c.id: add_user(f"{slug}_inv{i}", "investigator", c.code, password,
                                                 f"{c.name}调查员") for i, c in enumerate(communities, start=2)}
        offices[slug] = {"office": office, "communities": communities, "staff": staff, "profile": profile,
                         "region": code[:6]}
    db.session.commit()
    return offices


AGE = {"accepted": 4, "visited": 7, "review_signing": 1, "objection": 3}  # working days since the last step


def _plan(target: str, has_meeting: bool) -> list[str]:
    """The actions that take a newly registered case to ``target``."""
    if target == "application":
        return ["notify_missing"]
    if target == "abandoned":
        return ["accept", "abandon"]
    path = ["accept"]
    for action, reached in (
            ("request_verification", None), ("record_home_visit", "visited"),
            ("record_verification_report", None), ("record_appraisal", "appraised"),
            ("review_opinion", "review_signing"), ("sign_review", "reviewed")):
        if target == "accepted":
            return path
        path.append(action)
        if reached == target:
            return path
    if target == "refused":
        return path + ["refuse"]
    if has_meeting:
        path.append("record_meeting")
        if target == "meeting_held":
            return path
    path.append("open_publicity")
    if target in ("publicity", "objection"):
        return path + (["record_objection"] if target == "objection" else [])
    for action, reached in (("close_publicity", "publicity_closed"), ("approve", "approved"),
                            ("issue_certificate", "certified"), ("start_payment", "in_payment")):
        path.append(action)
        if reached == target:
            return path
    return path + [{"rereview": "start_rereview", "gradual_exit": "start_gradual_exit", "stopped": "stop"}[target]]


def _dates(path: list[str], end: dt.date, cal, min_days: int) -> list[dt.date]:
    """Step dates, one working day apart, ending on ``end``; publicity lasts ``min_days`` calendar days."""
    dates, day = [], end
    for action in reversed(path):
        dates.append(day)
        gap = min_days if action == "close_publicity" else 1
        for _ in range(gap):
            day -= dt.timedelta(days=1)
            while action != "close_publicity" and not cal.is_workday(day):
                day -= dt.timedelta(days=1)
    return list(reversed(dates))


def _publicity_units(case, profile) -> list[str]:
    """The units standing for the boards of every level the profile publicises on (before boards exist)."""
    levels = profile.publicity.board_levels
    codes = [case.office.code] if {"township", "street_office"} & set(levels) else []
    codes.append(case.community.code)
    if "natural_village" in levels:
        codes += [u.code for u in case.community.children if u.level == "natural_village"]
    return codes


def _payload(action: str, case, target: str, info: dict, day: dt.date) -> dict:
    inv1, inv2 = info["staff"]["inv"], info["staff"]["community_inv"][case.community_unit_id]
    profile = services().profiles[info["profile"]]
    refuse = target == "refused"
    if action == "record_appraisal":
        panel = [{"name": "街道工作人员", "category": "office_staff", "signed": True},
                 {"name": "居委会委员", "category": "committee", "signed": True}]
        panel += [{"name": f"居民代表{i}", "category": "resident", "signed": True} for i in range(1, 5)]
        return {"panel": panel, "conclusion": "agree", "appraisal_on": day,
                "minutes": "宣讲政策、介绍情况、现场评议，评议人员一致认为申报情况属实。"}
    if action == "issue_certificate":   # valid from the approval, for the profile's months
        months = services().profiles[case.profile_id].certificate.validity_months
        return {"number": f"DB{case.number}", "valid_from": case.decided_on,
                "valid_until": certificate_valid_until(case.decided_on, months)}
    return {
        "notify_missing": {},
        "accept": {"applicant_signed": True, "accepted_on": day,
                   "fingerprint_file": _demo_fingerprint(info["staff"]["caseworker"]) if profile.intake.fingerprint
                   else None},
        "abandon": {"reason": "申请人拒绝配合入户调查，视为放弃申请。"},
        "request_verification": {"members": [m.id for m in case.household.members], "requested_on": day},
        "record_home_visit": {"investigators": [inv1.id, inv2.id], "signed": [inv1.id, inv2.id],
                              "applicant_signed": True, "visit_on": day},
        "record_verification_report": {"report_on": day, "found_income_6m": str(case.declared_income_6m)},
        "review_opinion": {"recommendation": "refuse" if refuse else "approve",
                           "assessed_income_6m": case.declared_income_6m, "property_checked": True,
                           "opinion": "经核对，家庭人均收入高于当地保障标准，拟不予批准。" if refuse
                           else "经核对报告复核，申报属实，符合低保条件，拟批准。"},
        "sign_review": {"signature": "demo", "opinion": "同意经办人意见。"},
        "refuse": {"reasons": "家庭人均收入高于当地最低生活保障标准，不符合条件。"},
        "record_meeting": {"record": "会议研究了拟保障意见，同意公示。", "decision": "approve", "attendees": ["王镇长", "李干事"]},
        "open_publicity": {"boards": _publicity_units(case, profile)},
        "record_objection": {"text": "邻居反映该户有一辆自用小汽车未申报。", "source": "board"},
        "close_publicity": {},
        "approve": {"signature": "demo", "opinion": "同意。"},
        "start_payment": {},
        "start_rereview": {"reason": "半年定期复核"},
        "start_gradual_exit": {"reasons": "户主实现就业，家庭收入超过标准，按规定渐退。"},
        "stop": {"reasons": "家庭成员户籍迁出本区，不再符合条件。"},
    }[action]


def _demo_fingerprint(user: User) -> str:
    """A drawn stand-in for the applicant's fingerprint photo (yijun: 签字并按手印)."""
    import io

    from PIL import Image, ImageDraw

    from server.operations.attachments import save

    img = Image.new("RGB", (120, 160), "white")
    draw = ImageDraw.Draw(img)
    for r in range(8, 60, 7):
        draw.ellipse([(60 - r, 80 - r * 1.3), (60 + r, 80 + r * 1.3)], outline=(150, 30, 30), width=3)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return save(buf.getvalue(), declared_type="image/png", user=user)


def _who(action: str, staff: dict) -> User:
    if action == "record_home_visit":
        return staff["inv"]
    if action == "sign_review":
        return staff["leader"]
    if action in ("approve", "refuse", "start_gradual_exit", "stop"):
        return staff["director"]
    return staff["caseworker"]


PHONE_WORK = {"accepted": "home_visit", "visited": "appraisal"}   # what the demo sends to the phones


def demo_password() -> str:
    """The demo accounts' password unless one is given: RUHU_DEMO_PASSWORD, else the built-in one."""
    from flask import current_app

    return current_app.config.get("RUHU_DEMO_PASSWORD") or DEMO_PASSWORD


def load_demo(password: str | None = None) -> str:
    """Create the demo organisation, staff and cases (every account with ``password``, default
    :func:`demo_password`).  Returns the logins to print."""
    password = password or demo_password()
    rng = random.Random(20201209)
    offices = _build_units(password)
    now = today()
    cal = services().calendar
    for slug in ("nanguanjie", "erligang", "pengzhen", "yiyang"):
        info = offices[slug]
        profile = services().profiles[info["profile"]]
        if slug in ("nanguanjie", "pengzhen"):   # one case at every stage
            targets = [s for s in STATES if s != "meeting_held" or profile.has_meeting]
        else:
            targets = ["in_payment", "in_payment", "accepted", "publicity"]
        required = [m.code for m in profile.materials if m.required]
        for n, target in enumerate(targets):
            community = info["communities"][n % 2]
            path = _plan(target, profile.has_meeting)
            end = now
            for _ in range(AGE.get(target, n % 2)):
                end -= dt.timedelta(days=1)
                while not cal.is_workday(end):
                    end -= dt.timedelta(days=1)
            dates = _dates(path, end, cal, profile.publicity.minimum)
            applied = dates[0] - dt.timedelta(days=1)
            members = _members(rng, info["region"], now)
            papers = sorted({code for flag, code in profile.situational if any(m.get(flag) for m in members)})
            case = register_application(
                community=community, members=members, actor=info["staff"]["caseworker"],
                today=applied, applied_on=applied,
                address=f"{community.name}{rng.randrange(1, 30)}号楼{rng.randrange(1, 6)}单元",
                area="urban" if community.level == "community" else "rural",
                household_class=rng.choice(("stable", "irregular_income", "able_to_work")),
                phone=f"139{rng.randrange(10**7, 10**8)}",
                materials=required[:-1] if target == "application" else required + papers,
                declaration=_declaration(rng),
                staff_relative=(n == 3), staff_relative_note="户主为本单位工作人员的近亲属" if n == 3 else "")
            for action, day in zip(path, dates, strict=True):
                perform(case, action, _who(action, info["staff"]), _payload(action, case, target, info, day),
                        today=day)
            assert case.status == target, (slug, target, case.status)
            if slug in ("nanguanjie", "pengzhen") and target in PHONE_WORK:
                # Something for the demo phones: the home visit, then the appraisal record.
                staff = info["staff"]
                team = [staff["inv"].id, staff["community_inv"][case.community_unit_id].id]
                assign_visit(case, staff["caseworker"], team, kind=PHONE_WORK[target], today=now)
    from server.operations.boards import create_demo_boards
    from server.operations.oversight import create_demo_oversight
    from server.operations.rosters import create_demo_rosters

    create_demo_boards()
    create_demo_rosters()
    create_demo_oversight(password)
    return describe_logins(password)


def loaded_password() -> str | None:
    """The password the demo accounts were loaded with, when it is RUHU_DEMO_PASSWORD or the built-in one
    (checked against a demo account's hash: the password itself is kept nowhere); else None."""
    from sqlalchemy import select

    user = db.session.scalar(select(User).where(User.username == PROBE_ACCOUNT))
    for candidate in dict.fromkeys((demo_password(), DEMO_PASSWORD)):
        if user is not None and user.check_password(candidate):
            return candidate
    return None


def describe_logins(password: str | None) -> str:
    """The demo accounts; ``password`` None: the one given to ``ruhu demo load --password`` (not known here)."""
    pw = password or ("运行 ruhu demo load --password 时给出的密码 / the one given to ruhu demo load --password")
    lines = [
        "演示账户 / demo logins (password / 密码: " + pw + ")",
        "  管城回族区 guancheng — 南关街街道办事处:",
        "    nanguanjie_caseworker  经办人 caseworker",
        "    nanguanjie_leader      分管领导 leader",
        "    nanguanjie_director    主任 director",
        "    nanguanjie_inv1 (office) / nanguanjie_inv2, nanguanjie_inv3 (communities)  调查人员 investigators",
        "    gc_bureau, gc_bureau2  区民政局 bureau supervisors;  gc_admin  administrator",
        "  宜君县 yijun — 彭镇:",
        "    pengzhen_caseworker / pengzhen_leader / pengzhen_director / pengzhen_inv1..3",
        "    yj_bureau, yj_bureau2  县民政局 bureau supervisors;  yj_admin  administrator",
        "  every office has the same accounts: <slug>_caseworker ... (ruhu users list)",
    ]
    return "\n".join(lines)
