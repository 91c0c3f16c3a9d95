"""Notice boards: create, rename and rotate them; what a board shows; residents' objections and tip-offs.

Which cases a board lists
-------------------------
- **Publicity**: cases in ``publicity`` (and in ``objection``, marked as being re-investigated) whose
  latest ``open_publicity`` event names the board's code.  An event that names a *unit* code (as the
  console did before boards existed, and as a deployment without boards still does) is shown on
  every board of that unit.
- **Long-term list**: families from approval until payment stops (``approved``, ``certified``,
  ``in_payment``, ``rereview``, ``gradual_exit``) whose community/village is under the board's unit,
  when the board's kind is one of the profile's ``publicity.long_term_board_levels``: a community or
  village board lists its own families, a natural-village board those of its village, a hall
  (township) or busy-place board at the office every family of the office.

What the lists may show is decided by the pure :mod:`server.domain.publicity` from the profile's
``[public_list]``; this module only loads plain data for it and never hands it an ID number, phone
number, address or diagnosis.

Public objections and the actor who records them
------------------------------------------------
A resident's objection about a case that is in ``publicity`` becomes ``record_objection`` on the case
through :func:`server.operations.cases.perform`, which moves it to ``objection`` and starts the
15-working-day re-decision clock.  The workflow only lets a caseworker of the office record an
objection, so each office has one **system account** (``public-board-<office code>``, role
caseworker, *inactive*: it cannot sign in) that stands for "a resident, through the board's QR
code".  The case history and the audit log name that account, never a member of staff.  An
objection about a case already in ``objection`` and every tip-off are kept for the office's console
without changing the case.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import func, select

from server import services
from server.domain import numberguard, publicity
from server.domain.declaration import MONTHS
from server.extensions import db
from server.models import Case, CaseEvent, Member, Unit, User
from server.models.boards import BOARD_KINDS, REPORT_OUTCOMES, Board, BoardToken, Report
from server.models.orgs import OFFICE_LEVELS
from server.operations import OperationError, audit

PUBLICITY_STATES = ("publicity", "objection")
LONG_TERM_STATES = ("approved", "certified", "in_payment", "rereview", "gradual_exit")
MANAGER_ROLES = ("caseworker", "leader")
VIEWER_ROLES = ("caseworker", "leader", "director")
# Which unit levels a board of each kind may belong to.
KIND_UNIT_LEVELS = {
    "community": ("community",),
    "village": ("village",),
    "natural_village": ("natural_village",),
    "township": OFFICE_LEVELS,
    "busy_place": (*OFFICE_LEVELS, "community", "village"),
}
# Which profile board levels (publicity.board_levels, long_term_board_levels) a kind answers to.
KIND_PROFILE_LEVELS = {
    "community": ("community",),
    "village": ("village",),
    "natural_village": ("natural_village",),
    "township": ("township", "street_office"),
    "busy_place": ("busy_place",),
}
NAME_MAX = 100
TEXT_MIN, TEXT_MAX = 5, 2000
PERSON_NAME_MAX, PHONE_MAX = 50, 20
ANSWER_MAX = 2000
RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read aloud over the phone
SYSTEM_USER_PREFIX = "public-board-"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_token() -> str:
    """An unguessable public token (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def public_url(board: Board) -> str:
    from server.urls import public_base_url

    base = public_base_url()
    return f"{base}/b/{board.token}"


def kind_fits(kind: str, levels) -> bool:
    """Does a board of ``kind`` answer to one of these profile board levels?"""
    return any(level in levels for level in KIND_PROFILE_LEVELS[kind])


# --- scope --------------------------------------------------------------------------------------

def office_units(office: Unit) -> list[Unit]:
    """The office and every unit below it."""
    out, todo = [], [office]
    while todo:
        unit = todo.pop()
        out.append(unit)
        todo.extend(unit.children)
    return out


def _user_office(user: User) -> Unit | None:
    unit = user.unit
    return unit if unit.level in OFFICE_LEVELS else None


def can_view(user: User) -> bool:
    return user.role in VIEWER_ROLES and _user_office(user) is not None


def can_manage(user: User) -> bool:
    return user.role in MANAGER_ROLES and _user_office(user) is not None


def _require(user: User, manage: bool = True) -> Unit:
    if not (can_manage(user) if manage else can_view(user)):
        raise OperationError("role_not_permitted", "只有街道办事处（乡镇）的经办人或分管领导可以管理公示栏",
                             "only a caseworker or leader of a street office / township may manage boards", 403)
    return user.unit


def boards_of(user: User) -> list[Board]:
    """The boards of the user's office (its hall, communities, villages, natural villages)."""
    office = _user_office(user)
    if office is None:
        return []
    ids = [u.id for u in office_units(office)]
    return list(db.session.scalars(select(Board).where(Board.unit_id.in_(ids)).join(Board.unit)
                                   .order_by(Unit.code, Board.code)))


def board_for(user: User, board_id: int) -> Board | None:
    """The board if it belongs to the user's office, else None (the view answers 404)."""
    board = db.session.get(Board, board_id)
    office = _user_office(user)
    if board is None or office is None or board.unit.office() is None or board.unit.office().id != office.id:
        return None
    return board


# --- managing boards ----------------------------------------------------------------------------

def _snapshot(board: Board) -> dict[str, Any]:
    return {"code": board.code, "name": board.name, "kind": board.kind, "unit": board.unit.code}


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise OperationError("board_name_required", "请填写公示栏名称", "the board needs a name", field="name")
    if len(name) > NAME_MAX:
        raise OperationError("board_name_too_long", f"公示栏名称最长{NAME_MAX}个字",
                             f"the board name may have at most {NAME_MAX} characters", field="name")
    if numberguard.find(name, allowed=published_numbers()):
        raise OperationError("board_name_has_numbers",
                             "公示栏名称不能含有身份证号码、电话号码等号码",
                             "the board name may not contain an ID, phone or account number", field="name")
    return name


def create_board(actor: User | None, unit: Unit, kind: str, name: str, *, actor_label: str = "") -> Board:
    """A new board for ``unit`` (the actor's office or a unit below it) with a fresh token."""
    if actor is not None:
        office = _require(actor)
        if unit.office() is None or unit.office().id != office.id:
            raise OperationError("unit_out_of_scope", "只能为本街道（乡镇）及其所属社区（村）设置公示栏",
                                 "boards can only be set up for your office and the units below it", 404)
    if kind not in BOARD_KINDS:
        raise OperationError("board_kind_invalid", "公示栏类型无效", f"unknown board kind: {kind}", field="kind")
    if unit.level not in KIND_UNIT_LEVELS[kind]:
        raise OperationError("board_kind_unit_mismatch",
                             f"{unit.name}（{unit.level_name}）不能设“{BOARD_KINDS[kind][0]}”",
                             f"a {kind} board cannot belong to a {unit.level}", field="kind")
    name = _clean_name(name)
    n = db.session.scalar(select(func.count(Board.id)).where(Board.unit_id == unit.id)) or 0
    code = f"{unit.code}-{n + 1:02d}"
    while db.session.scalar(select(Board.id).where(Board.code == code)):
        n += 1
        code = f"{unit.code}-{n + 1:02d}"
    board = Board(code=code, unit=unit, name=name, kind=kind, token=new_token())
    db.session.add(board)
    db.session.flush()
    audit.record("board.create", "board", board.id, actor=actor, actor_label=actor_label, after=_snapshot(board))
    db.session.commit()
    return board


def rename_board(actor: User, board: Board, name: str) -> Board:
    _require(actor)
    before = _snapshot(board)
    board.name = _clean_name(name)
    audit.record("board.rename", "board", board.id, actor=actor, before=before, after=_snapshot(board))
    db.session.commit()
    return board


def rotate_token(actor: User | None, board: Board, *, actor_label: str = "") -> Board:
    """Give the board a new public token; the old one is kept so old posters say "replaced"."""
    if actor is not None:
        _require(actor)
    db.session.add(BoardToken(board=board, token=board.token, retired_at=_now()))
    board.token = new_token()
    board.rotated_at = _now()
    audit.record("board.rotate", "board", board.id, actor=actor, actor_label=actor_label,
                 after={**_snapshot(board), "rotated_at": board.rotated_at.isoformat()})
    db.session.commit()
    return board


def find_by_token(token: str) -> tuple[Board | None, bool]:
    """(board, True) for a current token, (board, False) for a replaced one, (None, False) if unknown."""
    if not token or len(token) > 43:
        return None, False
    board = db.session.scalar(select(Board).where(Board.token == token))
    if board is not None:
        return board, True
    old = db.session.scalar(select(BoardToken).where(BoardToken.token == token))
    return (old.board, False) if old is not None else (None, False)


# --- what a board lists --------------------------------------------------------------------------

def published_numbers() -> tuple[str, ...]:
    """The numbers a public page may carry: the tip-off lines the profiles publish (the number guard
    lets these through and nothing else)."""
    out = []
    for profile in services().profiles.values():
        tipoff = publicity.ListSettings.from_mapping(profile.public_list).tipoff
        if tipoff:
            out.append(tipoff)
    return tuple(out)


def settings_for(board: Board) -> publicity.ListSettings:
    return publicity.ListSettings.from_mapping(services().profiles[board.unit.profile_id].public_list)


def _is_office(unit: Unit) -> bool:
    return unit.level in OFFICE_LEVELS


def _long_term_filter(board: Board):
    """The SQL condition for the families a board's long-term list covers, or None if it has none."""
    profile = services().profiles[board.unit.profile_id]
    if not kind_fits(board.kind, profile.publicity.long_term_board_levels):
        return None
    unit = board.unit
    if _is_office(unit):
        scope = Case.office_unit_id == unit.id
    elif unit.level == "natural_village":
        scope = Case.community_unit_id == unit.parent_id
    else:
        scope = Case.community_unit_id == unit.id
    return scope & Case.status.in_(LONG_TERM_STATES)


def _latest_events(case_ids: list[int], actions: tuple[str, ...]) -> dict[tuple[int, str], CaseEvent]:
    out: dict[tuple[int, str], CaseEvent] = {}
    if not case_ids:
        return out
    for ev in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids),
                                                         CaseEvent.action.in_(actions)).order_by(CaseEvent.seq)):
        out[(ev.case_id, ev.action)] = ev
    return out


