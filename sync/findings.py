"""One shape for what a visit found, whatever the channel (phone, paper form in the console) — pure.

``derive_findings`` turns a visit's answers (a phone's envelope, or the console's paper-visit form put
into the same answer structure) into the **findings shape** every screen and print reads. Labels come
from the one form definition (``pwa/forms/*.json``), so no template knows a form's keys::

    {"shape": 1, "source": "device" | "paper", "form_id", "form_version",
     "members":   [{"id_number", "name", "relation", "relation_label": [zh, en] | None,
                    "co_residing": bool | None, "facts": [{"field", "label": [zh, en], "text": [zh, en]}]}],
     "income":    [{"source", "label": [zh, en], "months": [6 "0.00" strings], "total": "0.00"}],
     "income_total": "0.00" | None,       (None: the visit said nothing about income)
     (a source left entirely blank has no row: none declared; a month left blank, which only records
      from before partly filled sources were refused can have, is "—", and so are its row's total and
      income_total: unknown, never 0.00)
     "property":  [{"item", "label": [zh, en], "text"}],   (only items answered; integers as text)
     "conditions": [{"value", "label": [zh, en]}], "living_notes": str | None,
     "summary": str | None, "changes": str | None,
     "recommendation": {"value", "label": [zh, en]} | None,
     "investigators": [user ids], "applicant_signed": bool,
     "signatures": [{"slot", "slot_label": [zh, en], "role", "sha256", "applicant": bool}],
     "photos":     [{"slot", "slot_label": [zh, en], "sha256", "captured_at": str | None,
                     "position": POSITION | None}],
     "scan": sha256 | None, "gps": {"start", "finish"} | None,
     "started_at": str | None, "finished_at": str | None, "visit_on": "YYYY-MM-DD" | None}

Labels are ``[zh, en]`` pairs (the console's ``names()`` macro takes them). Booleans of member facts
are written as 是/否 (Yes/No); choices by their option label. The function never raises on a form it
does not know well: sections it does not recognise are left out.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from server.domain.declaration import MONTHS, UNKNOWN, amount, blank_months

__all__ = ["SHAPE_VERSION", "YES_NO", "derive_findings", "income_findings", "label_value"]

SHAPE_VERSION = 1
APPLICANT_SLOT = "applicant"   # the slot every survey form gives the applicant's signature or fingerprint
YES_NO = {True: ["是", "Yes"], False: ["否", "No"]}
# Member fields shown in the member's own line (name, ID number, relation and co-residence have their own
# places); the rest are "facts".
_MEMBER_OWN = ("name", "id_number", "relation", "co_residing")


def _pair(text: Mapping[str, str] | None, fallback: str = "") -> list[str]:
    if isinstance(text, Mapping):
        return [str(text.get("zh") or fallback), str(text.get("en") or text.get("zh") or fallback)]
    return [fallback, fallback]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


def label_value(field: Mapping[str, Any], value: Any) -> list[str] | None:
    """A field's answer as a [zh, en] label: options by their label, booleans 是/否, lists joined; None when blank."""
    value = _clean(value)
    if value is None or value == []:
        return None
    ftype = field.get("type")
    if isinstance(value, bool):
        return list(YES_NO[value])
    options = {o.get("value"): o.get("label") for o in field.get("options") or [] if isinstance(o, Mapping)}
    if ftype == "choice":
        return _pair(options.get(value), str(value))
    if ftype == "multi" and isinstance(value, list):
        pairs = [_pair(options.get(v), str(v)) for v in value]
        return ["、".join(p[0] for p in pairs), ", ".join(p[1] for p in pairs)]
    if ftype == "money6" and isinstance(value, list):
        return [" / ".join(str(v) for v in value)] * 2
    return [str(value), str(value)]


def _section(form: Mapping[str, Any], section_id: str) -> Mapping[str, Any] | None:
    return next((s for s in form.get("sections") or [] if s.get("id") == section_id), None)


