"""The e2e checks can fail: axe-core finds a serious violation in a page, and a script that the
Content-Security-Policy refuses is reported. The pages are served by the test itself (no app needed)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Essai</title></head>
<body><main><h1>Essai</h1>{body}</main></body></html>"""


def serve(visitor, body: str) -> None:
    """A page at http://e2e.test/ with the app's script policy, answered by the browser itself."""
    visitor.page.route("http://e2e.test/", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=PAGE.format(body=body),
        headers={"Content-Security-Policy": "default-src 'self'; script-src 'self'"},
    ))
    visitor.page.goto("http://e2e.test/")


def test_a_serious_violation_fails_with_the_rule_and_the_element(browse_offline):
    visitor = browse_offline("visitor")
    serve(visitor, '<form><input id="unlabelled" type="text"></form>')
    with pytest.raises(AssertionError) as refused:
        visitor.check()
    report = str(refused.value)
    assert "serious or critical accessibility violations" in report
    assert "label" in report and "#unlabelled" in report


def test_an_inline_script_refused_by_the_csp_fails_the_page(browse_offline):
    visitor = browse_offline("visitor")
    serve(visitor, "<script>document.title = 'injected'</script>")
    with pytest.raises(AssertionError) as refused:
        visitor.check()
    assert "Content Security Policy" in str(refused.value)
    assert visitor.page.title() == "Essai"


def test_a_clean_page_passes(browse_offline):
    visitor = browse_offline("visitor")
    serve(visitor, '<form><label for="name">Nom</label><input id="name" type="text"></form>')
    assert visitor.check() == []