def publicity_cases(board: Board) -> list[Case]:
    """Cases in publicity (or re-investigated after an objection) that name this board."""
    office = board.unit.office()
    if office is None:
        return []
    cases = list(db.session.scalars(select(Case).where(Case.office_unit_id == office.id,
                                                       Case.status.in_(PUBLICITY_STATES))))
    opened = _latest_events([c.id for c in cases], ("open_publicity",))
    names = {board.code, board.unit.code}
    return [c for c in cases if (ev := opened.get((c.id, "open_publicity"))) is not None
            and names & {str(b) for b in ev.data.get("boards") or []}]


def _monthly_income(six_months: Decimal | None) -> Fraction | None:
    return None if six_months is None else Fraction(Decimal(six_months)) / MONTHS


def _categories(members, on: dt.date, profile) -> tuple[str, ...]:
    from server.operations.cases import member_categories

    found: set[str] = set()
    for m in members:
        found.update(member_categories(m, on, profile))
    return tuple(sorted(found))


def _publicity_entry(case: Case, events: dict, today: dt.date, settings: publicity.ListSettings):
    from server.operations.cases import benefit_working

    profile = services().profiles[case.profile_id]
    members = case.household.members
    head = case.household.head
    amount = case.amount
    if amount is None and settings.show_amount:
        try:
            amount = benefit_working(case, today).total
        except OperationError:
            amount = None
    visit = events.get((case.id, "record_home_visit"))
    appraisal = events.get((case.id, "record_appraisal"))
    signed = events.get((case.id, "sign_review"))
    meeting = events.get((case.id, "record_meeting"))
    return publicity.PublicityCase(
        ref=str(case.id), head_name=head.name if head else "", unit_name=case.community.name,
        household_size=sum(1 for m in members if m.co_residing),
        opened_on=case.publicity_opened_on, earliest_close=case.publicity_earliest_close,
        proposed_amount=amount, monthly_income=_monthly_income(case.assessed_income_6m),
        categories=_categories(case.household.covered, today, profile) if settings.show_category else (),
        in_objection=case.status == "objection",
        visit_on=case.visit_on, visit_team=len((visit.data.get("team") if visit else None) or []),
        appraisal_on=case.appraisal_on,
        appraisal_conclusion=appraisal.data.get("conclusion") if appraisal else None,
        appraisal_residents=int(appraisal.data.get("residents", 0)) if appraisal else 0,
        appraisal_panel=int(appraisal.data.get("panel", 0)) if appraisal else 0,
        recommendation=case.recommendation,
        leader_signed=signed is not None,
        meeting_decision=meeting.data.get("decision") if meeting else None)