def _fields(section: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {f["id"]: f for f in (section or {}).get("fields") or []}


def _members(form: Mapping[str, Any], rows: Any) -> list[dict[str, Any]]:
    fields = _fields(_section(form, "members"))
    out = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        relation = _clean(row.get("relation"))
        rel_field = fields.get("relation")
        facts = []
        for fid, field in fields.items():
            if fid in _MEMBER_OWN:
                continue
            text = label_value(field, row.get(fid))
            if text is not None:
                facts.append({"field": fid, "label": _pair(field.get("label"), fid), "text": text})
        number = _clean(row.get("id_number"))
        out.append({"id_number": number.upper() if isinstance(number, str) else None, "name": _clean(row.get("name")),
                    "relation": relation,
                    "relation_label": label_value(rel_field, relation) if rel_field and relation else None,
                    "co_residing": row.get("co_residing") if isinstance(row.get("co_residing"), bool) else None,
                    "facts": facts})
    return out


def income_findings(form: Mapping[str, Any], answers: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The ``income`` rows and ``income_total`` of the findings shape, from a visit's answers."""
    section = _section(form, "income")
    given = answers.get("income")
    if section is None or not isinstance(given, Mapping):
        return [], None
    rows, total, said, unknown = [], Decimal("0"), False, False
    for field in section.get("fields") or []:
        value = given.get(field["id"])
        if field.get("type") == "money6" and isinstance(value, list) and len(value) == MONTHS:
            blanks = blank_months(value)
            if len(blanks) == MONTHS:      # none declared: no row, shown "—" where a screen lists every source
                continue
            months = [None if i in blanks else amount(v) if isinstance(v, str) else None
                      for i, v in enumerate(value, 1)]
            if any(m is None for i, m in enumerate(months, 1) if i not in blanks):
                continue
            # A month left blank (only records from before such lists were refused) is unknown, never 0: it is
            # shown "—", and so are its source's total and the visit's.
            known = [m for m in months if m is not None]
            subtotal = sum(known, Decimal("0"))
            rows.append({"source": field["id"], "label": _pair(field.get("label"), field["id"]),
                         "months": [UNKNOWN if m is None else f"{m:.2f}" for m in months],
                         "total": UNKNOWN if blanks else f"{subtotal:.2f}"})
            total += subtotal
            unknown = unknown or bool(blanks)
            said = True
        elif field.get("type") == "money" and isinstance(value, str) and amount(value) is not None:
            rows.append({"source": field["id"], "label": _pair(field.get("label"), field["id"]), "months": [],
                         "total": f"{amount(value):.2f}"})
            total += amount(value)
            said = True
    return rows, (None if not said else UNKNOWN if unknown else f"{total:.2f}")


def _property(form: Mapping[str, Any], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    given = answers.get("property")
    if not isinstance(given, Mapping):
        return []
    out = []
    for fid, field in _fields(_section(form, "property")).items():
        value = _clean(given.get(fid))
        if value is None or isinstance(value, bool):
            continue
        out.append({"item": fid, "label": _pair(field.get("label"), fid), "text": str(value)})
    return out


def _slots(form: Mapping[str, Any]) -> dict[str, list[str]]:
    return {s["id"]: _pair(s.get("label"), s["id"]) for s in form.get("slots") or [] if isinstance(s, Mapping)}


def derive_findings(form: Mapping[str, Any], answers: Mapping[str, Any], *, source: str,
                    attachments: Iterable[Mapping[str, Any]] = (), investigators: Sequence[int] = (),
                    gps: Mapping[str, Any] | None = None, started_at: str | None = None,
                    finished_at: str | None = None, visit_on: str | None = None, scan: str | None = None,
                    applicant_signed: bool | None = None) -> dict[str, Any]:
    """The findings shape (see the module docstring) of one visit's answers against its form definition.

    ``attachments`` are envelope attachment items ({"sha256", "role", "slot"[, "captured_at", "position"]});
    ``applicant_signed`` defaults to "an attachment in the form's applicant slot".
    """
    answers = answers if isinstance(answers, Mapping) else {}
    findings = answers.get("findings") if isinstance(answers.get("findings"), Mapping) else {}
    living = answers.get("living") if isinstance(answers.get("living"), Mapping) else {}
    living_fields = _fields(_section(form, "living"))
    finding_fields = _fields(_section(form, "findings"))

    conditions = []
    cond_field = living_fields.get("conditions")
    if cond_field is not None and isinstance(living.get("conditions"), list):
        labels = {o["value"]: o.get("label") for o in cond_field.get("options") or []}
        conditions = [{"value": v, "label": _pair(labels.get(v), v)} for v in living["conditions"] if isinstance(v, str)]

    recommendation = None
    rec = _clean(findings.get("recommendation"))
    if isinstance(rec, str):
        recommendation = {"value": rec, "label": label_value(finding_fields.get("recommendation") or {}, rec)}

    slots = _slots(form)
    signatures, photos = [], []
    for item in attachments:
        slot = item.get("slot")
        entry = {"slot": slot, "slot_label": slots.get(slot, [str(slot), str(slot)]), "sha256": item.get("sha256")}
        if item.get("role") == "photo":
            photos.append({**entry, "captured_at": item.get("captured_at"), "position": item.get("position")})
        else:
            signatures.append({**entry, "role": item.get("role"), "applicant": slot == APPLICANT_SLOT})
    if applicant_signed is None:
        applicant_signed = any(s["applicant"] for s in signatures)

    income, income_total = income_findings(form, answers)
    return {
        "shape": SHAPE_VERSION, "source": source, "form_id": form.get("id"), "form_version": form.get("version"),
        "members": _members(form, answers.get("members")),
        "income": income, "income_total": income_total,
        "property": _property(form, answers),
        "conditions": conditions, "living_notes": _clean(living.get("notes")),
        "summary": _clean(findings.get("summary")), "changes": _clean(findings.get("changes")),
        "recommendation": recommendation,
        "investigators": sorted(set(investigators)), "applicant_signed": bool(applicant_signed),
        "signatures": signatures, "photos": photos, "scan": scan,
        "gps": dict(gps) if isinstance(gps, Mapping) else None,
        "started_at": started_at, "finished_at": finished_at, "visit_on": visit_on,
    }
