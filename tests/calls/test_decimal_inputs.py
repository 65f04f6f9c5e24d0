"""Decimal inputs take the French comma in a browser: a call's form sent back as the browser would send
it (with the browser's own clean-up of number inputs) saves, and no amount or percentage is an
``<input type=number>``, which a browser empties when it holds "50,00"."""

from __future__ import annotations

import re
from decimal import Decimal

import html5lib

from grants.database import db
from tests.calls.test_manage_pages import a_full_call, line, manager, page  # noqa: F401 (fixtures)

# HTML's "valid floating-point number": anything else in a number input is sent as "" by a browser.
VALID_FLOAT = re.compile(r"-?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?")


def form_as_a_browser_sends_it(body: str, action: str) -> dict:
    """The fields of the form posting to ``action``, as Chromium would submit them untouched."""
    document = html5lib.parse(body, namespaceHTMLElements=False)
    form = next(f for f in document.iter("form") if f.get("action") == action)
    data: dict[str, list[str]] = {}
    for element in form.iter():
        name = element.get("name")
        if not name or element.get("disabled") is not None:
            continue
        if element.tag == "input":
            kind = element.get("type", "text")
            if kind in ("checkbox", "radio") and element.get("checked") is None:
                continue
            if kind in ("submit", "button"):
                continue
            value = element.get("value", "on" if kind in ("checkbox", "radio") else "")
            if kind == "number" and not VALID_FLOAT.fullmatch(value):
                value = ""
        elif element.tag == "textarea":
            value = element.text or ""
        elif element.tag == "select":
            chosen = [o for o in element.iter("option") if o.get("selected") is not None] or list(element.iter("option"))[:1]
            value = chosen[0].get("value", chosen[0].text or "") if chosen else ""
        else:
            continue
        data.setdefault(name, []).append(value)
    return data


def test_a_call_with_a_fractional_share_saves_unchanged_from_the_browser(client, manager, line):  # noqa: F811
    call = a_full_call(line)
    call.max_share_of_cost = Decimal("0.5")
    db.session.commit()
    action = f"/gestion/appels/{call.id}/modifier"
    body = page(client.get(action))
    share = re.search(r'<input[^>]*name="max_share_percent"[^>]*>', body).group(0)
    assert 'type="text"' in share and 'inputmode="decimal"' in share and 'value="50,00"' in share

    response = client.post(action, data=form_as_a_browser_sends_it(body, action))
    assert response.status_code == 302, page(response, response.status_code)[:2000]
    db.session.refresh(call)
    assert call.max_share_of_cost == Decimal("0.5")


def test_no_decimal_field_is_a_number_input(client, manager, line):  # noqa: F811
    call = a_full_call(line)
    for path in (f"/gestion/appels/{call.id}/modifier", f"/gestion/appels/{call.id}",
                 f"/gestion/criteres/{call.criteria[0].id}"):
        body = page(client.get(path))
        assert 'inputmode="decimal"' in body, path
        for tag in re.findall(r"<input[^>]*>", body):
            if 'inputmode="decimal"' in tag:
                assert 'type="text"' in tag, tag
