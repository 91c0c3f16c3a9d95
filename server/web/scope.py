"""Who may read what in the console, in one place: a case (the same query the lists use, so a list never
shows a case whose page answers 404) and a stored file.

A file is stored once by its SHA-256, whoever sent it first.  It is readable by whoever may read a
case or record that uses it — never because of who uploaded the bytes first:

- a case: its verification report, its history (any event's data naming the file: signatures, scans, the verification report, a
  fingerprint photo) or one of its visits (photos, signatures, the signed form, as attached or in the findings);
- a resident's report from a notice board (its photo): the office staff who may see the report;
- a payment roster (the leader's signature): whoever may see the roster;
- an assessment entry's evidence: the bureau that may see the entry.

So an investigator, who sees only the cases they are assigned to, cannot download another
community's verification report, and an office whose case holds bytes first stored by another office
reads them.
"""

from __future__ import annotations

from sqlalchemy import Text, cast, select

from server.extensions import db
from server.models import Case, CaseEvent, User, Visit
from server.operations.cases import visible_cases


def is_visible(user: User, case_id: int) -> bool:
    """Is the case in the user's lists?"""
    return db.session.scalar(visible_cases(user).where(Case.id == case_id).with_only_columns(Case.id)) is not None


def _cases_using(sha: str):
    """The ids of the cases whose history or visits name the file (hex digits only: safe inside LIKE)."""
    pattern = f"%{sha}%"
    in_events = select(CaseEvent.case_id).where(cast(CaseEvent.data, Text).like(pattern))
    in_visits = select(Visit.case_id).where(cast(Visit.attachments, Text).like(pattern)
                                            | cast(Visit.findings, Text).like(pattern))
    in_case = select(Case.id).where(cast(Case.verification, Text).like(pattern))
    return in_events.union(in_visits, in_case)


def may_read_file(user: User, sha: str) -> bool:
    """May this user read the stored file ``sha`` (a lowercase SHA-256)?"""
    from server.models.boards import Report
    from server.models.money import Roster
    from server.models.oversight import AssessmentItem
    from server.operations import OperationError
    from server.operations.boards import report_for
    from server.operations.oversight import item_for
    from server.operations.rosters import can_view

    if len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
        return False
    readable = visible_cases(user).with_only_columns(Case.id).where(Case.id.in_(_cases_using(sha)))
    if db.session.scalar(readable.limit(1)) is not None:
        return True
    for report_id in db.session.scalars(select(Report.id).where(Report.photo_sha256 == sha)):
        if report_for(user, report_id) is not None:
            return True
    if any(can_view(user, roster) for roster in db.session.scalars(
            select(Roster).where(Roster.signature_sha256 == sha))):
        return True
    for item_id in db.session.scalars(select(AssessmentItem.id).where(AssessmentItem.attachment_sha256 == sha)):
        try:
            item_for(user, item_id)
        except OperationError:
            continue
        return True
    return False
