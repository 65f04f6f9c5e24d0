"""The words of a query marked in a text, escaped: the text is the applicant's, so every piece of it is
escaped and only the ``<mark>`` tags are ours."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from grants.formatting import fold

TOKEN = re.compile(r"\w+", re.UNICODE)
EXCERPT = 240


def stem(word: str) -> str:
    """What a word of the query must begin a word of the text with (a rough French stemmer)."""
    return word if len(word) <= 4 else word[: max(4, len(word) - 2)]


def marked(text: str | None, words: tuple[str, ...], limit: int | None = None) -> Markup:
    """``text`` escaped, each word starting like a word of the query in ``<mark>``; cut to an excerpt
    around the first match when ``limit`` is given."""
    text = text or ""
    stems = [stem(w) for w in words if w]
    matches = [m for m in TOKEN.finditer(text) if any(fold(m.group()).startswith(s) for s in stems)]
    start, end, prefix, suffix = 0, len(text), "", ""
    if limit is not None and len(text) > limit:
        first = matches[0].start() if matches else 0
        start = max(0, first - limit // 3)
        end = min(len(text), start + limit)
        prefix, suffix = ("…" if start else ""), ("…" if end < len(text) else "")
    out, position = [escape(prefix)], start
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        out.append(escape(text[position:match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group())
        position = match.end()
    out.append(escape(text[position:end]))
    out.append(escape(suffix))
    return Markup("").join(out)
