"""The ranking's CSV export is a streamed response (a generator: the rows are read as they are sent)
whose bytes are those the export wrote before, when the whole ranking was computed in Python and the
file built in memory (tests/reviews/ranking_oracle.py and the old view's columns, below)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.database import db
from grants.models import ApplicationState
from grants.reviews import ranking
from grants.reviews.models import Opinion
from grants.spreadsheet_cells import csv_chunks, csv_text, decimal_cell
from tests.factories import ManagerFactory, ReviewerFactory
from tests.reviews import ranking_oracle
from tests.reviews.conftest import review, under_review

HEADER = ["Rang", "Référence", "Porteur", "Projet", "État", "Section", "Région partenaire", "Montant demandé",
          "Cumul demandé", "Évaluations rendues", "Évaluations attendues", "Note moyenne (0-100)",
          "Note normalisée (0-100)", "Écart", "Désaccord", "Montant suggéré moyen", "Avis : financer",
          "Avis : financer moins", "Avis : ne pas financer", "Jeunes touchés"]


def previous_export(call, **filters) -> str:
    """The file as the export built it before (main at 5350b86), from today's computation."""
    young_people = ranking.young_people_counts(call)
    lines = [
        [row.rank, row.reference, row.applicant_name, row.title, row.state.value,
         row.section.value if row.section else "", row.partner_region,
         decimal_cell(row.amount_requested), decimal_cell(row.cumulative_requested), row.reviews_done,
         row.reviews_assigned, decimal_cell(row.mean_score), decimal_cell(row.normalised_mean),
         decimal_cell(row.spread), "oui" if row.flagged else "non", decimal_cell(row.suggested_amount_mean),
         row.fund_votes, row.fund_lower_votes, row.do_not_fund_votes, young_people.get(row.application_id)]
        for row in ranking_oracle.call_ranking(call.id, **filters)
    ]
    return csv_text(HEADER, lines, delimiter=";", byte_order_mark=True)


@pytest.fixture
def reviewed(app, scored_call):
    scored_call.asks_young_people_count = True
    db.session.commit()
    harsh, lenient, third = ReviewerFactory(), ReviewerFactory(), ReviewerFactory()
    for index in range(12):
        application = under_review(
            scored_call, reference=f"S-{index:02d}", title="=SOMME(A1)" if index == 3 else f"Projet {index}",
            partner_region="Kayes" if index % 2 else None, young_people_count=index * 7 if index % 3 else None,
            amount_requested=Decimal(1000 + 250 * index), state=ApplicationState.DECIDED if index == 5 else None)
        review(application, harsh, [Decimal(index * 3) + Decimal("0.25")])
        if index % 4:
            review(application, lenient, [Decimal(100 - index * 5)], opinion=Opinion.FUND_LOWER,
                   suggested=Decimal("333.33"))
        if index % 3 == 0:
            review(application, third, [Decimal(50 + index)], opinion=Opinion.DO_NOT_FUND)
    return scored_call


@pytest.mark.parametrize("query", [{}, {"tri": "normalised"}, {"region": "Kayes", "tri": "spread"},
                                   {"desaccord": "1"}, {"etat": "decided"}])
def test_the_export_is_streamed_with_the_bytes_it_had(client, login_as, reviewed, query):
    login_as(ManagerFactory())
    response = client.get(f"/gestion/appels/{reviewed.id}/classement.csv", query_string=query)
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="classement-{reviewed.slug}.csv"'
    filters = {"tri": "sort", "region": "partner_region", "desaccord": "flagged_only", "etat": "state"}
    converted = {filters[k]: (True if k == "desaccord" else ApplicationState(v) if k == "etat" else v)
                 for k, v in query.items()}
    assert response.get_data(as_text=True) == previous_export(reviewed, **converted)


def test_the_chunks_make_the_same_document_as_the_whole_text():
    rows = [[n, f"=ligne {n}", decimal_cell(Decimal(n) / 3)] for n in range(11)]
    whole = csv_text(["a", "b", "c"], rows, delimiter=";", byte_order_mark=True)
    chunks = list(csv_chunks(["a", "b", "c"], iter(rows), delimiter=";", byte_order_mark=True, rows_per_chunk=4))
    assert len(chunks) == 3 and "".join(chunks) == whole