class _MemberFacts(NamedTuple):
    """What the supplement categories need of a member (``member_categories`` reads these attributes)."""
    name: str
    relation: str
    covered: bool
    birth_date: dt.date
    severely_disabled: bool
    seriously_ill: bool


def long_term_entries(board: Board, today: dt.date, settings: publicity.ListSettings) -> list[publicity.LongTermCase]:
    """Plain data for the long-term list, read column by column (it may hold thousands of families)."""
    condition = _long_term_filter(board)
    if condition is None:
        return []
    profile = services().profiles[board.unit.profile_id]
    # Core statements on the session's connection: plain rows, without the ORM's per-row bookkeeping.
    conn = db.session.connection()
    rows = conn.execute(select(Case.id, Case.household_id, Case.amount, Case.decided_on,
                               Case.assessed_income_6m, Case.community_unit_id).where(condition)).all()
    if not rows:
        return []
    households = select(Case.household_id).where(condition)
    members: dict[int, list[_MemberFacts]] = {}
    for household_id, *facts in conn.execute(
            select(Member.household_id, Member.name, Member.relation, Member.co_residing & Member.covered,
                   Member.birth_date, Member.severely_disabled, Member.seriously_ill)
            .where(Member.household_id.in_(households)).order_by(Member.household_id, Member.position)):
        members.setdefault(household_id, []).append(_MemberFacts(*facts))
    units = dict(db.session.execute(select(Unit.id, Unit.name).where(
        Unit.id.in_({r[5] for r in rows}))).all())
    out = []
    for case_id, household_id, amount, decided_on, income_6m, unit_id in rows:
        ms = members.get(household_id, [])
        head = next((m for m in ms if m.relation == "head"), ms[0] if ms else None)
        covered = [m for m in ms if m.covered]
        out.append(publicity.LongTermCase(
            ref=str(case_id), head_name=head.name if head else "", people=len(covered), since=decided_on,
            unit_name=units.get(unit_id, ""), amount=amount,
            monthly_income=_monthly_income(income_6m) if settings.show_income else None,
            categories=_categories(covered, today, profile) if settings.show_category else ()))
    return out


