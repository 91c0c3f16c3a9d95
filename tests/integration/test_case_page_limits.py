"""Every text box on the case page carries a maxlength (issue 14): what the server would refuse as too long
cannot be typed in the first place.  The page is parsed at several stages, so each stage's forms are seen."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.integration.test_console import START, Console, on, register, signature, walk_to_review

TEXT_TYPES = {"text", "search", "tel", "email", "url", ""}


class Boxes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.boxes: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "textarea" or (tag == "input" and (a.get("type") or "").lower() in TEXT_TYPES):
            self.boxes.append({"tag": tag, **a})


def boxes_of(page: str) -> list[dict]:
    parser = Boxes()
    parser.feed(page)
    return parser.boxes


def assert_limited(page: str) -> set[str]:
    boxes = boxes_of(page)
    missing = [b.get("name") for b in boxes if not (b.get("maxlength") or "").isdigit() or int(b["maxlength"]) < 1]
    assert not missing, missing
    return {b.get("name") for b in boxes}


def test_every_text_box_on_the_case_page_has_a_maxlength(app, org):
    on(app, START)
    yj = Console(app, "yj_case")
    case_id = register(app, yj, org, unit="village", region="610222")
    seen = assert_limited(yj.get(f"/cases/{case_id}").get_data(as_text=True))
    walk_to_review(app, org, yj, case_id, prefix="yj_", fingerprint=True)
    lead = Console(app, "yj_lead")
    seen |= assert_limited(lead.get(f"/cases/{case_id}").get_data(as_text=True))
    lead.act(case_id, "sign_review", {"signature": signature(), "opinion": "同意"})
    page = yj.get(f"/cases/{case_id}").get_data(as_text=True)
    seen |= assert_limited(page)
    assert {"attendee", "record", "opinion", "reasons"} <= seen, seen   # the forms were really on the pages
    names = {b["name"]: b["maxlength"] for b in boxes_of(page)}
    assert names["record"] == "20000" and names["attendee"] == "50"   # Member.name is String(50)
