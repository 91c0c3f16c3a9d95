"""The public two-rates survey takes one answer per browser and year and a few per address and day,
remembering neither: only keyed hashes are kept, with no time and no link to the answer."""

from __future__ import annotations

from sqlalchemy import func, select

from server.extensions import db
from server.models.oversight import SurveyMark, TwoRatesResponse


def _answer(client, addr: str = "203.0.113.5"):
    env = {"REMOTE_ADDR": addr}
    page = client.get("/survey/410104005", environ_base=env).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post("/survey/410104005", environ_base=env, data={
        "csrf_token": token, "respondent": "resident", "knows": "aware", "rating": "basically"})
    assert r.status_code == 200
    return "您的意见已收到" in r.get_data(as_text=True)


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_fresh_cookie_jars_from_one_address_get_a_few_answers_a_day(app, org):
    app.config["RUHU_SURVEY_ADDRESS_DAILY"] = 3
    results = [_answer(app.test_client()) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert _count(app, TwoRatesResponse) == 3
    assert _answer(app.test_client(), "198.51.100.7") is True        # a neighbour elsewhere still can


def test_one_phone_answers_once_a_year_whatever_its_address(app, org):
    phone = app.test_client()
    assert _answer(phone, "203.0.113.5") is True
    with phone.session_transaction() as s:
        s.clear()                                                    # a cleared session, same phone
    assert _answer(phone, "198.51.100.8") is False
    assert _count(app, TwoRatesResponse) == 1


def test_the_marks_identify_no_one(app, org):
    phone = app.test_client()
    assert _answer(phone, "203.0.113.77") is True
    cookie = phone.get_cookie("ruhu_survey", path="/survey").value
    with app.app_context():
        keys = db.session.scalars(select(SurveyMark.key)).all()
    assert len(keys) == 2 and all(len(k) == 64 and int(k, 16) >= 0 for k in keys)
    assert not any("203.0.113.77" in k or cookie in k for k in keys)
    assert [c.name for c in SurveyMark.__table__.columns] == ["key"]


def rows_holding(app, text: str) -> list[str]:
    """Every stored value holding ``text``, as "table.column": every table, the audit log included."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                found += [f"{table.name}.{column}" for column, value in row.items() if text in str(value)]
    return found


def test_an_answer_keeps_the_client_address_nowhere(app, org):
    """Not in the answer, not in the marks, and not in the audit log (whose entries are never deleted)."""
    from server.models import AuditEntry

    assert _answer(app.test_client(), "203.0.113.77") is True
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "tworates.public"))
        assert entry is not None and entry.remote_addr == ""
    assert _count(app, TwoRatesResponse) == 1
    assert rows_holding(app, "203.0.113.77") == []