@dataclass(frozen=True)
class BoardPage:
    board: Board
    office: Unit
    lists: publicity.PublicList
    has_long_term: bool
    profile: Any


def board_page(board: Board, today: dt.date, lang: str = "zh") -> BoardPage:
    """Everything ``/b/<token>`` shows for ``board`` today."""
    settings = settings_for(board)
    cases = publicity_cases(board)
    events = _latest_events([c.id for c in cases], ("record_home_visit", "record_appraisal",
                                                     "sign_review", "record_meeting"))
    entries = [_publicity_entry(c, events, today, settings) for c in cases]
    long_term = long_term_entries(board, today, settings)
    with_unit = _is_office(board.unit)
    lists = publicity.build(settings, entries, long_term, today, with_unit=with_unit, lang=lang)
    profile = services().profiles[board.unit.profile_id]
    return BoardPage(board=board, office=board.unit.office(), lists=lists, profile=profile,
                     has_long_term=_long_term_filter(board) is not None)


def listed_refs(board: Board) -> tuple[set[str], set[str]]:
    """The references (case ids) a board lists: (in publicity, in the long-term list)."""
    pub = {str(c.id) for c in publicity_cases(board)}
    condition = _long_term_filter(board)
    long_term = set() if condition is None else {str(i) for i in db.session.scalars(select(Case.id).where(condition))}
    return pub, long_term


