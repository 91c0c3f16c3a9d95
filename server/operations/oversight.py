"""The district/county bureau's supervision: spot checks (抽检), the assessment of street offices and
townships (宜君 附件3), the "two rates" survey and the statistics of the bureau dashboard.

One function per use case, as elsewhere: load rows, call the pure cores (``server.domain.sampling``,
``server.domain.scoring``), persist, audit, commit.  Who may act: a bureau supervisor, for the street
offices / townships directly under their own district or county; anyone else is refused (403), and a
unit of another district does not exist for them (404).  The command line acts without a user
(``actor=None``, audited under its label).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from server import CHINA, services
from server.domain import sampling, scoring, workflow
from server.domain.scoring import ANNUAL, Judgement, Ratio
from server.extensions import db
from server.models import Attestation, Case, CaseEvent, Household, Unit, User, Visit, VisitAssignment
from server.models.orgs import OFFICE_LEVELS
from server.models.oversight import (
    RESPONDENTS,
    SPOT_CHECK_ACCURACY,
    AssessmentItem,
    RectificationNotice,
    SpotCheckDraw,
    SpotCheckResult,
    TwoRatesResponse,
)
from server.operations import OperationError, audit, check_length
from server.operations.visits import ASSIGNABLE, _team
from sync.merge import income_total

IN_PAYMENT = ASSIGNABLE["spot_check"]          # the households a spot check may visit
STRATA = ("new", "registered")                 # 新增 / 在册
STRATUM_NAMES = {"new": ("新增", "New"), "registered": ("在册", "Registered")}
ENTERED_KINDS = ("entered", "bonus", "deduction", "target")
# Two-rates answers (pwa/forms/two_rates.json, the public page, paper questionnaires): which count as
# "aware" and "satisfied".
KNOWS = {"aware": True, "partly": True, "unaware": False}
RATING = {"satisfied": True, "basically": True, "unsatisfied": False}
PAPER_BATCH_MAX = 500
EVIDENCE_MAX = 2000


# --- scope ---------------------------------------------------------------------------------------

def _forbidden() -> OperationError:
    return OperationError("role_not_permitted", "只有区（县）民政局监管人员可以办理", "only bureau supervisors may do this", 403)


def _not_found() -> OperationError:
    return OperationError("not_found", "未找到", "not found", 404)


def bureau_district(user: User) -> Unit:
    """The district/county a bureau supervisor oversees; anyone else is refused (403)."""
    if user is None or user.role != "bureau_supervisor" or user.unit.level != "district":
        raise _forbidden()
    return user.unit


def office_units(district: Unit) -> list[Unit]:
    """The street offices, townships and service centres directly under a district, by code."""
    return [u for u in district.children if u.level in OFFICE_LEVELS]


def _require(actor: User | None, unit: Unit) -> None:
    """``actor`` may supervise ``unit`` (an office under their district, or the district itself)."""
    if actor is None:
        return  # the command line
    district = bureau_district(actor)
    if unit.id != district.id and unit.parent_id != district.id:
        raise _not_found()


def unit_for(user: User, unit_id: Any) -> Unit:
    """An office of the user's district by id (404 for anything else)."""
    district = bureau_district(user)
    try:
        unit = db.session.get(Unit, int(unit_id))
    except (TypeError, ValueError):
        unit = None
    if unit is None or unit.parent_id != district.id or unit.level not in OFFICE_LEVELS:
        raise _not_found()
    return unit


