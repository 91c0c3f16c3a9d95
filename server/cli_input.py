"""Checks every ``ruhu`` command applies to what it is given, before it does anything.

- Text arguments and options that no field can hold are refused with a message in both languages and
  exit 1: lone UTF-16 surrogates (bytes that are not UTF-8, e.g. typed in a GBK terminal), NUL and
  other control characters (the same bad text the web's guard refuses, plus the other controls).
- Whole numbers that name a row (ids) or count something have a range (:class:`IntRange`) whose
  refusal is in both languages too; an id past a 32-bit column is refused before any query.  A negative
  one (``boards rotate -1``) reaches that refusal too, where click would call it an unknown option.
"""

from __future__ import annotations

import functools
import os
import re
import sys

import click

from server.guard import INT4_MAX

# Surrogates (not encodable as UTF-8), NUL and every other C0/C1 control character.
_BAD_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_OPTION = re.compile("--?[A-Za-z][A-Za-z0-9-]*")   # what an option looks like (-1 does not)


def bad_text(value: object) -> bool:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        return False
    if isinstance(value, str):
        return _BAD_TEXT.search(value) is not None
    if isinstance(value, tuple | list):
        return any(bad_text(v) for v in value)
    return False


def _param_name(param: click.Parameter) -> str:
    if isinstance(param, click.Option) and param.opts:
        return max(param.opts, key=len)
    return (param.name or "").upper()


def refuse_bad_text(command: click.Command, values: dict) -> None:
    """Exit 1 naming the first parameter whose text has a surrogate, NUL or another control character."""
    for param in command.params:
        if bad_text(values.get(param.name)):
            name = _param_name(param)
            click.echo(f"错误：{name} 含有无效字符（非 UTF-8 编码、空字符或控制字符），请检查终端编码后重新输入\n"
                       f"error: {name} contains characters that are not valid text (not UTF-8, NUL or a control "
                       "character); check the terminal's encoding and type it again", err=True)
            sys.exit(1)


def _takes_a_number(command: click.Command) -> bool:
    return any(isinstance(p, click.Argument) and isinstance(p.type, click.IntRange) for p in command.params)


def guard_commands(*groups: click.Group) -> None:
    """Make every command of ``groups`` (and their subgroups) refuse bad text before it runs, and let a
    negative number reach a numeric argument's range check (idempotent)."""
    for group in groups:
        for command in group.commands.values():
            if isinstance(command, click.Group):
                guard_commands(command)
                continue
            if _takes_a_number(command):
                # click reads "-1" as an unknown option; passed on, it is refused by the argument's IntRange
                command.context_settings.setdefault("ignore_unknown_options", True)
            callback = command.callback
            if callback is None or getattr(callback, "_ruhu_text_checked", False):
                continue

            def checked(*args, __command=command, __callback=callback, **kwargs):
                refuse_bad_text(__command, kwargs)
                return __callback(*args, **kwargs)

            functools.update_wrapper(checked, callback)
            checked._ruhu_text_checked = True
            command.callback = checked


class IntRange(click.IntRange):
    """``click.IntRange`` whose refusal is in Chinese and English (and never repeats the value typed)."""

    def convert(self, value, param, ctx):
        if isinstance(param, click.Argument) and isinstance(value, str) and _OPTION.fullmatch(value):
            # an unknown option passed on to the argument (see guard_commands)
            raise click.NoSuchOption(value, message=f"没有此选项：{value} / no such option: {value}", ctx=ctx)
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            if self.min is None and self.max is None:
                self.fail("应为整数 / must be a whole number", param, ctx)
            lo = self.min if self.min is not None else "-∞"
            hi = self.max if self.max is not None else "∞"
            self.fail(f"应为{lo}到{hi}之间的整数 / must be a whole number from {lo} to {hi}", param, ctx)


ID = IntRange(1, INT4_MAX)   # a row's id: a 32-bit integer column on PostgreSQL
INT = IntRange()             # any whole number (the command checks its range, e.g. a seed), refused in both languages