# --- the console's publicity form ------------------------------------------------------------------

@dataclass(frozen=True)
class BoardChoice:
    code: str
    name: str
    kind: tuple[str, str]   # (zh, en) of the board kind or unit level


def board_choices(case: Case, profile) -> list[BoardChoice]:
    """The boards the profile says a case is publicised on: boards of the case's community/village, of its
    natural villages, of the office's hall and busy places, as ``publicity.board_levels`` lists their kinds.

    An office that has not set up its boards yet is offered its units as before (a publicity naming a
    unit is shown on every board that unit gets later)."""
    from server.models.orgs import LEVEL_NAMES

    levels = set(profile.publicity.board_levels)
    community, office = case.community, case.office
    places = {office.id, community.id} | {u.id for u in community.children}
    out = []
    for board in db.session.scalars(select(Board).where(Board.unit_id.in_(places)).order_by(Board.code)):
        # A board's kind fixes the level of its unit, so within these places the kind alone decides.
        if kind_fits(board.kind, levels):
            out.append(BoardChoice(board.code, board.name, BOARD_KINDS[board.kind]))
    if out:
        return out
    units = [u for u in [office] if u.level in levels or ("township" in levels and u.level in OFFICE_LEVELS)]
    units += [u for u in [community] if u.level in levels]
    units += [u for u in community.children if u.level in levels]
    return [BoardChoice(u.code, u.name, LEVEL_NAMES[u.level]) for u in units]


_OFFICE_BOARD_LEVELS = ("township", "street_office")


def publicity_levels(case: Case, profile, codes) -> tuple[list[str], dict[str, str], list[str]]:
    """For opening publicity: the board levels of ``publicity.board_levels`` that exist for this case (the
    office's hall; the case's community or village; its natural villages when the village has any; busy
    places when the office has such a board), the level each chosen code stands on, and the codes that
    are neither one of the case's boards nor one of its units."""
    levels = list(profile.publicity.board_levels)
    community, office = case.community, case.office
    naturals = [u for u in community.children if u.level == "natural_village"]
    places = {office.id, community.id} | {u.id for u in naturals}
    boards = {b.code: b for b in db.session.scalars(select(Board).where(Board.unit_id.in_(places)))}
    office_level = next((lv for lv in levels if lv in _OFFICE_BOARD_LEVELS), None)
    required: list[str] = []
    for lv in levels:
        exists = (lv == office_level or lv == community.level or (lv == "natural_village" and naturals)
                  or (lv == "busy_place" and any(b.kind == "busy_place" for b in boards.values())))
        if exists and lv not in required:
            required.append(lv)
    units = {u.code: u for u in [office, community, *naturals]}
    chosen: dict[str, str] = {}
    unknown: list[str] = []
    for code in codes:
        if code in boards:
            kinds = KIND_PROFILE_LEVELS[boards[code].kind]
            level = next((lv for lv in levels if lv in kinds), kinds[0])
        elif code in units:
            unit = units[code]
            level = (office_level or unit.level) if unit.level in OFFICE_LEVELS else unit.level
        else:
            unknown.append(code)
            continue
        chosen[code] = level
    return required, chosen, unknown


