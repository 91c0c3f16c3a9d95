"""Run every benchmark and print ratios against in-process baselines (never absolute pass/fail)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from server.domain import workflow
from server.domain.calendar import WorkCalendar
from server.rules import load_profiles


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def naive_weekdays(start: dt.date, n: int) -> dt.date:
    """Baseline: Monday–Friday stepping with no holiday knowledge at all."""
    day = start
    while n:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def bench_calendar(cases: int = 20000) -> None:
    cal = WorkCalendar()
    starts = [dt.date(2025, 1, 1) + dt.timedelta(days=i % 700) for i in range(cases)]
    base = best_of(lambda: [naive_weekdays(s, 25) for s in starts])
    ours = best_of(lambda: [cal.add_workdays(s, 25) for s in starts])
    print(f"calendar.add_workdays(25) x{cases}: {ours / base:.2f}x the naive Mon-Fri loop "
          f"({ours * 1e6 / cases:.1f} us per deadline)")


def bench_dashboard_deadlines(cases: int = 5000) -> None:
    """What a dashboard does per case: the running deadlines and the urgency mark."""
    profile = load_profiles()["guancheng"]
    cal = WorkCalendar()
    today = dt.date(2025, 11, 3)
    states = [workflow.CaseState(status="accepted", office_unit_id=2, lineage=(1, 2, 3),
                                 accepted_on=today - dt.timedelta(days=i % 30)) for i in range(cases)]
    base = best_of(lambda: [naive_weekdays(s.accepted_on, 25) for s in states])
    ours = best_of(lambda: [workflow.urgency(s, profile, cal, today) for s in states])
    print(f"workflow.urgency x{cases}: {ours / base:.2f}x one naive Mon-Fri deadline per case "
          f"({ours * 1e6 / cases:.1f} us per case)")


def main() -> None:
    from bench import case_list, console_reads, public_board, pwa, roster, sync_load, sync_requests

    print("Ruhu benchmarks (ratios against baselines run in this process; lower is better)")
    bench_calendar()
    bench_dashboard_deadlines()
    roster.main([])
    case_list.main([])
    console_reads.main()
    public_board.main()
    pwa.main()
    sync_requests.main()
    sync_load.main()


if __name__ == "__main__":
    main()
