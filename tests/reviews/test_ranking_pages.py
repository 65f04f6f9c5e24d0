"""The ranking page and its CSV export: filters, sorts, the envelope line, formula-safe cells, access."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from grants.calls.models import BudgetSection
from grants.models import ApplicationState
from tests.factories import CallEnvelopeFactory, ManagerFactory, ReviewerFactory, member_of
from tests.reviews.conftest import review, under_review


@pytest.fixture
def ranked(app, scored_call):
    CallEnvelopeFactory(call=scored_call, amount=Decimal("10000.00"))
    first, second = ReviewerFactory(), ReviewerFactory()
    kayes = under_review(scored_call, reference="R-1", title="Eau potable", partner_region="Kayes",
                         amount_requested=Decimal("6000.00"))
    matam = under_review(scored_call, reference="R-2", title="=HYPERLINK(\"http://evil\")", partner_region="Matam",
                         amount_requested=Decimal("5000.00"))
    decided = under_review(scored_call, reference="R-3", title="Web-radio", partner_region="Kayes",
                           amount_requested=Decimal("2000.00"), state=ApplicationState.DECIDED)
    review(kayes, first, [90])
    review(kayes, second, [50])  # spread 40: flagged
    review(matam, first, [70])
    review(decided, first, [60])
    return scored_call


def page(client, call, **args):
    response = client.get(f"/gestion/appels/{call.id}/classement", query_string=args)
    assert response.status_code == 200
    # French amounts are grouped with no-break spaces: compare with plain ones
    return response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")


def order(body, references=("R-1", "R-2", "R-3")):
    present = [r for r in references if f">{r}<" in body]
    return sorted(present, key=lambda r: body.index(f">{r}<"))


def test_the_ranking_page_orders_flags_and_draws_the_envelope_line(client, login_as, ranked):
    login_as(ManagerFactory())
    body = page(client, ranked)
    # R-1 (90 and 50) and R-2 (70) tie at 70: the normalised mean breaks the tie. The first reviewer
    # (90, 70, 60) is lenient, so his 70 normalises below the call's mean; the second reviewer has a
    # single review and keeps his 50: R-1 ≈ (87.3 + 50) / 2 ≈ 68.6 beats R-2 ≈ 63.6.
    assert order(body) == ["R-1", "R-2", "R-3"]
    assert "Désaccord" in body
    assert "6 000,00" in body and "11 000,00" in body and "13 000,00" in body  # cumulative
    assert "est épuisée à partir d&#39;ici" in body or "est épuisée à partir d'ici" in body


def test_a_long_ranking_is_shown_a_page_at_a_time_with_its_ranks_and_running_sums(client, login_as, ranked,
                                                                                     monkeypatch):
    from grants.reviews.views import manage

    monkeypatch.setattr(manage, "RANKING_PAGE_SIZE", 2)
    login_as(ManagerFactory())
    first = page(client, ranked)
    assert order(first) == ["R-1", "R-2"] and "page 1 sur 2" in first and "Rangs 1 à 2 sur 3" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = page(client, ranked, page=2)
    # the last page keeps the whole ranking's rank and cumulative sum
    assert order(second) == ["R-3"] and "Rangs 3 à 3 sur 3" in second and "13 000,00" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # filters travel with the pages; an out-of-range page shows the last one
    sorted_by_amount = page(client, ranked, tri="amount", desaccord="0").replace("&amp;", "&")
    assert f"/gestion/appels/{ranked.id}/classement?page=2&tri=amount" in sorted_by_amount
    assert order(page(client, ranked, page=99)) == ["R-3"]


def test_the_ranking_filters(client, login_as, ranked):
    login_as(ManagerFactory())
    assert order(page(client, ranked, region="Kayes")) == ["R-1", "R-3"]
    assert order(page(client, ranked, etat="decided")) == ["R-3"]
    assert order(page(client, ranked, desaccord="1")) == ["R-1"]
    assert order(page(client, ranked, section="investissement")) == []
    assert order(page(client, ranked, tri="amount")) == ["R-1", "R-2", "R-3"]
    assert order(page(client, ranked, tri="reference")) == ["R-1", "R-2", "R-3"]
    assert order(page(client, ranked, tri="spread")) == ["R-1", "R-2", "R-3"]
    # unknown values are ignored rather than failing
    assert order(page(client, ranked, tri="hasard", etat="draft", section="x")) == ["R-1", "R-2", "R-3"]


def test_the_csv_export_follows_the_filters_and_defuses_formulas(client, login_as, ranked):
    login_as(ManagerFactory())
    response = client.get(f"/gestion/appels/{ranked.id}/classement.csv", query_string={"region": "Kayes"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:4] == ["Rang", "Référence", "Porteur", "Projet"]
    assert [row[1] for row in rows[1:]] == ["R-1", "R-3"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Note moyenne (0-100)"] == "70,00" and first["Écart"] == "40,00" and first["Désaccord"] == "oui"
    assert first["Montant demandé"] == "6000,00" and first["Cumul demandé"] == "6000,00"
    everything = client.get(f"/gestion/appels/{ranked.id}/classement.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in everything and ";=HYPERLINK" not in everything


def test_the_section_filter_uses_that_sections_envelope(client, login_as, ranked):
    CallEnvelopeFactory(call=ranked, section=BudgetSection.INVESTMENT, amount=Decimal("1.00"))
    login_as(ManagerFactory())
    body = page(client, ranked, section="fonctionnement")
    assert "10 000,00" in body


@pytest.mark.parametrize("who, expected", [("reviewer", 403), ("member", 403), ("anonymous", 302)])
def test_the_ranking_is_for_managers_only(client, login_as, ranked, who, expected):
    users = {"reviewer": ReviewerFactory(), "member": member_of()}
    if who in users:
        login_as(users[who])
    assert client.get(f"/gestion/appels/{ranked.id}/classement").status_code == expected
    assert client.get(f"/gestion/appels/{ranked.id}/classement.csv").status_code == expected


def test_an_unknown_call_is_a_404(client, login_as, app):
    login_as(ManagerFactory())
    for path in ("classement", "classement.csv", "affectations", "recevabilite"):
        assert client.get(f"/gestion/appels/987654/{path}").status_code == 404