# --- objections and tip-offs -------------------------------------------------------------------------

class ReportRefused(OperationError):
    """A report form with problems; ``errors`` lists (field, zh, en) for every one of them."""

    def __init__(self, errors: list[tuple[str, str, str]]):
        self.errors = errors
        super().__init__("report_invalid", "；".join(e[1] for e in errors), "; ".join(e[2] for e in errors), 422)


def system_actor(office: Unit) -> User:
    """The office's account that records residents' objections (inactive: it can never sign in)."""
    username = SYSTEM_USER_PREFIX + office.code
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, name="公示栏扫码（居民）", role="caseworker", unit=office,
                    password_hash="!", active=False)
        db.session.add(user)
        db.session.flush()
        audit.record("user.create_system", "user", user.id, actor_label="system",
                     after={"username": username, "role": "caseworker", "unit": office.code, "active": False})
    return user


def client_hash(remote_addr: str) -> str:
    """The client address under an HMAC of the app's secret: comparable, not reversible."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, (remote_addr or "").encode(), hashlib.sha256).hexdigest()


def _receipt(today: dt.date) -> str:
    while True:
        code = f"{today:%y%m%d}-" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
        if db.session.scalar(select(Report.id).where(Report.receipt == code)) is None:
            return code


def normalise_receipt(text: str) -> str:
    """What a resident types back: case, spaces and a missing dash do not matter."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    return f"{raw[:6]}-{raw[6:]}" if len(raw) == 14 and raw[:6].isdigit() else ""


_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－　", "0123456789+- ")


def submit_report(board: Board, *, case_ref: str, text: str, name: str = "", phone: str = "",
                  photo: tuple[bytes, str | None] | None = None, remote_addr: str = "",
                  today: dt.date) -> Report:
    """A resident's objection or tip-off from a board's page.  Every refusal changes nothing."""
    from server.domain.text import bad_characters_message, has_bad_characters
    from server.operations import attachments
    from server.operations.cases import perform

    errors: list[tuple[str, str, str]] = []
    # Control and text-direction characters: the text may hold line breaks, the name is one line.
    if has_bad_characters(text or ""):
        errors.append(("text", *bad_characters_message("异议或举报的内容", "The objection or tip-off")))
    if has_bad_characters(name or "", line=True):
        errors.append(("name", *bad_characters_message("姓名", "The name")))
    text = (text or "").strip()
    if len(text) < TEXT_MIN:
        errors.append(("text", f"请写明异议或举报的内容（至少{TEXT_MIN}个字）",
                       f"describe the objection or tip-off (at least {TEXT_MIN} characters)"))
    elif len(text) > TEXT_MAX:
        errors.append(("text", f"内容最长{TEXT_MAX}个字", f"at most {TEXT_MAX} characters"))
    name = " ".join((name or "").split())
    if len(name) > PERSON_NAME_MAX:
        errors.append(("name", f"姓名最长{PERSON_NAME_MAX}个字", f"the name may have at most {PERSON_NAME_MAX} characters"))
    # What a Chinese input method types in full-width mode is read as the ASCII it stands for; a digit of any
    # other script (Arabic-Indic, Devanagari, superscript ...) is refused.
    phone = (phone or "").translate(_FULL_WIDTH).strip()
    if phone and (len(phone) > PHONE_MAX or not all(ch in "0123456789 -+" for ch in phone)
                  or sum(ch.isdigit() for ch in phone) < 5):
        errors.append(("phone", "联系电话格式不正确", "the phone number is not valid"))
    case = None
    case_ref = (case_ref or "").strip()
    if case_ref:
        in_publicity, in_long_term = listed_refs(board)
        if case_ref not in in_publicity | in_long_term:
            errors.append(("case", "所选对象不在本公示栏上，请重新选择", "that family is not on this board: choose again"))
        else:
            case = db.session.get(Case, int(case_ref))
    if errors:
        raise ReportRefused(errors)

    office = board.unit.office()
    actor = system_actor(office)
    photo_sha = None
    if photo is not None and photo[0]:
        limit = int(current_app.config.get("RUHU_PUBLIC_MAX_PHOTO", 5 * 2**20))
        if len(photo[0]) > limit:
            raise OperationError("photo_too_large", f"照片不能超过{limit // 2**20}MB",
                                 f"the photo may be at most {limit // 2**20} MB", 413, field="photo")
        photo_sha = attachments.save(photo[0], declared_type=photo[1], user=actor, public=True)

    kind = "objection" if case is not None and case.status in PUBLICITY_STATES else "tipoff"
    report = Report(receipt=_receipt(today), board=board, office_unit_id=office.id, case=case, kind=kind,
                    text=text, name=name, phone=phone, photo_sha256=photo_sha, status="received",
                    client_hash=client_hash(remote_addr))
    db.session.add(report)
    db.session.flush()
    if case is not None and case.status == "publicity":
        event = perform(case, "record_objection", actor,
                        {"text": text, "source": "board", "note": f"回执号 {report.receipt}"},
                        today=today, commit=False)
        db.session.flush()
        report.case_event_id = event.id
        report.status = "investigating"
    audit.record("board.report", "board_report", report.id, actor=actor,
                 after={"receipt": report.receipt, "kind": kind, "board": board.code,
                        "case": case.id if case else None, "status": report.status,
                        "photo": photo_sha, "case_event": report.case_event_id})
    db.session.commit()
    return report


