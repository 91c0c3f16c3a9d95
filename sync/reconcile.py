"""The reconciliation a caseworker reads at a glance, and the picks turned back into choices — pure.

``rows`` turns a visit's merge result (``{"proposals": {path: value}, "conflicts": {path: {"base",
"current", "proposed"}}, "missing": [ID numbers]}``, see ``sync.merge``) into groups a person reads:
one group per member (titled with the name and relation), then income, property and living
conditions. Values are labels from the form definition (是/否, relation names, condition names,
amounts in yuan), never internal paths or raw values:

- a member the record does not have is ONE row, "新增成员：<name>（<relation>）", covering all its paths;
- a member of the record the visit did not list (``missing``) is ONE row, "调查时未见：<name>";
  choosing the visit's side means the member no longer lives with the household;
- a path changed both in the record since the phone pulled it and by the visit is a **conflict** row.

Each row has an opaque ``key`` (``r0``, ``r1``… in a stable order) that the console form posts back as
``pick:<key>`` = ``visit`` | ``current``; ``resolve`` turns the picks into the record choices
(path -> value), the members to add and the members who left, or names in Chinese every conflict left
undecided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.findings import label_value

__all__ = ["Resolution", "Row", "resolve", "rows"]

_SECTIONS = (("income", ["收入（近6个月合计）", "Income (6-month totals)"]),
             ("property", ["家庭财产", "Property"]),
             ("living", ["生活状况", "Living conditions"]))


@dataclass
class Row:
    key: str
    label: list[str]                     # [zh, en]
    paths: list[str]
    base: list[str] | None = None        # labels; None is "not recorded"
    current: list[str] | None = None
    proposed: list[str] | None = None
    conflict: bool = False
    kind: str = "field"                  # field | new_member | absent_member
    member: str | None = None            # the ID number of a new or absent member
    default: str = "visit"               # the pick pre-selected: visit | current | "" (must choose)


@dataclass
class Group:
    title: list[str]
    rows: list[Row] = field(default_factory=list)


def _field_defs(form: Mapping[str, Any]) -> dict[str, dict[str, Mapping[str, Any]]]:
    return {s["id"]: {f["id"]: f for f in s.get("fields") or []} for s in form.get("sections") or []}


def _pair(text: Any, fallback: str) -> list[str]:
    if isinstance(text, Mapping):
        return [str(text.get("zh") or fallback), str(text.get("en") or fallback)]
    return [fallback, fallback]


def _value(fdef: Mapping[str, Any] | None, value: Any, section: str) -> list[str] | None:
    if value is None or value == [] or value == "":
        return None
    if section == "income" and isinstance(value, str):
        return [f"{value} 元", f"{value} yuan"]
    return label_value(fdef or {}, value)


def _member_title(number: str, record: Mapping[str, Any], visit_names: Mapping[str, str],
                  relation_field: Mapping[str, Any]) -> list[str]:
    name = record.get(f"member/{number}/name") or visit_names.get(number) or "—"
    relation = record.get(f"member/{number}/relation")
    rel = label_value(relation_field, relation) if relation else None
    return [f"{name}（{rel[0]}）" if rel else name, f"{name} ({rel[1]})" if rel else name]


def rows(form: Mapping[str, Any], merge: Mapping[str, Any], current: Mapping[str, Any]) -> list[Group]:
    """The groups and rows of one visit's reconciliation (see the module docstring)."""
    defs = _field_defs(form)
    member_defs = defs.get("members", {})
    relation_field = member_defs.get("relation", {})
    proposals: Mapping[str, Any] = merge.get("proposals") or {}
    conflicts: Mapping[str, Mapping[str, Any]] = merge.get("conflicts") or {}
    missing: list[str] = sorted(merge.get("missing") or [])
    known = {p.split("/")[1] for p in current if p.startswith("member/") and p.count("/") == 2}

    items: dict[str, tuple[Any, Any, Any, bool]] = {}   # path -> (base, current, proposed, conflict)
    for path, value in proposals.items():
        items[path] = (current.get(path), current.get(path), value, False)
    for path, c in conflicts.items():
        items[path] = (c.get("base"), c.get("current"), c.get("proposed"), True)

    visit_names = {p.split("/")[1]: v for p, (_, _, v, _) in items.items()
                   if p.startswith("member/") and p.endswith("/name") and isinstance(v, str)}
    by_member: dict[str, list[str]] = {}
    by_section: dict[str, list[str]] = {}
    order = {f"{section}/{fid}": i for section, fields in defs.items() for i, fid in enumerate(fields)}

    def form_order(path: str) -> tuple:   # a member's or a section's fields in the order the form asks them
        parts = path.split("/")
        key = f"members/{parts[2]}" if parts[0] == "member" and len(parts) == 3 else path
        return (parts[0], parts[1] if parts[0] == "member" else "", order.get(key, len(order)), path)

    for path in sorted(items, key=form_order):
        parts = path.split("/")
        if parts[0] == "member" and len(parts) == 3:
            by_member.setdefault(parts[1], []).append(path)
        else:
            by_section.setdefault(parts[0], []).append(path)

    groups: list[Group] = []
    counter = iter(range(10**6))

    def key() -> str:
        return f"r{next(counter)}"

    for number in sorted(set(by_member) | set(missing)):
        if number in by_member and number not in known:      # a member the record does not have
            paths = by_member[number]
            name = items.get(f"member/{number}/name", (None, None, None, False))[2] or "—"
            relation = items.get(f"member/{number}/relation", (None, None, None, False))[2]
            rel = label_value(relation_field, relation) if relation else None
            facts = []
            for path in paths:
                fid = path.split("/")[2]
                if fid in ("name", "relation"):
                    continue
                text = _value(member_defs.get(fid), items[path][2], "members")
                if text is not None:
                    label = _pair(member_defs.get(fid, {}).get("label"), fid)
                    facts.append((f"{label[0]}：{text[0]}", f"{label[1]}: {text[1]}"))
            title = [f"{name}（{rel[0] if rel else '—'}）", f"{name} ({rel[1] if rel else '—'})"]
            group = Group(title)
            group.rows.append(Row(key(), [f"新增成员：{title[0]}，身份证号码 {number}", f"New member: {title[1]}, ID {number}"],
                                  paths, proposed=["；".join(f[0] for f in facts), "; ".join(f[1] for f in facts)],
                                  conflict=any(items[p][3] for p in paths), kind="new_member", member=number))
            groups.append(group)
            continue
        group = Group(_member_title(number, current, visit_names, relation_field))
        if number in missing:
            group.rows.append(Row(key(), ["调查时未见此成员（不再共同生活）", "Not found at the visit (no longer lives here)"],
                                  [], current=["在册", "On the record"], proposed=["不再共同生活", "No longer lives here"],
                                  kind="absent_member", member=number, default="current"))
        for path in by_member.get(number, []):
            fid = path.split("/")[2]
            fdef = member_defs.get(fid)
            base, now, found, conflict = items[path]
            group.rows.append(Row(key(), _pair((fdef or {}).get("label"), fid), [path],
                                  _value(fdef, base, "members"), _value(fdef, now, "members"),
                                  _value(fdef, found, "members"), conflict, default="" if conflict else "visit"))
        groups.append(group)

    for section, title in _SECTIONS:
        paths = by_section.pop(section, [])
        if not paths:
            continue
        group = Group(list(title))
        sdefs = defs.get(section, {})
        if section == "income":
            sdefs = {**sdefs}
        for path in paths:
            fid = path.split("/", 1)[1]
            fdef = sdefs.get(fid)
            base, now, found, conflict = items[path]
            group.rows.append(Row(key(), _pair((fdef or {}).get("label"), fid), [path],
                                  _value(fdef, base, section), _value(fdef, now, section),
                                  _value(fdef, found, section), conflict, default="" if conflict else "visit"))
        groups.append(group)
    for section, paths in sorted(by_section.items()):   # a section this form does not describe
        group = Group(["其他", "Other"])
        for path in paths:
            base, now, found, conflict = items[path]
            group.rows.append(Row(key(), ["其他项目", "Other item"], [path], _value(None, base, section),
                                  _value(None, now, section), _value(None, found, section), conflict,
                                  default="" if conflict else "visit"))
        groups.append(group)
    return groups


