"""Notice boards (公示栏), their QR tokens, and what residents send from them (异议、举报).

A board is a physical notice board owned by a unit (a community or village committee, a natural
village, the street office / township hall, or a busy place).  Residents reach its public page at
``/b/<token>``; rotating the token keeps the old one in ``board_tokens`` so that an old poster says
"replaced" instead of "not found".  Which cases a board lists is not stored here: publicity is read
from the case's latest ``open_publicity`` event (it names board codes), the long-term list from the
cases in payment under the board's unit (see ``server.operations.boards``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.orgs import Unit

BOARD_KINDS = {
    "community": ("社区居委会公示栏", "Community committee board"),
    "village": ("村委会公示栏", "Village committee board"),
    "natural_village": ("自然村公示栏", "Natural village board"),
    "township": ("街道（乡镇）便民服务大厅公示栏", "Street office / township hall board"),
    "busy_place": ("人员密集场所公示栏", "Board at a busy place"),
}
REPORT_KINDS = {
    "objection": ("公示异议", "Objection to a publicised case"),
    "tipoff": ("举报、反映", "Tip-off"),
}
# What residents are told when the office answers (the receipt page shows the chosen line and its date; what the
# office typed about it stays in the console: typed text never reaches a public page).
REPORT_OUTCOMES = {
    "upheld": ("经核实，反映的情况属实，已依规处理", "Checked: what you reported is true and has been dealt with"),
    "partly_upheld": ("经核实，反映的情况部分属实，已依规处理",
                      "Checked: what you reported is partly true and has been dealt with"),
    "not_upheld": ("经核实，反映的情况不属实", "Checked: what you reported is not borne out"),
    "unverifiable": ("经调查，现有线索不足以核实", "Looked into: there is not enough to go on to check it"),
    "referred": ("不属于最低生活保障事项，已转有关部门办理",
                 "Not a minimum living allowance matter: passed to the department responsible"),
}
REPORT_STATUSES = {
    "received": ("已收到", "Received"),
    "investigating": ("正在调查核实", "Being investigated"),
    "answered": ("已答复", "Answered"),
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)   # SQLite gives stored times naive


class Board(db.Model):
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A stable reference that publicity events name ("<unit code>-<n>"); never shown to residents.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # one of BOARD_KINDS
    token: Mapped[str] = mapped_column(String(43), unique=True)  # the current public token (/b/<token>)
    rotated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    unit: Mapped[Unit] = relationship()
    old_tokens: Mapped[list[BoardToken]] = relationship(back_populates="board", order_by="BoardToken.id")

    @property
    def kind_names(self) -> tuple[str, str]:
        return BOARD_KINDS[self.kind]

    @property
    def public_title(self) -> tuple[str, str]:
        """The board as residents see it named, on its pages and its poster: its unit and its kind, both from fixed
        lists (the name staff typed is for the console: typed text never reaches a public page)."""
        zh, en = BOARD_KINDS[self.kind]
        return f"{self.unit.name} · {zh}", f"{self.unit.name_en or self.unit.name} · {en}"

    def __repr__(self) -> str:
        return f"<Board {self.code} {self.name}>"


class BoardToken(db.Model):
    """A token a board had before it was rotated: old posters then say "this code has been replaced"."""

    __tablename__ = "board_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"), index=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    retired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    board: Mapped[Board] = relationship(back_populates="old_tokens")


class Report(db.Model):
    """An objection (异议, about a case in publicity) or a tip-off (举报) sent from a board's page.

    The name and phone a resident may leave are for the unit's staff only and are never shown on a
    public page; the receipt number is the resident's only way back to the status.
    """

    __tablename__ = "board_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt: Mapped[str] = mapped_column(String(20), unique=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"), index=True)
    office_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # whose console it lands in
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # one of REPORT_KINDS
    text: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(50), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    photo_sha256: Mapped[str | None] = mapped_column(ForeignKey("attachments.sha256"))
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)  # one of REPORT_STATUSES
    outcome: Mapped[str | None] = mapped_column(String(20))  # one of REPORT_OUTCOMES once answered
    answer: Mapped[str] = mapped_column(Text, default="")   # the office's own account: console only
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The case event this report became (record_objection), when it moved the case into re-investigation.
    case_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    # HMAC of the client address under the app's secret: evidence for rate limiting, not an address.
    client_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)

    board: Mapped[Board] = relationship()
    case = relationship("Case")
    case_event = relationship("CaseEvent")
    answered_by = relationship("User")
    office: Mapped[Unit] = relationship(foreign_keys=[office_unit_id])

    @property
    def status_names(self) -> tuple[str, str]:
        return REPORT_STATUSES[self.status]

    @property
    def kind_names(self) -> tuple[str, str]:
        return REPORT_KINDS[self.kind]

    @property
    def outcome_names(self) -> tuple[str, str] | None:
        return REPORT_OUTCOMES.get(self.outcome or "")

    @property
    def sent_by_current_link(self) -> bool:
        """Whether the board's link is still the one this report was sent by: the receipt page links back to the
        board only then (rotating the token is how a leaked link is withdrawn; a receipt must not give the new one
        away)."""
        rotated = self.board.rotated_at
        return rotated is None or _aware(rotated) <= _aware(self.created_at)