def report_by_receipt(receipt: str) -> Report | None:
    code = normalise_receipt(receipt)
    return db.session.scalar(select(Report).where(Report.receipt == code)) if code else None


def reports_of(user: User, status: str | None = None) -> list[Report]:
    office = _user_office(user)
    if office is None:
        return []
    query = select(Report).where(Report.office_unit_id == office.id)
    if status:
        query = query.where(Report.status == status)
    return list(db.session.scalars(query.order_by(Report.created_at.desc(), Report.id.desc())))


def report_for(user: User, report_id: int) -> Report | None:
    report = db.session.get(Report, report_id)
    office = _user_office(user)
    if report is None or office is None or report.office_unit_id != office.id or not can_view(user):
        return None
    return report


def start_investigating(actor: User, report: Report) -> Report:
    _require(actor)
    if report.status != "received":
        raise OperationError("report_status", "只有“已收到”的反映可以标记为正在调查核实",
                             "only a received report can be marked as being investigated", 409)
    report.status = "investigating"
    audit.record("board.report_investigate", "board_report", report.id, actor=actor,
                 before={"status": "received"}, after={"status": "investigating"})
    db.session.commit()
    return report


def answer_report(actor: User, report: Report, outcome: str, answer: str) -> Report:
    """The office's answer: ``outcome``, a line from ``REPORT_OUTCOMES``, is what whoever holds the receipt number
    is shown (with the date); ``answer``, what the office found and did, is its own record in the console."""
    _require(actor)
    if report.status == "answered":
        raise OperationError("report_answered", "已答复，不能重复答复", "this report has already been answered", 409)
    if outcome not in REPORT_OUTCOMES:
        raise OperationError("outcome_required", "请选择答复结论", "choose the outcome of the answer", field="outcome")
    answer = (answer or "").strip()
    if len(answer) < 2:
        raise OperationError("answer_required", "请填写核实和处理情况", "write what was checked and done", field="answer")
    if len(answer) > ANSWER_MAX:
        raise OperationError("answer_too_long", f"核实和处理情况最长{ANSWER_MAX}个字",
                             f"what was checked and done may have at most {ANSWER_MAX} characters", field="answer")
    before = {"status": report.status}
    report.status, report.outcome, report.answer = "answered", outcome, answer
    report.answered_at, report.answered_by_id = _now(), actor.id
    audit.record("board.report_answer", "board_report", report.id, actor=actor, before=before,
                 after={"status": "answered", "outcome": outcome, "answer": answer})
    db.session.commit()
    return report


