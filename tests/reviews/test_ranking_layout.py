"""The ranking's key columns (rank, dossier, score, asked, cumulative) come first, the others are marked
secondary (they give way to a line under the dossier on a narrow screen), and each key figure carries the
label the phone layout shows. The widths themselves were measured in Chromium at 390, 768, 1024 and 1280
px: the key columns end inside the table's visible box, with no sideways scrolling below 64rem."""

from __future__ import annotations

import html5lib

from tests.factories import ManagerFactory
from tests.reviews.test_ranking_pages import page, ranked  # noqa: F401 — the fixture

KEY_COLUMNS = ["Rang", "Dossier", "Moyenne /100", "Demandé", "Cumul demandé"]


def test_the_key_columns_come_first_and_the_others_are_secondary(client, login_as, ranked):  # noqa: F811
    login_as(ManagerFactory())
    document = html5lib.parse(page(client, ranked), namespaceHTMLElements=False)
    table = document.find(".//table[@class='table ranking-table']")
    headers = table.findall("./thead/tr/th")
    assert ["".join(th.itertext()).strip() for th in headers][:5] == KEY_COLUMNS
    assert all("ranking-secondary" in th.get("class") for th in headers[5:])
    assert all("ranking-secondary" not in th.get("class") for th in headers[:5])
    for row in table.findall("./tbody/tr"):
        if "envelope-line" in (row.get("class") or ""):
            continue
        cells = list(row)
        assert [c.get("data-label") for c in cells[2:5]] == KEY_COLUMNS[2:]
        assert len(cells) == len(headers)  # every secondary figure also has its column on a wide screen
        compact = "".join(cells[1].find(".//span[@class='cell-hint ranking-compact']").itertext())
        assert "normalisée" in compact and "évaluation" in compact
