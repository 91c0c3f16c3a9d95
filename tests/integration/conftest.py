"""A small organisation for integration tests: one office per profile, two communities, every role."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from server.domain.ids import check_character

PASSWORD = "correct-horse-1"


def id_number(region: str, born: dt.date, seq: int) -> str:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


@pytest.fixture
def org(app):
    """Units and users through the operations layer; returns their ids and usernames."""
    from server import services
    from server.extensions import db
    from server.operations.accounts import add_unit, add_user

    with app.app_context():
        profiles = services().profiles
        out = SimpleNamespace()
        gc = add_unit("410104", "管城回族区", "district", "guancheng", known_profiles=profiles)
        office = add_unit("410104005", "南关街街道办事处", "street_office", "guancheng", gc, known_profiles=profiles)
        other = add_unit("410104008", "二里岗街道办事处", "street_office", "guancheng", gc, known_profiles=profiles)
        c1 = add_unit("410104005001", "南关和平社区", "community", "guancheng", office, known_profiles=profiles)
        c2 = add_unit("410104005002", "南关幸福社区", "community", "guancheng", office, known_profiles=profiles)
        oc = add_unit("410104008001", "二里岗社区", "community", "guancheng", other, known_profiles=profiles)
        yj = add_unit("610222", "宜君县", "district", "yijun", known_profiles=profiles)
        town = add_unit("610222002", "彭镇", "township", "yijun", yj, known_profiles=profiles)
        village = add_unit("610222002001", "彭村", "village", "yijun", town, known_profiles=profiles)
        for name, role, unit in [
            ("gc_case", "caseworker", office), ("gc_lead", "leader", office), ("gc_dir", "director", office),
            ("gc_inv1", "investigator", office), ("gc_inv2", "investigator", c1), ("gc_inv3", "investigator", c2),
            ("other_case", "caseworker", other), ("other_inv", "investigator", oc),
            ("gc_bureau", "bureau_supervisor", gc), ("gc_admin", "admin", gc),
            ("yj_case", "caseworker", town), ("yj_lead", "leader", town), ("yj_dir", "director", town),
            ("yj_inv1", "investigator", town), ("yj_inv2", "investigator", village),
            ("yj_bureau", "bureau_supervisor", yj),
        ]:
            user = add_user(name, role, unit.code, PASSWORD, name)
            setattr(out, name, user.id)
        db.session.commit()
        for key, unit in [("gc", gc), ("office", office), ("other", other), ("c1", c1), ("c2", c2), ("oc", oc),
                          ("yj", yj), ("town", town), ("village", village)]:
            setattr(out, key, unit.id)
    return out
