"""How a call reads on screen: its Markdown texts rendered safely, and its deadlines in Paris time.

Markdown comes from programme managers, but a call page is public: the text is rendered with raw HTML
disabled (markdown-it-py), then sanitised by nh3 against a short list of tags, so that neither a
``<script>`` nor a ``javascript:`` link nor an inline style (forbidden by our CSP) can reach a visitor.
"""

from __future__ import annotations

from datetime import datetime

import nh3
from flask_babel import gettext as _
from flask_babel import ngettext
from markdown_it import MarkdownIt
from markupsafe import Markup

from grants.database import utcnow
from grants.formatting import local_time
from grants.local_time import local_zone

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre", "hr",
    "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


TOP_HEADING_LEVEL = 3


def _fit_headings(state) -> None:
    # The text sits under the page's <h1> (the call) and a section's <h2>: its highest heading,
    # whether written "#" or "##", becomes an <h3> and the others follow, so the outline stays sound.
    headings = [t for t in state.tokens if t.type in ("heading_open", "heading_close")]
    if not headings:
        return
    shift = TOP_HEADING_LEVEL - min(int(t.tag[1]) for t in headings)
    for token in headings:
        token.tag = f"h{min(max(int(token.tag[1]) + shift, TOP_HEADING_LEVEL), 6)}"


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.core.ruler.push("fit_headings", _fit_headings)
    return md


_MARKDOWN = _markdown()


def render_markdown(text: str | None) -> Markup:
    """Markdown → sanitised HTML, safe to insert in a page as is."""
    if not text:
        return Markup("")
    html = _MARKDOWN.render(text)
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - sanitised just above


def days_between(instant: datetime, now: datetime) -> int:
    """Calendar days from ``now`` to ``instant`` as read on a Paris wall calendar (not 24-hour blocks):
    a deadline tomorrow at 09:00 is "tomorrow" even when asked at 23:00."""
    zone = local_zone()
    return (instant.astimezone(zone).date() - now.astimezone(zone).date()).days


def closing_countdown(closes_at: datetime, now: datetime | None = None) -> str:
    """"clôture dans 3 jours", "clôture demain à 12:00", or "clôturé" once the instant has passed."""
    now = now or utcnow()
    if closes_at <= now:
        return _("clôturé")
    days = days_between(closes_at, now)
    time = local_time(closes_at, "HH:mm")
    if days == 0:
        return _("clôture aujourd'hui à %(time)s", time=time)
    if days == 1:
        return _("clôture demain à %(time)s", time=time)
    return ngettext("clôture dans %(num)d jour", "clôture dans %(num)d jours", days)


def opening_countdown(opens_at: datetime, now: datetime | None = None) -> str:
    """"ouvre dans 10 jours", "ouvre demain à 09:00", or "ouvert" once the instant has passed."""
    now = now or utcnow()
    if opens_at <= now:
        return _("ouvert")
    days = days_between(opens_at, now)
    time = local_time(opens_at, "HH:mm")
    if days == 0:
        return _("ouvre aujourd'hui à %(time)s", time=time)
    if days == 1:
        return _("ouvre demain à %(time)s", time=time)
    return ngettext("ouvre dans %(num)d jour", "ouvre dans %(num)d jours", days)


def closes_soon(closes_at: datetime, now: datetime | None = None, days: int = 7) -> bool:
    """Deadlines within a week are highlighted."""
    now = now or utcnow()
    return now < closes_at and days_between(closes_at, now) <= days