@dataclass(frozen=True)
class Resolution:
    choices: dict[str, Any]          # path -> value to set (None removes)
    new_members: list[str]           # ID numbers accepted into the household
    left: list[str]                  # ID numbers accepted as no longer living with the household
    undecided: list[list[str]]       # labels of conflicts without a pick
    changes: list[list[str]]         # labels of the rows where the visit's side was taken


def resolve(groups: list[Group], merge: Mapping[str, Any], current: Mapping[str, Any],
            picks: Mapping[str, str]) -> Resolution:
    """The caseworker's picks (row key -> "visit" | "current"; a missing pick takes the row's default)."""
    proposals = merge.get("proposals") or {}
    conflicts = merge.get("conflicts") or {}
    choices: dict[str, Any] = {}
    new_members, left, undecided, changes = [], [], [], []
    for group in groups:
        for row in group.rows:
            pick = picks.get(row.key) or row.default
            if pick not in ("visit", "current"):
                undecided.append([f"{group.title[0]} · {row.label[0]}", f"{group.title[1]} · {row.label[1]}"])
                continue
            if pick == "current":
                for path in row.paths:   # a conflict kept as it is now still needs its choice recorded
                    if path in conflicts:
                        choices[path] = current.get(path)
                continue
            changes.append([f"{group.title[0]} · {row.label[0]}", f"{group.title[1]} · {row.label[1]}"])
            for path in row.paths:
                choices[path] = proposals[path] if path in proposals else conflicts[path].get("proposed")
            if row.kind == "new_member":
                new_members.append(row.member)
            elif row.kind == "absent_member":
                left.append(row.member)
                choices[f"member/{row.member}/co_residing"] = False
    return Resolution(choices, new_members, left, undecided, changes)
