"""Markdown from managers becomes safe HTML; deadlines read as Paris calendar days."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup

from grants.calls.rendering import (
    closes_soon,
    closing_countdown,
    opening_countdown,
    render_markdown,
)


def test_markdown_formatting_is_kept():
    html = render_markdown("# Titre\n\nDu **gras**, de l'*italique* et une [page](https://example.org).\n\n- un\n- deux")
    assert isinstance(html, Markup)
    assert "<h3>Titre</h3>" in html
    assert "<strong>gras</strong>" in html and "<em>italique</em>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">page</a>' in html
    assert "<ul>\n<li>un</li>" in html


def test_raw_html_and_dangerous_links_never_get_through():
    html = render_markdown(
        "<script>alert(1)</script>\n\n<b onclick=alert(1)>x</b> [a](javascript:alert(1)) "
        "[b](data:text/html;base64,PHNjcmlwdD4=) ![img](https://evil.example/x.png)"
    )
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<b " not in html and "onclick" not in html.replace("&lt;b onclick=alert(1)&gt;", "")
    assert "javascript:" not in html.replace("[a](javascript:alert(1))", "")
    assert 'href="data:' not in html
    assert "<img" not in html


def test_headings_fit_under_the_page_outline():
    assert "<h3>A</h3>" in render_markdown("## A\n\n### B") and "<h4>B</h4>" in render_markdown("## A\n\n### B")
    assert "<h3>Seul</h3>" in render_markdown("#### Seul")
    assert "<h6>Six</h6>" in render_markdown("# Un\n\n###### Six")


def test_tables_lose_their_inline_styles():
    html = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |")
    assert "<table>" in html and "<td>1</td>" in html
    assert "style=" not in html


def test_empty_text_renders_nothing():
    assert render_markdown("") == "" and render_markdown(None) == ""


def test_countdowns(app):
    with app.test_request_context():
        now = datetime(2026, 10, 23, 20, 0, tzinfo=UTC)  # Friday 22:00 in Paris (UTC+2)
        # Monday 26 October, 12:00 in Paris (UTC+1 after the change back): 3 calendar days
        assert closing_countdown(datetime(2026, 10, 26, 11, 0, tzinfo=UTC), now) == "clôture dans 3 jours"
        assert closing_countdown(datetime(2026, 10, 24, 7, 0, tzinfo=UTC), now) == "clôture demain à 09:00"
        assert closing_countdown(datetime(2026, 10, 23, 21, 0, tzinfo=UTC), now) == "clôture aujourd'hui à 23:00"
        assert closing_countdown(now, now) == "clôturé"
        assert opening_countdown(datetime(2026, 10, 25, 8, 0, tzinfo=UTC), now) == "ouvre dans 2 jours"
        assert opening_countdown(datetime(2026, 10, 1, 8, 0, tzinfo=UTC), now) == "ouvert"
        assert closes_soon(datetime(2026, 10, 26, 11, 0, tzinfo=UTC), now)
        assert not closes_soon(datetime(2026, 12, 26, 11, 0, tzinfo=UTC), now)
