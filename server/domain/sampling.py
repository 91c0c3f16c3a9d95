"""Spot-check sampling (抽检) — pure.

The bureau re-visits at least a share (the profile's ``spot_check.share``, 0.30 in both seeds) of a
unit's new and registered households (新增及在册保障对象开展不低于30%比例的入户抽查). A draw here is:

* **at least the share, rounded up**: ``ceil(population * share)`` households, computed exactly in
  ``Decimal`` (30% of 7 households is 3, never 2); never more than there are;
* **reproducible from a recorded seed**: the population is sorted first (the order rows come out of
  a database does not matter), then a partial Fisher-Yates shuffle driven by
  ``random.Random(seed).random()`` picks the households. Only ``random()`` is used because it is the
  one part of the generator whose sequence Python promises to keep for a given seed across versions,
  so anyone can re-run a recorded draw years later and get the same households;
* **optionally stratified**: with strata (e.g. ``{"new": [...], "registered": [...]}``) the share is
  met in every stratum separately (each rounded up), strata taken in name order from the one
  generator; without, the households are pooled;
* with a **raised share** for a unit: the last-ranked unit of a year's assessment is checked more the
  next year (第十一条 加大入户抽查率): :func:`effective_share` gives the floor, and a bureau may ask for
  more but never for less.

Ids are plain integers (household ids); the core does not know what they stand for.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation

__all__ = ["Draw", "SamplingError", "Stratum", "draw", "effective_share", "sample_size", "verify"]

MAX_SEED = 2**31 - 1   # fits a 32-bit signed integer column on every database


class SamplingError(ValueError):
    """A draw that cannot be made.  ``message`` is Chinese, ``message_en`` English."""

    def __init__(self, code: str, message: str, message_en: str):
        self.code, self.message, self.message_en = code, message, message_en
        super().__init__(f"{code}: {message_en}")


def _share(value: object) -> Decimal:
    try:
        share = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise SamplingError("share_invalid", "抽查比例应为0到1之间的小数", "the share must be a decimal from 0 to 1") from None
    if isinstance(value, bool) or not share.is_finite() or not (0 <= share <= 1):
        raise SamplingError("share_invalid", "抽查比例应为0到1之间的小数", "the share must be a decimal from 0 to 1")
    return share


def sample_size(population: int, share: Decimal) -> int:
    """How many of ``population`` households a draw at ``share`` takes: the share rounded up, at most all."""
    if isinstance(population, bool) or not isinstance(population, int) or population < 0:
        raise SamplingError("population_invalid", "总体户数应为非负整数", "the population must be a whole number >= 0")
    needed = (Decimal(population) * _share(share)).to_integral_value(rounding=ROUND_CEILING)
    return min(population, int(needed))


def effective_share(base: Decimal, *, last_place: bool = False, last_place_share: Decimal | None = None,
                    requested: Decimal | None = None) -> Decimal:
    """The share a unit's draw uses: the profile's ``base``, raised to ``last_place_share`` when the unit
    ranked last in the previous year's assessment; a ``requested`` share may be higher, never lower."""
    floor = _share(base)
    if last_place and last_place_share is not None:
        floor = max(floor, _share(last_place_share))
    if requested is None:
        return floor
    wanted = _share(requested)
    if wanted < floor:
        raise SamplingError("share_too_low", f"抽查比例不能低于{floor}", f"the share may not be below {floor}")
    return wanted


@dataclass(frozen=True)
class Stratum:
    name: str
    population: int
    required: int           # households this stratum must give (0 when the draw is not stratified)
    drawn: tuple[int, ...]  # sorted


@dataclass(frozen=True)
class Draw:
    seed: int
    share: Decimal
    stratified: bool
    population: int
    required: int
    strata: tuple[Stratum, ...]
    drawn: tuple[int, ...]  # sorted

    def as_json(self) -> dict:
        return {"seed": self.seed, "share": str(self.share), "stratified": self.stratified,
                "population": self.population, "required": self.required, "drawn": list(self.drawn),
                "strata": [{"name": s.name, "population": s.population, "required": s.required,
                            "drawn": list(s.drawn)} for s in self.strata]}


def _pick(rng: random.Random, ids: list[int], k: int) -> list[int]:
    """``k`` of ``ids`` by a partial Fisher-Yates shuffle that uses only ``rng.random()``."""
    ids = list(ids)
    n = len(ids)
    for i in range(k):
        j = i + int(rng.random() * (n - i))
        ids[i], ids[j] = ids[j], ids[i]
    return ids[:k]


def _strata(population: Mapping[str, Iterable[int]] | Iterable[int]) -> dict[str, list[int]]:
    groups = dict(population) if isinstance(population, Mapping) else {"all": population}
    out: dict[str, list[int]] = {}
    seen: set[int] = set()
    for name in sorted(groups):
        ids = sorted(set(groups[name]))
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, int):
                raise SamplingError("id_invalid", "抽查总体中的编号应为整数", "population ids must be integers")
            if i in seen:
                raise SamplingError("id_in_two_strata", f"编号{i}同时出现在两个层中", f"id {i} is in two strata")
            seen.add(i)
        out[str(name)] = ids
    return out


def draw(population: Mapping[str, Iterable[int]] | Iterable[int], share: Decimal, seed: int, *,
         stratify: bool = True) -> Draw:
    """Draw at least ``share`` of ``population`` (ids, or strata name -> ids) from ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SamplingError("seed_invalid", f"随机种子应为0到{MAX_SEED}之间的整数",
                            f"the seed must be a whole number from 0 to {MAX_SEED}")
    share = _share(share)
    groups = _strata(population)
    rng = random.Random(seed)
    total = sum(len(ids) for ids in groups.values())
    if stratify:
        strata = []
        for name, ids in groups.items():
            k = sample_size(len(ids), share)
            strata.append(Stratum(name, len(ids), k, tuple(sorted(_pick(rng, ids, k)))))
        drawn = tuple(sorted(i for s in strata for i in s.drawn))
        required = sum(s.required for s in strata)
    else:
        pooled = sorted(i for ids in groups.values() for i in ids)
        required = sample_size(total, share)
        picked = set(_pick(rng, pooled, required))
        strata = [Stratum(name, len(ids), 0, tuple(i for i in ids if i in picked)) for name, ids in groups.items()]
        drawn = tuple(sorted(picked))
    return Draw(seed=seed, share=share, stratified=stratify, population=total, required=required,
                strata=tuple(strata), drawn=drawn)


def verify(population: Mapping[str, Iterable[int]] | Iterable[int], share: Decimal, seed: int, stratify: bool,
           drawn: Iterable[int]) -> bool:
    """Whether a recorded draw is what its seed gives over its recorded population."""
    return draw(population, share, seed, stratify=stratify).drawn == tuple(sorted(drawn))