# --- demo data -----------------------------------------------------------------------------------------

def create_demo_boards() -> list[Board]:
    """Boards for the demo organisation: each community and village, each natural village, and (when the
    profile publicises at township level) the office's hall and a market.  Units that already have a
    board are skipped, so calling it twice adds nothing."""
    created = []
    profiles = services().profiles
    has_board = set(db.session.scalars(select(Board.unit_id)))
    for unit in db.session.scalars(select(Unit).order_by(Unit.code)):
        if unit.id in has_board or unit.level == "district":
            continue
        pub = profiles[unit.profile_id].publicity
        levels = set(pub.board_levels) | set(pub.long_term_board_levels)
        specs: list[tuple[str, str]] = []
        if unit.level in ("community", "village") and kind_fits(unit.level, levels):
            specs.append((unit.level, f"{unit.name}社会救助公示栏"))
        elif unit.level == "natural_village" and kind_fits("natural_village", levels):
            specs.append(("natural_village", f"{unit.name}公示栏"))
        elif unit.level in OFFICE_LEVELS:
            if kind_fits("township", levels):
                specs.append(("township", f"{unit.name}便民服务大厅公示栏"))
            if kind_fits("busy_place", levels):
                specs.append(("busy_place", f"{unit.name}集贸市场公示栏"))
        for kind, name in specs:
            created.append(create_board(None, unit, kind, name, actor_label="demo"))
    return created


# --- posters -----------------------------------------------------------------------------------------

def shows_publicity(board: Board) -> bool:
    return kind_fits(board.kind, services().profiles[board.unit.profile_id].publicity.board_levels)


def poster_text(board: Board, today: dt.date):
    """The words of a board's poster (Chinese: it hangs on a notice board in China), for the PNG and the
    printable page alike."""
    from server import CHINA
    from server.posters import PosterText

    profile = services().profiles[board.unit.profile_id]
    office = board.unit.office()
    pub = profile.publicity
    minimum = f"{pub.minimum}{'个工作日' if pub.unit == 'working_days' else '天'}"
    parts = []
    if shows_publicity(board) or _long_term_filter(board) is None:
        parts.append(f"审核公示（拟纳入最低生活保障的家庭，公示期不少于{minimum}）")
    if _long_term_filter(board) is not None:
        parts.append("长期公示（正在享受最低生活保障的家庭）")
    issued = (board.rotated_at or board.created_at)
    if issued.tzinfo is None:
        issued = issued.replace(tzinfo=dt.UTC)
    tipoff = settings_for(board).tipoff
    office_name = office.name if office else board.unit.name
    return PosterText(
        title=board.public_title[0], heading="最低生活保障公示",
        unit_line=office_name if board.unit.id == (office.id if office else None) else f"{office_name} · {board.unit.name}",
        what="本公示栏公示：" + "和".join(parts),
        steps=("用手机扫描本海报上的二维码，查看本公示栏的公示名单（无需下载软件，无需登录）。",
               "对公示对象有异议，或要举报、反映情况：在页面上点“我要反映”填写，可以不留姓名；"
               "提交后请记下回执号，凭回执号查询办理情况。",
               f"也可以到{office_name}社会救助窗口当面反映。"),
        tipoff=f"监督举报电话：{tipoff}" if tipoff else "",
        dates=f"二维码启用日期：{issued.astimezone(CHINA).date().isoformat()}　打印日期：{today.isoformat()}",
        url=public_url(board))