def china_date(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:   # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(CHINA).date()


def profile_of(unit: Unit):
    return services().profiles[unit.profile_id]


def _check_year(year: Any, today: dt.date) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= today.year:
        raise OperationError("year_invalid", f"年度应在2000至{today.year}之间", f"the year must be from 2000 to {today.year}")
    return year


# --- spot checks: the draw -----------------------------------------------------------------------

def population(unit: Unit, year: int) -> list[dict[str, Any]]:
    """The unit's households in payment that a ``year`` draw covers, each "new" when approved in that
    year and "registered" when approved before (新增及在册保障对象)."""
    end = dt.date(year, 12, 31)
    cases = db.session.scalars(select(Case).where(Case.office_unit_id == unit.id, Case.status.in_(IN_PAYMENT),
                                                  Case.decided_on <= end).order_by(Case.id)).all()
    return [{"household": c.household_id, "case": c.id,
             "stratum": "new" if c.decided_on and c.decided_on.year == year else "registered"} for c in cases]


def annual_confirmed(district: Unit, year: int) -> bool:
    """Whether the year-end assessment of ``year`` was confirmed (its indicators fixed)."""
    ids = [u.id for u in office_units(district)]
    return bool(ids) and db.session.scalar(select(AssessmentItem.id).where(
        AssessmentItem.unit_id.in_(ids), AssessmentItem.year == year, AssessmentItem.quarter.is_(None),
        AssessmentItem.kind == "indicator").limit(1)) is not None


def last_places(district: Unit, year: int, today: dt.date) -> set[int]:
    """Units ranked last in ``year``'s confirmed year-end assessment (none when it was not confirmed)."""
    profile = profile_of(district)
    if not profile.assessment.enabled or not annual_confirmed(district, year):
        return set()
    ranked, _scores = ranking(district, year, today)
    return {r.unit.id for r in ranked if r.last}


def minimum_share(unit: Unit, year: int, today: dt.date, last: set[int] | None = None) -> tuple[Decimal, bool]:
    """The lowest share a ``year`` draw of ``unit`` may use, and whether it was raised because the unit
    ranked last the year before (第十一条)."""
    profile = profile_of(unit)
    if last is None:
        last = last_places(unit.parent, year - 1, today) if unit.parent is not None else set()
    raised = unit.id in last
    share = sampling.effective_share(profile.spot_check.share, last_place=raised,
                                     last_place_share=profile.assessment.last_place_share)
    return share, raised


def draw_spot_checks(unit: Unit, year: int, *, actor: User | None, today: dt.date, seed: int | None = None,
                     share: Decimal | None = None, stratify: bool = True, actor_label: str = "",
                     remote_addr: str = "") -> SpotCheckDraw:
    """Draw at least the unit's share of its new and registered households, from a recorded seed.

    The same unit, year and seed give the same draw: asking again returns the recorded one (a
    different share or stratification with a used seed is refused)."""
    _require(actor, unit)
    if unit.level not in OFFICE_LEVELS:
        raise OperationError("unit_not_office", "只能对街道办事处、乡镇（综合服务中心）抽查",
                             "spot checks are drawn per street office or township")
    year = _check_year(year, today)
    floor, _raised = minimum_share(unit, year, today)
    try:
        effective = sampling.effective_share(floor, requested=share)
        if seed is None:
            seed = secrets.randbelow(sampling.MAX_SEED + 1)
        elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= sampling.MAX_SEED:
            raise sampling.SamplingError("seed_invalid", f"随机种子应为0到{sampling.MAX_SEED}之间的整数",
                                         f"the seed must be a whole number from 0 to {sampling.MAX_SEED}")
    except sampling.SamplingError as exc:
        raise OperationError(exc.code, exc.message, exc.message_en) from None
    existing = db.session.scalar(select(SpotCheckDraw).where(SpotCheckDraw.unit_id == unit.id,
                                                             SpotCheckDraw.year == year, SpotCheckDraw.seed == seed))
    if existing is not None:
        if Decimal(existing.share) == effective and existing.stratified == stratify:
            return existing
        raise OperationError("seed_used", f"该随机种子已用于本单位{year}年的第{existing.id}号抽取（比例或分层不同）",
                             f"this seed was already used for draw {existing.id} of this unit and year "
                             "with another share or stratification", 409)
    pop = population(unit, year)
    if not pop:
        raise OperationError("population_empty", "本单位没有可抽查的在保家庭", "the unit has no households in payment to draw", 409)
    strata = {name: [p["household"] for p in pop if p["stratum"] == name] for name in STRATA}
    result = sampling.draw(strata, effective, seed, stratify=stratify)
    case_of = {p["household"]: p["case"] for p in pop}
    row = SpotCheckDraw(unit_id=unit.id, year=year, seed=seed, share=effective, stratified=stratify,
                        population_size=result.population, population=pop,
                        strata=result.as_json()["strata"], drawn_household_ids=list(result.drawn),
                        drawn_case_ids=[case_of[h] for h in result.drawn], drawn_by_id=actor.id if actor else None,
                        drawn_by_label=actor.username if actor else (actor_label or "cli"))
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:   # the same draw asked for twice at once
        db.session.rollback()
        return draw_spot_checks(unit, year, actor=actor, today=today, seed=seed, share=share, stratify=stratify,
                                actor_label=actor_label, remote_addr=remote_addr)
    audit.record("spotcheck.draw", "spot_check_draw", row.id, actor=actor, actor_label=actor_label,
                 remote_addr=remote_addr,
                 after={"unit": unit.code, "year": year, "seed": seed, "share": str(effective), "stratified": stratify,
                        "population": result.population, "households": list(result.drawn)})
    db.session.commit()
    return row


def verify_draw(draw: SpotCheckDraw) -> bool:
    """Re-run a recorded draw from its seed over its recorded population."""
    strata = {name: [p["household"] for p in draw.population if p["stratum"] == name] for name in STRATA}
    return sampling.verify(strata, Decimal(draw.share), draw.seed, draw.stratified, draw.drawn_household_ids)


def draw_for(user: User, draw_id: Any) -> SpotCheckDraw:
    """A draw of one of the user's district's units (404 for anything else)."""
    district = bureau_district(user)
    try:
        row = db.session.get(SpotCheckDraw, int(draw_id))
    except (TypeError, ValueError):
        row = None
    if row is None or row.unit.parent_id != district.id:
        raise _not_found()
    return row


# --- spot checks: visits and results -------------------------------------------------------------

def open_spot_checks(case_ids: Iterable[int]) -> dict[int, VisitAssignment]:
    ids = list(case_ids)
    if not ids:
        return {}
    rows = db.session.scalars(select(VisitAssignment).where(VisitAssignment.case_id.in_(ids),
                                                            VisitAssignment.kind == "spot_check",
                                                            VisitAssignment.status == "open"))
    return {a.case_id: a for a in rows}


def assign_spot_checks(draw: SpotCheckDraw, actor: User, team_ids: Sequence[int], *, today: dt.date,
                       case_ids: Sequence[int] | None = None, note: str = "",
                       remote_addr: str = "") -> list[VisitAssignment]:
    """Send a team of bureau staff to the drawn households still unchecked (or to ``case_ids`` of them);
    each becomes a spot-check visit on their phones.  Re-assigning replaces an open assignment."""
    _require(actor, draw.unit)
    if actor is None:
        raise _forbidden()
    done = {r.case_id for r in draw.results}
    wanted = list(dict.fromkeys(case_ids)) if case_ids else list(draw.drawn_case_ids)
    stray = [c for c in wanted if c not in draw.drawn_case_ids]
    if stray:
        raise OperationError("case_not_drawn", "所选家庭不在本次抽取名单中", "a chosen household is not in this draw")
    note = check_length((note or "").strip(), 400, field="note", zh="派发备注", en="The note")
    open_ = open_spot_checks(wanted)
    made, cancelled = [], []
    for case_id in wanted:
        case = db.session.get(Case, case_id)
        if case_id in done or case.status not in IN_PAYMENT:
            continue
        team = _team(case, team_ids, kind="spot_check")
        if case_id in open_:
            open_[case_id].status = "cancelled"
            open_[case_id].updated_at = dt.datetime.now(dt.UTC)
            cancelled.append(open_[case_id].id)
        text = f"{draw.year}年抽查（第{draw.id}号抽取）" + (f"：{note}" if note else "")
        assignment = VisitAssignment(case=case, kind="spot_check", team=team, note=text, created_by_id=actor.id)
        db.session.add(assignment)
        made.append(assignment)
    if not made:
        raise OperationError("nothing_to_assign", "没有需要派发的抽查：所选家庭都已有抽查结果或已不在保",
                             "nothing to assign: every chosen household has a result or is no longer in payment", 409)
    db.session.flush()
    audit.record("spotcheck.assign", "spot_check_draw", draw.id, actor=actor, remote_addr=remote_addr,
                 before={"cancelled_assignments": cancelled} if cancelled else None,
                 after={"assignments": [a.id for a in made], "team": [u.id for u in made[0].team]})
    db.session.commit()
    return made


def _income_total(months: Any) -> Decimal | None:
    """A six-month total from a spot-check answer (the merge core's rule); None when it is not one."""
    try:
        return Decimal(income_total(months))
    except (TypeError, ValueError):
        return None


def record_result(draw: SpotCheckDraw, case_id: int, actor: User | None, *, accuracy: str,
                  household_found: bool, members_match: bool | None, income_found_6m: Decimal | None,
                  notes: str = "", visit: Visit | None = None, remote_addr: str = "",
                  commit: bool = True) -> SpotCheckResult:
    """What the check found for one drawn household, beside what the unit recorded (its assessed
    six-month income and the people covered)."""
    _require(actor, draw.unit)
    problems = []
    if case_id not in draw.drawn_case_ids:
        problems.append(("case", "所选家庭不在本次抽取名单中", "the household is not in this draw"))
    if accuracy not in SPOT_CHECK_ACCURACY:
        problems.append(("accuracy", "请选择登记信息准确性", "choose the accuracy of the record"))
    if household_found and members_match is None:
        problems.append(("members_match", "请填写家庭成员是否与登记一致", "say whether the members match the record"))
    if not household_found and accuracy == "accurate":
        problems.append(("accuracy", "未找到该户时不能认定为“准确”", "a household not found cannot be 'accurate'"))
    if len(notes or "") > EVIDENCE_MAX:
        problems.append(("notes", f"情况说明最多{EVIDENCE_MAX}字", f"notes may have at most {EVIDENCE_MAX} characters"))
    if problems:
        raise OperationError("result_invalid", "；".join(p[1] for p in problems), "; ".join(p[2] for p in problems),
                             fields=[p[0] for p in problems])
    if db.session.scalar(select(SpotCheckResult.id).where(SpotCheckResult.draw_id == draw.id,
                                                          SpotCheckResult.case_id == case_id)):
        raise OperationError("result_exists", "该户的抽查结果已经登记", "this household's result is already recorded", 409)
    case = db.session.get(Case, case_id)
    row = SpotCheckResult(draw=draw, case_id=case_id, visit_id=visit.id if visit else None,
                          source="visit" if visit else "console", household_found=household_found,
                          members_match=members_match if household_found else None, income_found_6m=income_found_6m,
                          income_recorded_6m=case.assessed_income_6m, members_recorded=len(case.household.covered),
                          accuracy=accuracy, notes=(notes or "").strip(), entered_by_id=actor.id if actor else None)
    db.session.add(row)
    assignment = open_spot_checks([case_id]).get(case_id)
    if assignment is not None:
        assignment.status = "done"
        assignment.updated_at = dt.datetime.now(dt.UTC)
    db.session.flush()
    audit.record("spotcheck.result", "spot_check_draw", draw.id, actor=actor, remote_addr=remote_addr,
                 after={"case": case_id, "accuracy": accuracy, "household_found": household_found,
                        "members_match": row.members_match, "visit": row.visit_id,
                        "income_found_6m": str(income_found_6m) if income_found_6m is not None else None})
    if commit:
        db.session.commit()
    return row


def _attested(visit: Visit, min_team: int) -> bool:
    """Signed on their phones by at least ``min_team`` distinct visitors of the visit."""
    users = set(db.session.scalars(select(Attestation.user_id).where(Attestation.visit_id == visit.id)))
    return len(users & set(visit.investigator_ids or [])) >= min_team


def collect_synced(draw: SpotCheckDraw, actor: User | None, *, remote_addr: str = "") -> tuple[int, int]:
    """Take in the spot-check visits (and two-rates surveys made on them) synced from the inspectors'
    phones since the draw: complete (every file stored) and signed by the team.  Returns (results,
    survey answers) added."""
    _require(actor, draw.unit)
    profile = profile_of(draw.unit)
    visits = db.session.scalars(_synced(draw).where(Visit.form_id.in_(("spot_check", "two_rates")))
                                .order_by(Visit.visit_on, Visit.id)).all()
    have = {r.case_id for r in draw.results}
    surveyed = set(db.session.scalars(select(TwoRatesResponse.visit_id).where(
        TwoRatesResponse.visit_id.in_([v.id for v in visits] or ["-"]))))
    results = answers = 0
    for visit in visits:
        if not _attested(visit, profile.home_visit.min_team):
            continue
        data = (visit.envelope or {}).get("answers") or {}
        if visit.form_id == "spot_check" and visit.case_id not in have:
            household, findings = data.get("household") or {}, data.get("findings") or {}
            record_result(draw, visit.case_id, actor, accuracy=findings.get("accuracy"),
                          household_found=bool(household.get("household_found")),
                          members_match=household.get("members_match"),
                          income_found_6m=_income_total((data.get("income") or {}).get("total")),
                          notes=findings.get("notes") or "", visit=visit, remote_addr=remote_addr, commit=False)
            have.add(visit.case_id)
            results += 1
        elif visit.form_id == "two_rates" and visit.id not in surveyed:
            respondent = (data.get("respondent") or {}).get("kind")
            _add_response(visit.case.office_unit_id, "visit", respondent, (data.get("awareness") or {}).get("knows_policy"),
                          (data.get("satisfaction") or {}).get("rating"), visit.visit_on, actor, visit=visit)
            surveyed.add(visit.id)
            answers += 1
    if results or answers:
        audit.record("spotcheck.collect", "spot_check_draw", draw.id, actor=actor, remote_addr=remote_addr,
                     after={"results": results, "two_rates": answers})
    db.session.commit()
    return results, answers


def _synced(draw: SpotCheckDraw):
    """Complete spot-check visits to the draw's households in the draw's year not yet used by a result."""
    used = select(SpotCheckResult.visit_id).where(SpotCheckResult.visit_id.is_not(None))
    return select(Visit).where(
        Visit.case_id.in_(draw.drawn_case_ids or [-1]), Visit.kind == "spot_check",
        Visit.status.in_(("complete", "accepted")), Visit.visit_on >= dt.date(draw.year, 1, 1),
        Visit.visit_on <= dt.date(draw.year, 12, 31), Visit.id.not_in(used))


def waiting_visits(draw: SpotCheckDraw) -> int:
    """Households of this draw with a synced spot-check visit not yet taken in (for the draw page)."""
    have = {r.case_id for r in draw.results}
    rows = db.session.scalars(_synced(draw).where(Visit.form_id == "spot_check"))
    return len({v.case_id for v in rows if v.case_id not in have})


def accuracy_by_unit(units: Sequence[Unit], year: int) -> dict[int, tuple[Ratio, Counter]]:
    """Spot-check accuracy per unit over the year's draws, with the count of each outcome."""
    ids = [u.id for u in units]
    out = {uid: (Ratio(Decimal(0), 0), Counter()) for uid in ids}
    rows = db.session.execute(select(SpotCheckDraw.unit_id, SpotCheckResult.accuracy).join(SpotCheckResult.draw)
                              .where(SpotCheckDraw.unit_id.in_(ids or [-1]), SpotCheckDraw.year == year)).all()
    outcomes: dict[int, list[str]] = defaultdict(list)
    for uid, acc in rows:
        outcomes[uid].append(acc)
    for uid in ids:
        credit = profile_of(db.session.get(Unit, uid)).assessment.minor_issue_credit
        out[uid] = (scoring.accuracy(outcomes[uid], credit), Counter(outcomes[uid]))
    return out



# --- two rates -----------------------------------------------------------------------------------

def _add_response(unit_id: int, source: str, respondent: Any, knows: Any, rating: Any, surveyed_on: dt.date,
                  actor: User | None, visit: Visit | None = None) -> TwoRatesResponse:
    if knows not in KNOWS or rating not in RATING or respondent not in RESPONDENTS:
        raise OperationError("answers_invalid", "请回答全部问题", "answer every question")
    row = TwoRatesResponse(unit_id=unit_id, source=source, respondent=respondent, aware=KNOWS[knows],
                           satisfied=RATING[rating], surveyed_on=surveyed_on, visit_id=visit.id if visit else None,
                           entered_by_id=actor.id if actor else None)
    db.session.add(row)
    return row


def public_response(unit: Unit, *, respondent: Any, knows: Any, rating: Any, today: dt.date) -> TwoRatesResponse:
    """An answer to the public QR survey about ``unit`` (anonymous: nothing about the person is kept, not
    even the client address in the audit log, whose entries are never deleted)."""
    if unit.level not in OFFICE_LEVELS:
        raise _not_found()
    row = _add_response(unit.id, "public", respondent, knows, rating, today, None)
    db.session.flush()
    audit.record("tworates.public", "unit", unit.id, actor_label="public", after={"response": row.id})
    db.session.commit()
    return row


def record_paper_batch(unit: Unit, actor: User, *, respondent: str, count: int, aware: int, satisfied: int,
                       surveyed_on: dt.date, today: dt.date, remote_addr: str = "") -> int:
    """A tally of paper questionnaires (入户调查、邻里访问): ``count`` answers, of which ``aware`` knew the
    policy and ``satisfied`` were satisfied."""
    _require(actor, unit)
    problems = []
    if respondent not in RESPONDENTS:
        problems.append(("respondent", "请选择受访人类别", "choose who answered"))
    if not 1 <= count <= PAPER_BATCH_MAX:
        problems.append(("count", f"问卷份数应在1至{PAPER_BATCH_MAX}之间", f"the number of questionnaires must be 1-{PAPER_BATCH_MAX}"))
    if not 0 <= aware <= max(count, 0) or not 0 <= satisfied <= max(count, 0):
        problems.append(("aware", "知晓、满意的份数应在0至问卷份数之间",
                         "aware and satisfied must be between 0 and the number of questionnaires"))
    if surveyed_on > today or surveyed_on.year < 2000:
        problems.append(("surveyed_on", "调查日期不能晚于今天", "the survey date cannot be in the future"))
    if problems:
        raise OperationError("batch_invalid", "；".join(p[1] for p in problems), "; ".join(p[2] for p in problems),
                             fields=[p[0] for p in problems])
    for i in range(count):
        db.session.add(TwoRatesResponse(unit_id=unit.id, source="paper", respondent=respondent, aware=i < aware,
                                        satisfied=i < satisfied, surveyed_on=surveyed_on, entered_by_id=actor.id))
    audit.record("tworates.paper", "unit", unit.id, actor=actor, remote_addr=remote_addr,
                 after={"respondent": respondent, "count": count, "aware": aware, "satisfied": satisfied,
                        "surveyed_on": surveyed_on.isoformat()})
    db.session.commit()
    return count


@dataclass
class TwoRates:
    aware: Ratio
    satisfied: Ratio
    by_source: dict[str, int]


def two_rates(units: Sequence[Unit], start: dt.date, end: dt.date) -> dict[int, TwoRates]:
    """Awareness and satisfaction per unit over a period, with sample sizes by source."""
    ids = [u.id for u in units]
    rows = db.session.execute(select(TwoRatesResponse.unit_id, TwoRatesResponse.source, TwoRatesResponse.aware,
                                     TwoRatesResponse.satisfied)
                              .where(TwoRatesResponse.unit_id.in_(ids or [-1]), TwoRatesResponse.surveyed_on >= start,
                                     TwoRatesResponse.surveyed_on <= end)).all()
    tallies: dict[int, list] = {uid: [0, 0, 0, defaultdict(int)] for uid in ids}
    for uid, source, aware, satisfied in rows:
        t = tallies[uid]
        t[0] += 1
        t[1] += bool(aware)
        t[2] += bool(satisfied)
        t[3][source] += 1
    return {uid: TwoRates(Ratio(Decimal(t[1]), t[0]), Ratio(Decimal(t[2]), t[0]), dict(t[3]))
            for uid, t in tallies.items()}


# --- the assessment: measuring -------------------------------------------------------------------

@dataclass
class Measures:
    """What the records say about one unit, judged once; periods pick their share of it."""
    on_time: list[Judgement | None] = field(default_factory=list)
    rereview: list[Judgement] = field(default_factory=list)
    objections: list[Judgement | None] = field(default_factory=list)
    spot: list[tuple[dt.date, str]] = field(default_factory=list)
    survey: list[tuple[dt.date, bool, bool]] = field(default_factory=list)
    covered: int = 0
    households: int = 0
    amount: Decimal = Decimal("0")
    target: int | None = None


MEASURED_ACTIONS = ("approve", "refuse", "abandon", "record_objection", "resolve_objection", "complete_rereview",
                    "stop", "finish_gradual_exit")
# Steps with their own time limit; one recorded late (server.domain.workflow.step_timing) makes the case late.
TIMED_STEPS = ("request_verification", "record_home_visit", "record_appraisal")


def measures(units: Sequence[Unit], year: int, today: dt.date) -> dict[int, Measures]:
    """Judge every case, re-review, objection and tip-off of the units, and gather the year's spot checks,
    survey answers and coverage (see ``server.domain.scoring`` for the rules)."""
    svc = services()
    cal = svc.calendar
    ids = [u.id for u in units]
    out = {uid: Measures() for uid in ids}
    if not ids:
        return out
    cases = db.session.scalars(select(Case).where(Case.office_unit_id.in_(ids))
                               .options(selectinload(Case.household).selectinload(Household.members))).all()
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for ev in db.session.scalars(select(CaseEvent).where(
            CaseEvent.case_id.in_(select(Case.id).where(Case.office_unit_id.in_(ids))),
            CaseEvent.action.in_(MEASURED_ACTIONS + TIMED_STEPS)).order_by(CaseEvent.case_id, CaseEvent.seq)):
        events[ev.case_id].append(ev)
    for case in cases:
        m, profile, evs = out[case.office_unit_id], svc.profiles[case.profile_id], events[case.id]

        def first(actions: tuple[str, ...], evs=evs) -> dt.date | None:
            return next((e.on_date for e in evs if e.action in actions), None)

        if case.accepted_on is not None:
            deadline = cal.add_workdays(case.accepted_on, profile.deadlines.overall).date
            judged = scoring.judge(deadline, first(("approve", "refuse")), first(("abandon",)), today)
            if judged is not None and judged.in_time and any(e.data.get("late") for e in evs):
                judged = scoring.Judgement(judged.on, False)   # a step kept late stays late (backdated or not)
            m.on_time.append(judged)
        approved = first(("approve",))
        if approved is not None:
            ended = next((e.on_date for e in evs if e.to_status == "stopped"), None)
            m.rereview += scoring.rereview_judgements(
                approved, profile.review_interval(case.household.household_class),
                [e.on_date for e in evs if e.action == "complete_rereview"], ended, today)
        for i, ev in enumerate(evs):
            if ev.action == "record_objection":
                deadline = cal.add_workdays(ev.on_date, profile.deadlines.objection_redecision).date
                done = next((x.on_date for x in evs[i + 1:] if x.from_status == "objection"), None)
                m.objections.append(scoring.judge(deadline, done, None, today))
        if case.status in IN_PAYMENT:
            m.covered += len(case.household.covered)
            m.households += 1
            m.amount += Decimal(case.amount or 0)
    _tipoffs(out, ids, cal, today)
    rows = db.session.execute(select(SpotCheckDraw.unit_id, SpotCheckResult.created_at, SpotCheckResult.accuracy)
                              .join(SpotCheckResult.draw)
                              .where(SpotCheckDraw.unit_id.in_(ids), SpotCheckDraw.year == year))
    for uid, at, acc in rows:
        out[uid].spot.append((china_date(at), acc))
    rows = db.session.execute(select(TwoRatesResponse.unit_id, TwoRatesResponse.surveyed_on, TwoRatesResponse.aware,
                                     TwoRatesResponse.satisfied)
                              .where(TwoRatesResponse.unit_id.in_(ids), TwoRatesResponse.surveyed_on >= dt.date(year, 1, 1),
                                     TwoRatesResponse.surveyed_on <= dt.date(year, 12, 31)))
    for uid, on, aware, satisfied in rows:
        out[uid].survey.append((on, bool(aware), bool(satisfied)))
    for item in db.session.scalars(select(AssessmentItem).where(
            AssessmentItem.unit_id.in_(ids), AssessmentItem.year == year, AssessmentItem.kind == "target",
            AssessmentItem.item_key == "coverage")):
        out[item.unit_id].target = int(item.value) if item.value is not None else None
    return out


def _tipoffs(out: dict[int, Measures], ids: list[int], cal, today: dt.date) -> None:
    """Residents' tip-offs from the notice boards, answered within the objection limit (the seeds set no
    separate limit for tip-offs); objections are judged on their cases."""
    try:
        from server.models.boards import Report
    except ImportError:   # the boards area is not installed
        return
    rows = db.session.scalars(select(Report).where(Report.office_unit_id.in_(ids), Report.kind == "tipoff"))
    for report in rows:
        profile = services().profiles[db.session.get(Unit, report.office_unit_id).profile_id]
        received = china_date(report.created_at)
        deadline = cal.add_workdays(received, profile.deadlines.objection_redecision).date
        answered = china_date(report.answered_at) if report.answered_at else None
        out[report.office_unit_id].objections.append(scoring.judge(deadline, answered, None, today))


def ratios(m: Measures, start: dt.date, end: dt.date, minor_credit: Decimal) -> dict[str, Ratio | None]:
    """The computed items' ratios over a period (coverage: as the records stand)."""
    survey = [s for s in m.survey if start <= s[0] <= end]
    return {
        "on_time": scoring.ratio_in(m.on_time, start, end),
        "rereview": scoring.ratio_in(m.rereview, start, end),
        "objections": scoring.ratio_in(m.objections, start, end),
        "spot_check": scoring.accuracy([a for d, a in m.spot if start <= d <= end], minor_credit),
        "awareness": Ratio(Decimal(sum(1 for s in survey if s[1])), len(survey)),
        "satisfaction": Ratio(Decimal(sum(1 for s in survey if s[2])), len(survey)),
        "coverage": scoring.coverage(m.covered, m.target),
    }


# --- the assessment: scoring ---------------------------------------------------------------------

def assessment_enabled(district: Unit) -> bool:
    return bool(profile_of(district).assessment.enabled)


def _require_assessment(district: Unit) -> None:
    if not assessment_enabled(district):
        raise OperationError("assessment_disabled", "本地规则未启用考核评分", "the assessment is switched off in this profile", 409)


def periods(profile) -> list[int]:
    """The quarters checked, then the year-end assessment (``ANNUAL``)."""
    return [*range(1, profile.assessment.quarters + 1), ANNUAL]


def specs(profile, period: int) -> list[scoring.ItemSpec]:
    items = profile.assessment.annual_items if period == ANNUAL else profile.assessment.quarterly_items
    return [scoring.ItemSpec(i["key"], i["name"], i["name_en"], i["points"]) for i in items]


def period_points(profile, period: int) -> int:
    a = profile.assessment
    return a.annual_points if period == ANNUAL else a.quarterly_points


def _quarter(period: int) -> int | None:
    return None if period == ANNUAL else period


def _period(quarter: int | None) -> int:
    return ANNUAL if quarter is None else quarter


def unit_scores(district: Unit, year: int, today: dt.date) -> list[scoring.UnitScore]:
    """Every office's score for ``year``: confirmed indicators as fixed, the others measured now."""
    profile = profile_of(district)
    units = office_units(district)
    live = measures(units, year, today)
    rows: dict[int, list[AssessmentItem]] = defaultdict(list)
    for item in db.session.scalars(select(AssessmentItem).where(
            AssessmentItem.unit_id.in_([u.id for u in units] or [-1]), AssessmentItem.year == year)
            .order_by(AssessmentItem.id)):
        rows[item.unit_id].append(item)
    credit = profile.assessment.minor_issue_credit
    out = []
    for unit in units:
        items = rows[unit.id]
        scores = []
        for period in periods(profile):
            mine = [i for i in items if _period(i.quarter) == period]
            frozen = {i.item_key: Ratio.from_json(i.measure) for i in mine if i.kind == "indicator"}
            if frozen:
                computed = frozen
            else:
                start, end = scoring.period_bounds(year, period, profile.assessment.quarters)
                computed = ratios(live[unit.id], start, end, credit)
            entered = {i.item_key: Decimal(i.points) for i in mine if i.kind == "entered"}
            notes = {i.item_key: i.evidence for i in mine if i.kind == "entered"}
            deductions = [scoring.Deduction(i.item_key, Decimal(i.points), i.evidence) for i in mine
                          if i.kind == "deduction"]
            scores.append(scoring.period_score(period, period_points(profile, period), specs(profile, period),
                                               computed, entered, deductions, notes))
        bonus = [(i.item_key, Decimal(i.points)) for i in items if i.kind == "bonus"]
        out.append(scoring.unit_score(unit, scores, bonus, profile.assessment.bonus_cap))
    return out


def ranking(district: Unit, year: int, today: dt.date) -> tuple[list[scoring.Ranked], dict[int, scoring.UnitScore]]:
    year = _check_year(year, today)
    scores = unit_scores(district, year, today)
    return scoring.rank([(s.unit, s.total) for s in scores]), {s.unit.id: s for s in scores}


def confirmed_periods(district: Unit, year: int) -> set[int]:
    ids = [u.id for u in office_units(district)]
    rows = db.session.scalars(select(AssessmentItem.quarter).where(
        AssessmentItem.unit_id.in_(ids or [-1]), AssessmentItem.year == year, AssessmentItem.kind == "indicator"))
    return {_period(q) for q in rows}


def period_over(year: int, period: int, profile, today: dt.date) -> bool:
    return today > scoring.period_bounds(year, period, profile.assessment.quarters)[1]


def _check_period(profile, period: Any) -> int:
    if period not in periods(profile):
        raise OperationError("period_invalid", "考核期次无效", "no such assessment period")
    return period


def confirm_period(district: Unit, year: int, period: int, actor: User | None, *, today: dt.date,
                   remote_addr: str = "", commit: bool = True) -> int:
    """Fix a finished quarter's (or year's) computed indicators as they stand, for every office of the
    district: later changes to the records no longer move that period's score."""
    _require(actor, district)
    _require_assessment(district)
    profile = profile_of(district)
    year = _check_year(year, today)
    period = _check_period(profile, period)
    if not period_over(year, period, profile, today):
        raise OperationError("period_not_over", "考核期尚未结束，不能确认", "the period is not over yet", 409)
    if period in confirmed_periods(district, year):
        raise OperationError("period_confirmed", "该期考核指标已经确认", "this period's indicators are already confirmed", 409)
    units = office_units(district)
    live = measures(units, year, today)
    start, end = scoring.period_bounds(year, period, profile.assessment.quarters)
    credit = profile.assessment.minor_issue_credit
    for unit in units:
        found = ratios(live[unit.id], start, end, credit)
        for spec in specs(profile, period):
            if not spec.computed:
                continue
            ratio = found.get(spec.key)
            rate = ratio.rate if ratio is not None else None
            db.session.add(AssessmentItem(
                unit_id=unit.id, year=year, quarter=_quarter(period), kind="indicator", item_key=spec.key,
                points=scoring.points_for(spec.points, ratio), value=rate.quantize(Decimal("0.0001")) if rate is not None else None,
                measure=ratio.as_json() if ratio is not None else None,
                evidence=f"{ratio.numerator}/{ratio.denominator}" if ratio is not None else "",
                entered_by_id=actor.id if actor else None))
    audit.record("assessment.confirm", "unit", district.id, actor=actor, remote_addr=remote_addr,
                 after={"year": year, "period": period, "units": [u.code for u in units]})
    if commit:
        db.session.commit()
    return len(units)


def _points(raw: Any, field_name: str) -> Decimal:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or value != value.quantize(Decimal("0.1")) or value < 0:
        raise OperationError("points_invalid", "分值应为不小于0、最多一位小数的数", "points must be a number >= 0 with at most one decimal",
                             field=field_name)
    return value


def enter_item(unit: Unit, year: int, actor: User, *, kind: str, period: int, key: str = "", points: Any = 0,
               evidence: str = "", label: str = "", value: Any = None, attachment: str | None = None,
               today: dt.date, remote_addr: str = "") -> AssessmentItem:
    """The bureau's entry for a unit and year, with evidence: an item the system does not measure
    (``entered``: replaces an earlier entry), a ``bonus`` matter, a ``deduction`` with its reason, or
    the coverage ``target`` (people the unit is expected to cover)."""
    _require(actor, unit)
    if unit.level not in OFFICE_LEVELS:
        raise _not_found()
    _require_assessment(unit.parent)
    profile = profile_of(unit)
    year = _check_year(year, today)
    if kind not in ENTERED_KINDS:
        raise OperationError("kind_invalid", "录入类别无效", "unknown kind of entry")
    period = _check_period(profile, period)
    evidence = (evidence or "").strip()
    if len(evidence) > EVIDENCE_MAX:
        raise OperationError("evidence_too_long", f"依据说明最多{EVIDENCE_MAX}字", f"evidence may have at most {EVIDENCE_MAX} characters",
                             field="evidence")
    if kind != "target" and len(evidence) < 2:
        raise OperationError("evidence_required", "请填写评分依据", "write the evidence for the points", field="evidence")
    label = (label or "").strip()
    row_value = None
    if kind == "entered":
        spec = next((s for s in specs(profile, period) if s.key == key and not s.computed), None)
        if spec is None:
            raise OperationError("item_invalid", "该考核项目不需录入（系统计算或不属于本期）",
                                 "this item is not one the bureau enters for this period", field="key")
        pts = _points(points, "points")
        if pts > spec.points:
            raise OperationError("points_too_high", f"“{spec.name}”最高{spec.points}分", f"{spec.name_en}: at most {spec.points} points",
                                 field="points")
    elif kind == "bonus":
        if period != ANNUAL:
            raise OperationError("bonus_annual", "加分计入年度考核", "bonus points count towards the year", field="period")
        if not label or len(label) > 200:
            raise OperationError("matter_required", "请填写加分事项（最多200字）", "name the matter (at most 200 characters)",
                                 field="label")
        key = scoring.matter_key(label)[:100]
        pts = _points(points, "points")
        cap = profile.assessment.bonus_cap
        if not 0 < pts <= cap:
            raise OperationError("points_too_high", f"加分应大于0且不超过{cap}分", f"a bonus must be above 0 and at most {cap}",
                                 field="points")
    elif kind == "deduction":
        if key not in scoring.DEDUCTION_REASONS:
            raise OperationError("reason_invalid", "请选择扣分原因", "choose the reason for the deduction", field="key")
        pts = _points(points, "points")
        limit = period_points(profile, period)
        if not 0 < pts <= limit:
            raise OperationError("points_too_high", f"扣分应大于0且不超过{limit}分", f"a deduction must be above 0 and at most {limit}",
                                 field="points")
    else:  # target
        if key != "coverage" or period != ANNUAL:
            raise OperationError("item_invalid", "指标任务只用于年度低保覆盖率", "a target is only set for the yearly coverage rate",
                                 field="key")
        try:
            row_value = int(str(value).strip())
        except (TypeError, ValueError):
            row_value = 0
        if not 0 < row_value <= 10_000_000:
            raise OperationError("target_invalid", "指标任务人数应为正整数", "the target must be a whole number of people above 0",
                                 field="value")
        pts = Decimal("0")
    quarter = _quarter(period)
    existing = None
    if kind in ("entered", "target"):
        existing = db.session.scalar(select(AssessmentItem).where(
            AssessmentItem.unit_id == unit.id, AssessmentItem.year == year, AssessmentItem.kind == kind,
            AssessmentItem.item_key == key,
            AssessmentItem.quarter.is_(None) if quarter is None else AssessmentItem.quarter == quarter))
    before = _item_json(existing) if existing else None
    row = existing or AssessmentItem(unit_id=unit.id, year=year, quarter=quarter, kind=kind, item_key=key)
    row.points, row.evidence, row.label = pts, evidence, label[:200]
    row.value = Decimal(row_value) if row_value is not None else None
    row.attachment_sha256 = attachment or (row.attachment_sha256 if existing else None)
    row.entered_by_id = actor.id
    row.updated_at = dt.datetime.now(dt.UTC)
    db.session.add(row)
    db.session.flush()
    audit.record(f"assessment.{kind}", "assessment_item", row.id, actor=actor, remote_addr=remote_addr,
                 before=before, after=_item_json(row))
    db.session.commit()
    return row


def _item_json(item: AssessmentItem) -> dict[str, Any]:
    return {"unit": item.unit_id, "year": item.year, "quarter": item.quarter, "kind": item.kind, "key": item.item_key,
            "points": str(item.points), "value": str(item.value) if item.value is not None else None,
            "label": item.label, "evidence": item.evidence, "attachment": item.attachment_sha256}


def item_for(user: User, item_id: Any) -> AssessmentItem:
    district = bureau_district(user)
    try:
        item = db.session.get(AssessmentItem, int(item_id))
    except (TypeError, ValueError):
        item = None
    if item is None or item.unit.parent_id != district.id:
        raise _not_found()
    return item


def withdraw_item(item: AssessmentItem, actor: User, *, remote_addr: str = "") -> None:
    """Take back an entry made in error (computed indicators cannot be withdrawn)."""
    _require(actor, item.unit)
    if item.kind not in ENTERED_KINDS:
        raise OperationError("item_computed", "系统计算的指标不能撤回", "a computed indicator cannot be withdrawn", 409)
    audit.record("assessment.withdraw", "assessment_item", item.id, actor=actor, remote_addr=remote_addr,
                 before=_item_json(item))
    db.session.delete(item)
    db.session.commit()


def issue_notices(district: Unit, year: int, quarter: int, actor: User | None, *, today: dt.date,
                  remote_addr: str = "") -> list[RectificationNotice]:
    """整改告知单 for a finished quarter: to each office that lost points or was docked, what it missed.
    Confirms the quarter's indicators first when that was not done."""
    _require(actor, district)
    _require_assessment(district)
    profile = profile_of(district)
    year = _check_year(year, today)
    if quarter == ANNUAL:
        raise OperationError("period_invalid", "整改告知单按季度派发", "rectification notices are issued per quarter")
    _check_period(profile, quarter)
    if quarter not in confirmed_periods(district, year):
        confirm_period(district, year, quarter, actor, today=today, remote_addr=remote_addr, commit=False)
        db.session.flush()
    issued = {n.unit_id for n in db.session.scalars(select(RectificationNotice).where(
        RectificationNotice.year == year, RectificationNotice.quarter == quarter))}
    made = []
    for score in unit_scores(district, year, today):
        unit, ps = score.unit, score.period(quarter)
        items = scoring.rectification_items(ps)
        if unit.id in issued or not items:
            continue
        notice = RectificationNotice(number=f"ZG{year}Q{quarter}-{unit.code}", unit_id=unit.id, year=year,
                                     quarter=quarter, score=ps.score, items=items,
                                     issued_by_id=actor.id if actor else None, issued_on=today)
        db.session.add(notice)
        db.session.flush()
        audit.record("assessment.notice", "rectification_notice", notice.id, actor=actor, remote_addr=remote_addr,
                     after={"unit": unit.code, "year": year, "quarter": quarter, "score": str(ps.score),
                            "items": [i["key"] for i in items]})
        made.append(notice)
    if not made:
        db.session.rollback()
        raise OperationError("nothing_to_issue", "没有需要派发的整改告知单（均已派发或没有缺失项）",
                             "no notice to issue: all were issued or nothing was missed", 409)
    db.session.commit()
    return made


def notice_for(user: User, notice_id: Any) -> RectificationNotice:
    district = bureau_district(user)
    try:
        notice = db.session.get(RectificationNotice, int(notice_id))
    except (TypeError, ValueError):
        notice = None
    if notice is None or notice.unit.parent_id != district.id:
        raise _not_found()
    return notice


# --- statistics ----------------------------------------------------------------------------------

def dashboard(district: Unit, year: int, today: dt.date) -> dict[str, Any]:
    """The bureau dashboard's numbers, each a list of rows ready for a chart and its table."""
    units = office_units(district)
    ids = [u.id for u in units]
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    counts: dict[str, int] = defaultdict(int)
    for (status,) in db.session.execute(select(Case.status).where(Case.office_unit_id.in_(ids or [-1]))):
        counts[status] += 1
    stages = [{"status": s, "names": workflow.STATE_NAMES[s], "count": counts.get(s, 0)} for s in workflow.STATES
              if counts.get(s)]
    live = measures(units, year, today)
    accuracy = accuracy_by_unit(units, year)
    rates = two_rates(units, start, end)
    per_unit = []
    for unit in units:
        m = live[unit.id]
        on_time = scoring.ratio_in(m.on_time, start, end)
        objections = scoring.ratio_in(m.objections, start, end)
        per_unit.append({"unit": unit, "on_time": on_time, "objections": objections,
                         "households": m.households, "people": m.covered, "amount": m.amount,
                         "accuracy": accuracy[unit.id][0], "outcomes": accuracy[unit.id][1],
                         "aware": rates[unit.id].aware, "satisfied": rates[unit.id].satisfied,
                         "sources": rates[unit.id].by_source})
    return {"stages": stages, "units": per_unit, "months": roster_months(units, year)}


def roster_months(units: Sequence[Unit], year: int) -> list[dict[str, Any]]:
    """Households, people and money per month from the approved payment rosters (empty when there are none)."""
    try:
        from server.models.money import Roster
    except ImportError:   # the money area is not installed
        return []
    rows = db.session.scalars(select(Roster).where(Roster.unit_id.in_([u.id for u in units] or [-1]),
                                                   Roster.status == "approved", Roster.month.like(f"{year}-%"))
                              .order_by(Roster.month)).all()
    months: dict[str, dict[str, Any]] = {}
    for r in rows:
        m = months.setdefault(r.month, {"month": r.month, "households": 0, "people": 0, "total": Decimal("0"),
                                        "units": {}})
        m["households"] += r.households
        m["people"] += r.people
        m["total"] += Decimal(r.total)
        m["units"][r.unit_id] = Decimal(r.total)
    return list(months.values())


# --- demo ----------------------------------------------------------------------------------------

def create_demo_oversight(password: str | None = None) -> None:
    """Demo supervision for both districts: a second bureau account each (a spot-check team needs two, with
    ``password``, default the demo's: :func:`server.demo.demo_password`),
    spot-check draws with results, two-rates answers, and for 宜君县 (whose profile assesses) last year's
    confirmed assessment with a last place, this year's entries, bonus and deductions and the notices."""
    from server import today as today_fn
    from server.operations.accounts import add_user

    if db.session.scalar(select(SpotCheckDraw.id).limit(1)) is not None:
        return   # already there (the demo only goes into an empty database)
    today = today_fn()
    year = today.year
    if password is None:
        from server.demo import demo_password

        password = demo_password()
    for district_code, username, name in (("410104", "gc_bureau2", "管城区民政局 抽查员"),
                                          ("610222", "yj_bureau2", "宜君县民政局 抽查员")):
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            add_user(username, "bureau_supervisor", district_code, password, name)
    db.session.commit()
    outcomes = ["accurate", "accurate", "minor_issue", "accurate", "wrong", "accurate"]
    for district_code in ("410104", "610222"):
        district = db.session.scalar(select(Unit).where(Unit.code == district_code))
        team = db.session.scalars(select(User).where(User.unit_id == district.id,
                                                     User.role == "bureau_supervisor").order_by(User.id)).all()
        lead = team[0]
        for n, unit in enumerate(u for u in office_units(district) if population(u, year)):
            draw = draw_spot_checks(unit, year, actor=lead, today=today, seed=20201209 + n)
            assign_spot_checks(draw, lead, [u.id for u in team], today=today)
            checked = draw.drawn_case_ids if n else draw.drawn_case_ids[:-1]   # the first unit's last one still open
            for i, case_id in enumerate(checked):
                case = db.session.get(Case, case_id)
                outcome = outcomes[(2 * n + i) % len(outcomes)]
                record_result(draw, case_id, lead, accuracy=outcome, household_found=True,
                              members_match=outcome != "wrong",
                              income_found_6m=Decimal(case.assessed_income_6m) + (600 if outcome == "wrong" else 0),
                              notes="入户核实，家庭情况与登记一致。" if outcome == "accurate"
                              else "家庭收入与登记不一致，已要求街道（乡镇）核实整改。")
        for n, unit in enumerate(office_units(district)):
            count = 12 + (n * 5) % 9
            record_paper_batch(unit, lead, respondent="household" if n % 2 else "neighbour", count=count,
                               aware=count - n % 4, satisfied=count - (n + 1) % 3,
                               surveyed_on=today - dt.timedelta(days=10 + n), today=today)
    district = db.session.scalar(select(Unit).where(Unit.code == "610222"))
    _demo_assessment(district, today)


def _demo_assessment(district: Unit, today: dt.date) -> None:
    """宜君县: last year's assessment confirmed with 太安镇 last (so it is drawn at the raised share this
    year), this year's quarterly entries, a bonus and a deduction, and the quarters' notices."""
    bureau = db.session.scalar(select(User).where(User.unit_id == district.id, User.role == "bureau_supervisor")
                               .order_by(User.id))
    profile = profile_of(district)
    units = office_units(district)
    last_year = today.year - 1
    marks = {0: ("4", "3", "3", "3"), 1: ("4", "3", "3", "3"), 2: ("3.5", "2.5", "3", "2"), 3: ("2", "1.5", "1", "1")}
    for n, unit in enumerate(units):
        org, arch, train, std = marks[n % 4]
        for key, pts in (("organisation", org), ("archives", arch), ("training", train)):
            enter_item(unit, last_year, bureau, kind="entered", period=ANNUAL, key=key, points=pts,
                       evidence="年终考核组检查：查阅档案、现场抽问工作人员。", today=today)
        for q in range(1, profile.assessment.quarters + 1):
            enter_item(unit, last_year, bureau, kind="entered", period=q, key="standardisation",
                       points=Decimal(std) + 3, evidence="季度检查：规范化管理台账齐全。", today=today)
    enter_item(units[0], last_year, bureau, kind="bonus", period=ANNUAL, label="社会救助改革创新试点",
               points="3", evidence="获市民政局通报表扬（铜民发〔2025〕号，演示）。", today=today)
    enter_item(units[-1], last_year, bureau, kind="deduction", period=ANNUAL, key="buck_passing", points="3",
               evidence="群众反映诉求三次未及时答复（演示）。", today=today)
    for period in periods(profile):
        if period_over(last_year, period, profile, today):
            confirm_period(district, last_year, period, bureau, today=today)
    year = today.year
    for n, unit in enumerate(units):
        enter_item(unit, year, bureau, kind="target", period=ANNUAL, key="coverage", value=8 + n, today=today,
                   evidence="县民政局下达的年度低保指标任务（演示）。")
        for q in range(1, profile.assessment.quarters + 1):
            if period_over(year, q, profile, today):
                enter_item(unit, year, bureau, kind="entered", period=q, key="standardisation",
                           points=str(6 - (n + q) % 3), evidence="季度检查：台账、公示、档案（演示）。", today=today)
    enter_item(units[1 % len(units)], year, bureau, kind="deduction", period=1, key="missed_target", points="1",
               evidence="一季度动态调整未按进度完成（演示）。", today=today)
    enter_item(units[0], year, bureau, kind="bonus", period=ANNUAL, label="“一门受理”创新做法",
               points="2", evidence="县政府简报刊发（演示）。", today=today)
    for q in range(1, profile.assessment.quarters + 1):
        if period_over(year, q, profile, today):
            try:
                issue_notices(district, year, q, bureau, today=today)
            except OperationError:
                pass   # nothing missed that quarter


def cases_for(draw: SpotCheckDraw) -> list[Case]:
    return db.session.scalars(select(Case).where(Case.id.in_(draw.drawn_case_ids or [-1])).order_by(Case.id)).all()


def result_map(draw: SpotCheckDraw) -> Mapping[int, SpotCheckResult]:
    return {r.case_id: r for r in draw.results}
