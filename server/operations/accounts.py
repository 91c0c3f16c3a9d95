"""Units, users and signing in."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from server.extensions import db
from server.models import Unit, User
from server.models.orgs import CHILD_LEVELS, LEVEL_NAMES
from server.models.users import MIN_PASSWORD, ROLE_LEVELS, ROLE_NAMES
from server.operations import OperationError, audit

NAME_MAX = User.__table__.c.name.type.length   # 50: the staff member's display name
_UNIT_CODE = re.compile(r"[0-9A-Za-z_-]{1,32}")


def add_unit(code: str, name: str, level: str, profile_id: str | None, parent: Unit | None = None,
             name_en: str = "", *, known_profiles=None, actor_label: str = "cli") -> Unit:
    """Create an organisation unit under ``parent`` (a district has no parent).

    The district names the rules profile; a unit below it uses its parent's (``profile_id`` None: inherit)."""
    code, name, name_en = (code or "").strip(), (name or "").strip(), (name_en or "").strip()
    if not _UNIT_CODE.fullmatch(code):
        raise OperationError("unit_code_invalid", "单位代码须为1-32位数字、字母、“-”或“_”",
                             "the unit code must be 1-32 digits, letters, '-' or '_'", field="code")
    if not name or len(name) > 100 or len(name_en) > 150:
        raise OperationError("unit_name_invalid", "单位名称不能为空，最长100个字符（英文名称150个）",
                             "the unit name must be 1-100 characters (the English name at most 150)", field="name")
    if level not in LEVEL_NAMES:
        raise OperationError("unit_level_invalid", f"单位层级无效：{level}（可选：{'、'.join(LEVEL_NAMES)}）",
                             f"unknown unit level: {level} (choose from {', '.join(LEVEL_NAMES)})")
    if parent is None and level != "district":
        raise OperationError("unit_parent_invalid", f"{LEVEL_NAMES[level][0]}须有上级单位",
                             f"a {level} needs a parent unit")
    if parent is not None and level == "district":
        raise OperationError("unit_parent_invalid", "区/县没有上级单位", "a district has no parent unit")
    if parent is not None and level not in CHILD_LEVELS[parent.level]:
        raise OperationError("unit_parent_invalid", f"{LEVEL_NAMES[parent.level][0]}下不能设{LEVEL_NAMES[level][0]}",
                             f"a {level} cannot sit under a {parent.level}"
                             f" (under a {parent.level}: {', '.join(CHILD_LEVELS[parent.level]) or 'nothing'})")
    if parent is not None and profile_id is None:
        profile_id = parent.profile_id
    if profile_id is None:
        raise OperationError("profile_missing", "区/县须指定规则文件", "a district needs a rules profile")
    if parent is not None and profile_id != parent.profile_id:
        raise OperationError("profile_not_inherited",
                             f"下级单位沿用上级单位的规则文件（{parent.profile_id}），不能另设 {profile_id}",
                             f"a unit uses its parent's rules profile ({parent.profile_id}), not {profile_id}")
    if known_profiles is not None and profile_id not in known_profiles:
        raise OperationError("profile_unknown", f"规则文件不存在：{profile_id}", f"unknown rules profile: {profile_id}")
    if db.session.scalar(select(Unit).where(Unit.code == code)):
        raise OperationError("unit_code_taken", f"单位代码已存在：{code}", f"unit code already exists: {code}", 409)
    unit = Unit(code=code, name=name, name_en=name_en, level=level, parent=parent, profile_id=profile_id)
    db.session.add(unit)
    db.session.flush()
    audit.record("unit.create", "unit", unit.id, actor_label=actor_label,
                 after={"code": code, "name": name, "level": level, "profile": profile_id,
                        "parent": parent.code if parent else None})
    return unit


def add_user(username: str, role: str, unit_code: str, password: str, name: str = "", *,
             actor: User | None = None, actor_label: str = "cli") -> User:
    """Create a staff account; the role must fit the unit's level (a caseworker sits at a street office...)."""
    username, name = (username or "").strip(), (name or "").strip()
    if not username or len(username) > 64 or any(c.isspace() or not c.isprintable() for c in username):
        raise OperationError("username_invalid", "用户名不能为空、不能含空格或控制字符、最长64个字符",
                             "the username must be 1-64 characters without spaces or control characters")
    if len(name) > NAME_MAX or any(not c.isprintable() for c in name):
        raise OperationError("name_invalid", f"姓名最长{NAME_MAX}个字符，不能含控制字符（现有{len(name)}个字符）",
                             f"the name must be at most {NAME_MAX} characters without control characters "
                             f"(it has {len(name)})")
    if role not in ROLE_NAMES:
        raise OperationError("role_invalid", f"角色无效：{role}（可选：{'、'.join(ROLE_NAMES)}）",
                             f"unknown role: {role} (choose from {', '.join(ROLE_NAMES)})")
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise OperationError("unit_unknown", f"单位不存在：{unit_code}", f"no unit with code {unit_code}", 404)
    if unit.level not in ROLE_LEVELS[role]:
        raise OperationError("role_unit_mismatch",
                             f"{ROLE_NAMES[role][0]}不能设在{LEVEL_NAMES[unit.level][0]}",
                             f"a {role} cannot belong to a {unit.level}")
    if len(password or "") < MIN_PASSWORD:
        raise OperationError("password_too_short", f"密码至少{MIN_PASSWORD}个字符",
                             f"the password needs at least {MIN_PASSWORD} characters")
    if "\x00" in (password or ""):
        raise OperationError("password_invalid", "密码不能含空字符（NUL），否则无法登录",
                             "the password must not contain a NUL character: it could never be typed to sign in")
    if db.session.scalar(select(User).where(User.username == username)):
        raise OperationError("username_taken", f"用户名已存在：{username}", f"username already exists: {username}", 409)
    user = User(username=username, name=name or username[:NAME_MAX], role=role, unit=unit)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=actor, actor_label=actor_label,
                 after={"username": username, "role": role, "unit": unit_code})
    return user


