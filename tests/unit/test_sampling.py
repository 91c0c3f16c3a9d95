"""Spot-check sampling: at least the share (rounded up), reproducible from the seed, stratified, raised."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from server.domain.sampling import MAX_SEED, SamplingError, draw, effective_share, sample_size, verify

D = Decimal


@pytest.mark.parametrize("population, share, expected", [
    (0, "0.30", 0),
    (1, "0.30", 1),       # a single household is always checked
    (3, "0.30", 1),       # 0.9 -> 1
    (7, "0.30", 3),       # 2.1 -> 3: never below the share
    (10, "0.30", 3),      # exactly 3, not 4
    (11, "0.30", 4),
    (100, "0.30", 30),
    (101, "0.30", 31),
    (10, "0", 0),
    (10, "1", 10),
    (3, "0.3333", 1),     # 0.9999 -> 1
    (9, "0.3334", 4),     # 3.0006 -> 4
    (20, "0.50", 10),
])
def test_sample_size_is_the_share_rounded_up(population, share, expected):
    assert sample_size(population, D(share)) == expected


@pytest.mark.parametrize("population, share, code", [
    (-1, "0.30", "population_invalid"),
    (True, "0.30", "population_invalid"),
    (10, "1.01", "share_invalid"),
    (10, "-0.1", "share_invalid"),
    (10, "NaN", "share_invalid"),
    (10, "abc", "share_invalid"),
])
def test_sample_size_refuses_bad_input(population, share, code):
    with pytest.raises(SamplingError) as err:
        sample_size(population, share if share == "abc" else D(share))
    assert err.value.code == code and err.value.message and err.value.message_en


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 9, 10, 33, 250])
@pytest.mark.parametrize("share", ["0.30", "0.50", "1"])
def test_a_draw_takes_exactly_the_required_number_from_the_population(size, share):
    ids = list(range(100, 100 + size))
    result = draw(ids, D(share), 42, stratify=False)
    assert result.population == size
    assert len(result.drawn) == result.required == sample_size(size, D(share))
    assert set(result.drawn) <= set(ids) and len(set(result.drawn)) == len(result.drawn)
    assert list(result.drawn) == sorted(result.drawn)


@pytest.mark.parametrize("seed", [0, 1, 7, 20201209, MAX_SEED])
def test_the_same_seed_gives_the_same_draw_whatever_the_order(seed):
    ids = list(range(1, 61))
    shuffled = ids[20:]
    random.Random(99).shuffle(shuffled)
    first = draw({"new": ids[:20], "registered": ids[20:]}, D("0.30"), seed)
    again = draw({"registered": shuffled, "new": ids[:20][::-1]}, D("0.30"), seed)
    assert first == again
    assert verify({"new": ids[:20], "registered": ids[20:]}, D("0.30"), seed, True, first.drawn)


def test_a_known_seed_gives_a_known_draw():
    """Pinned: a recorded draw must come out the same on any later Python (only random() is used)."""
    assert draw(list(range(1, 21)), D("0.30"), 12345, stratify=False).drawn == (1, 2, 8, 9, 10, 17)


def test_different_seeds_give_different_draws():
    ids = list(range(1, 101))
    draws = {draw(ids, D("0.30"), seed, stratify=False).drawn for seed in range(20)}
    assert len(draws) == 20


def test_every_household_can_be_drawn():
    ids = list(range(1, 11))
    seen = set()
    for seed in range(200):
        seen |= set(draw(ids, D("0.30"), seed, stratify=False).drawn)
    assert seen == set(ids)


@pytest.mark.parametrize("new, registered, share, need_new, need_registered", [
    (10, 10, "0.30", 3, 3),
    (1, 9, "0.30", 1, 3),     # each stratum rounded up: 1 + 3, where pooling would take 3
    (0, 7, "0.30", 0, 3),     # an empty stratum
    (2, 2, "0.30", 1, 1),
    (4, 0, "0.50", 2, 0),
    (3, 3, "1", 3, 3),
])
def test_stratified_draws_meet_the_share_in_every_stratum(new, registered, share, need_new, need_registered):
    pop = {"new": list(range(1, new + 1)), "registered": list(range(1000, 1000 + registered))}
    result = draw(pop, D(share), 5)
    strata = {s.name: s for s in result.strata}
    assert (strata["new"].population, strata["registered"].population) == (new, registered)
    assert len(strata["new"].drawn) == strata["new"].required == need_new
    assert len(strata["registered"].drawn) == strata["registered"].required == need_registered
    assert set(strata["new"].drawn) <= set(pop["new"]) and set(strata["registered"].drawn) <= set(pop["registered"])
    assert result.drawn == tuple(sorted(strata["new"].drawn + strata["registered"].drawn))
    assert result.required == need_new + need_registered


def test_unstratified_draws_pool_the_strata_but_report_them():
    pop = {"new": [1], "registered": list(range(10, 19))}
    result = draw(pop, D("0.30"), 3, stratify=False)
    assert len(result.drawn) == 3 == result.required
    assert sum(len(s.drawn) for s in result.strata) == 3 and all(s.required == 0 for s in result.strata)


@pytest.mark.parametrize("pop, seed, code", [
    ([1, 2, 3], -1, "seed_invalid"),
    ([1, 2, 3], MAX_SEED + 1, "seed_invalid"),
    ([1, 2, 3], True, "seed_invalid"),
    ([1, 2, 3], "7", "seed_invalid"),
    ({"new": [1, 2], "registered": [2, 3]}, 1, "id_in_two_strata"),
    (["a", "b"], 1, "id_invalid"),
])
def test_bad_draws_are_refused(pop, seed, code):
    with pytest.raises(SamplingError) as err:
        draw(pop, D("0.30"), seed)
    assert err.value.code == code


def test_duplicate_ids_count_once():
    assert draw([5, 5, 5, 6], D("1"), 1, stratify=False).drawn == (5, 6)


@pytest.mark.parametrize("last_place, requested, expected", [
    (False, None, "0.30"),
    (True, None, "0.50"),        # the last-ranked unit gets more next year
    (False, "0.40", "0.40"),     # the bureau may raise a unit's share
    (True, "0.60", "0.60"),
    (False, "1", "1"),
])
def test_effective_share(last_place, requested, expected):
    got = effective_share(D("0.30"), last_place=last_place, last_place_share=D("0.50"),
                          requested=D(requested) if requested else None)
    assert got == D(expected)


@pytest.mark.parametrize("last_place, requested", [(False, "0.20"), (True, "0.40"), (False, "1.5")])
def test_a_share_below_the_floor_is_refused(last_place, requested):
    with pytest.raises(SamplingError) as err:
        effective_share(D("0.30"), last_place=last_place, last_place_share=D("0.50"), requested=D(requested))
    assert err.value.code in ("share_too_low", "share_invalid")


def test_a_raised_share_draws_more():
    ids = list(range(1, 41))
    base = draw(ids, effective_share(D("0.30")), 8, stratify=False)
    raised = draw(ids, effective_share(D("0.30"), last_place=True, last_place_share=D("0.50")), 8, stratify=False)
    assert (len(base.drawn), len(raised.drawn)) == (12, 20)


def test_verify_detects_a_changed_draw():
    ids = list(range(1, 31))
    result = draw(ids, D("0.30"), 77, stratify=False)
    outside = next(i for i in ids if i not in result.drawn)
    tampered = (*result.drawn[1:], outside)
    assert verify(ids, D("0.30"), 77, False, result.drawn)
    assert not verify(ids, D("0.30"), 77, False, tampered)


def test_as_json_round_trips_the_numbers():
    data = draw({"new": [1, 2, 3], "registered": [4, 5]}, D("0.30"), 9).as_json()
    assert data["share"] == "0.30" and data["population"] == 5 and data["seed"] == 9
    assert [s["name"] for s in data["strata"]] == ["new", "registered"]
