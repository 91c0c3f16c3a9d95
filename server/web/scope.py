"""Who may read what in the console, in one place: a case (the same query the lists use, so a list never
shows a case whose page answers 404) and a stored file.

A file is stored once by its SHA-256, whoever sent it first.  It is readable by whoever may read a
case or record that uses it — never because of who uploaded the bytes first:

- a case: its verification report (``Case.verification["report"]["file"]``), its history (an event's file keys,
  :data:`server.operations.cases.EVENT_FILE_KEYS`: signatures, scans, a fingerprint photo; the verification
  report of ``record_verification_report`` and of a re-review's evidence; the photos, signatures and scan of
  the visit findings an event carries) or one of its visits (the attachments by role, the envelope's attachment
  items, the findings' photos, signatures and scan);
- a resident's report from a notice board (its photo): the office staff who may see the report;
- a payment roster (the leader's signature): whoever may see the roster;
- an assessment entry's evidence: the bureau that may see the entry.

Only those structured places count, never text: a reason, a note, an objection or a visit's summary that
happens to contain a file's hash names nothing (else anyone could read any file whose hash they know by typing
it into their own case).  The database narrows the rows to those whose JSON contains the hash at all (one scan,
as cheap as before); the structured check is then made in Python on those few rows, alike on SQLite and
PostgreSQL.

So an investigator, who sees only the cases they are assigned to, cannot download another
community's verification report, and an office whose case holds bytes first stored by another office
reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Text, cast, select

from server.extensions import db
from server.models import Case, CaseEvent, User, Visit
from server.operations.cases import EVENT_FILE_KEYS, visible_cases


def is_visible(user: User, case_id: int) -> bool:
    """Is the case in the user's lists?"""
    return db.session.scalar(visible_cases(user).where(Case.id == case_id).with_only_columns(Case.id)) is not None


def _is(value: Any, sha: str) -> bool:
    return isinstance(value, str) and value.lower() == sha


def _in_items(items: Any, key: str, sha: str) -> bool:
    """Does a list of dicts hold ``sha`` under ``key`` in one of its items?"""
    return isinstance(items, list) and any(isinstance(i, Mapping) and _is(i.get(key), sha) for i in items)


def _in_findings(findings: Any, sha: str) -> bool:
    """The findings shape (``sync.findings``): its photos, signatures and the signed form's scan."""
    if not isinstance(findings, Mapping):
        return False
    return (_in_items(findings.get("photos"), "sha256", sha) or _in_items(findings.get("signatures"), "sha256", sha)
            or _is(findings.get("scan"), sha))


def event_names_file(data: Any, sha: str) -> bool:
    """Does a case event's data name the file in one of the places a step keeps a file?"""
    if not isinstance(data, Mapping):
        return False
    if any(_is(data.get(key), sha) for key in EVENT_FILE_KEYS):
        return True
    report = data.get("report")        # record_verification_report
    if isinstance(report, Mapping) and _is(report.get("file"), sha):
        return True
    evidence = data.get("evidence")    # a re-review's conclusion: the new verification report
    if isinstance(evidence, list) and any(isinstance(e, Mapping) and e.get("kind") == "verification_report"
                                          and _is(e.get("file"), sha) for e in evidence):
        return True
    return _in_findings(data.get("findings"), sha)


def visit_names_file(attachments: Any, findings: Any, envelope: Any, sha: str) -> bool:
    """Does a visit name the file: its attachments by role (a hash or a list of them), its envelope's
    attachment items, its findings?"""
    if isinstance(attachments, Mapping):
        for value in attachments.values():
            if _is(value, sha) or (isinstance(value, list) and any(_is(v, sha) for v in value)):
                return True
    if isinstance(envelope, Mapping) and _in_items(envelope.get("attachments"), "sha256", sha):
        return True
    return _in_findings(findings, sha)


def verification_names_file(verification: Any, sha: str) -> bool:
    report = verification.get("report") if isinstance(verification, Mapping) else None
    return isinstance(report, Mapping) and _is(report.get("file"), sha)


def _cases_using(sha: str) -> set[int]:
    """The ids of the cases that use the file in a structured place.  The LIKE only narrows the rows read
    (hex digits only: safe inside it); whether a row names the file is decided by the keys it is kept under."""
    pattern = f"%{sha}%"
    found: set[int] = set()
    for case_id, verification in db.session.execute(
            select(Case.id, Case.verification).where(cast(Case.verification, Text).like(pattern))):
        if verification_names_file(verification, sha):
            found.add(case_id)
    for case_id, data in db.session.execute(
            select(CaseEvent.case_id, CaseEvent.data).where(cast(CaseEvent.data, Text).like(pattern))):
        if case_id not in found and event_names_file(data, sha):
            found.add(case_id)
    for case_id, attachments, findings, envelope in db.session.execute(
            select(Visit.case_id, Visit.attachments, Visit.findings, Visit.envelope).where(
                cast(Visit.attachments, Text).like(pattern) | cast(Visit.findings, Text).like(pattern))):
        # (A phone's envelope lists its files again in ``attachments`` by role: the larger envelope need not be
        # scanned, only checked on the rows found.)
        if case_id not in found and visit_names_file(attachments, findings, envelope, sha):
            found.add(case_id)
    return found


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
    using = _cases_using(sha)
    if using and db.session.scalar(
            visible_cases(user).with_only_columns(Case.id).where(Case.id.in_(sorted(using))).limit(1)) is not None:
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