class LoginRefused(OperationError):
    pass


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_check(password: str) -> None:
    """Spend what a real password check costs, so an unknown username answers as slowly as a known one."""
    from flask import current_app
    from werkzeug.security import check_password_hash, generate_password_hash

    method = current_app.config.get("RUHU_PASSWORD_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("ruhu-no-such-account", method=method)
    check_password_hash(_DUMMY_HASHES[method], password)


def _unknown_locked_until(label: str, now: dt.datetime, max_failures: int, lock_minutes: int) -> dt.datetime | None:
    """An unknown username is "locked" exactly as an account would be: after ``max_failures`` failures
    within the lock time, for the lock time from the last of them (the same answer either way)."""
    from server.models import AuditEntry

    since = now - dt.timedelta(minutes=lock_minutes)
    times = db.session.scalars(
        select(AuditEntry.at).where(AuditEntry.action == "login.failed", AuditEntry.actor_id.is_(None),
                                    AuditEntry.actor_label == label, AuditEntry.at > since)
        .order_by(AuditEntry.at.desc()).limit(max_failures)).all()
    if len(times) < max_failures:
        return None
    last = times[0] if times[0].tzinfo else times[0].replace(tzinfo=dt.UTC)
    return last + dt.timedelta(minutes=lock_minutes)


def _locked(locked: dt.datetime, now: dt.datetime) -> LoginRefused:
    minutes = max(1, int((locked - now).total_seconds() // 60) + 1)
    return LoginRefused("account_locked", f"连续登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试",
                        f"too many failed sign-ins: the account is locked for {minutes} more minutes", 429,
                        retry_after=minutes * 60)


def sign_in(username: str, password: str, now: dt.datetime, *, max_failures: int, lock_minutes: int,
            remote_addr: str = "") -> User:
    """Check a password.  Repeated failures lock the account; every outcome is audited.

    An unknown (or disabled) username gets the same answers at the same cost as a real account: a
    password hash is checked against a dummy, and repeated failures "lock" it the same way."""
    username = (username or "").strip()
    user = db.session.scalar(select(User).where(User.username == username)) if len(username) <= 64 else None
    generic = LoginRefused("login_failed", "用户名或密码错误", "wrong username or password", 401)
    if user is None or not user.active:
        label = (username or "-")[:64]
        locked = _unknown_locked_until(label, now, max_failures, lock_minutes)
        _dummy_check(password or "")
        if locked is not None and locked > now:
            raise _locked(locked, now)
        audit.record("login.failed", "user", label[:40], actor_label=label, remote_addr=remote_addr)
        db.session.commit()
        raise generic
    locked = user.locked_until
    if locked is not None and locked.tzinfo is None:
        locked = locked.replace(tzinfo=dt.UTC)
    if locked is not None and locked > now:
        _dummy_check(password or "")
        raise _locked(locked, now)
    if not user.check_password(password or ""):
        user.failed_logins += 1
        after = {"failed_logins": user.failed_logins}
        if user.failed_logins >= max_failures:
            user.locked_until = now + dt.timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            after["locked_until"] = user.locked_until.isoformat()
        audit.record("login.failed", "user", user.id, actor=user, after=after, remote_addr=remote_addr)
        db.session.commit()
        raise generic
    user.failed_logins = 0
    user.locked_until = None
    audit.record("login", "user", user.id, actor=user, remote_addr=remote_addr)
    db.session.commit()
    return user


def end_sessions(user: User | None, *, remote_addr: str = "") -> None:
    """Sign-out: raise the account's session epoch so every cookie issued to it stops working."""
    if user is None:
        return
    user.session_epoch = (user.session_epoch or 0) + 1
    audit.record("logout", "user", user.id, actor=user, remote_addr=remote_addr)
    db.session.commit()
