"""The public call list's keyword search and filters: on the same page, by GET (no JavaScript), bad
values said and not applied, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from grants.calls.listing import PAGE_SIZE
from grants.database import db
from grants.models import ApplicantKinds, CallState
from tests.calls.test_public_pages import get_page, section
from tests.factories import CallFactory, ProgrammeFactory
from tests.test_query_counts import counted_statements


@pytest.fixture
def calls(app):
    international = ProgrammeFactory(name="Relations internationales")
    return {
        "gardens": CallFactory(programme=international, title="Jardins solidaires au Sénégal",
                               summary="Coopération décentralisée.", min_grant=Decimal("1500.00"),
                               max_grant=Decimal("15000.00")),
        "fradep": CallFactory(title="FRADEP : projets de demandeurs d'emploi",
                              applicant_kinds=ApplicantKinds.INDIVIDUALS, min_grant=Decimal("500.00"),
                              max_grant=Decimal("3000.00")),
        "upcoming": CallFactory(programme=international, title="Festival des jardins", state=CallState.SCHEDULED,
                                opens_at=datetime(2099, 1, 5, 8, 0, tzinfo=UTC),
                                closes_at=datetime(2099, 3, 1, 11, 0, tzinfo=UTC)),
        "programme": international,
    }


def titles(body: str) -> set[str]:
    return {t for t in ("Jardins solidaires au Sénégal", "FRADEP", "Festival des jardins") if t in body}


def test_keywords_ignore_accents_case_and_plurals(client, calls):
    assert titles(get_page(client, "/appels/?q=jardin")) == {"Jardins solidaires au Sénégal", "Festival des jardins"}
    assert titles(get_page(client, "/appels/?q=SENEGAL+cooperation")) == {"Jardins solidaires au Sénégal"}
    assert titles(get_page(client, "/appels/?q=piscine")) == set()
    assert "Aucun appel ne correspond à la recherche." in get_page(client, "/appels/?q=piscine")


def test_filters(client, calls):
    assert titles(get_page(client, "/appels/?ouverts=1&q=jardins")) == {"Jardins solidaires au Sénégal"}
    body = get_page(client, f"/appels/?programme={calls['programme'].id}")
    assert titles(body) == {"Jardins solidaires au Sénégal", "Festival des jardins"}
    assert "Festival des jardins" in section(body, "a-venir")
    assert titles(get_page(client, "/appels/?qui=particuliers")) == {"FRADEP"}
    assert "FRADEP" not in get_page(client, "/appels/?qui=associations")
    assert titles(get_page(client, "/appels/?montant_min=5000")) == {"Jardins solidaires au Sénégal",
                                                                     "Festival des jardins"}
    assert "FRADEP" in titles(get_page(client, "/appels/?montant_max=1000"))
    assert "Jardins solidaires au Sénégal" not in titles(get_page(client, "/appels/?montant_max=1000"))
    assert titles(get_page(client, "/appels/?montant_min=3+000,50&montant_max=20000")) == {
        "Jardins solidaires au Sénégal", "Festival des jardins"}


@pytest.mark.parametrize("query", [
    "q=" + "a" * 10_000, "programme=abc", "programme=99999999999999999999", "qui=robots",
    "montant_min=NaN", "montant_min=1e999", "montant_max=-5", "montant_min=%25_",
])
def test_bad_values_are_said_and_not_applied(client, calls, query):
    body = get_page(client, "/appels/?" + query, status=422)
    assert 'role="alert"' in body
    assert "Jardins solidaires au Sénégal" in body


@pytest.mark.parametrize("query", ["q=%25", "q=_", "q=%27+OR+1%3D1+--", "q=%3Cscript%3Ealert(1)%3C/script%3E",
                                   "q=%22", "ouverts=oui"])
def test_odd_keywords_answer(client, calls, query):
    body = get_page(client, "/appels/?" + query)
    assert "<script>alert(1)" not in body


def test_a_word_of_the_programme_name_finds_its_calls(client, calls):
    assert titles(get_page(client, "/appels/?q=internationales")) == {"Jardins solidaires au Sénégal",
                                                                      "Festival des jardins"}
    assert titles(get_page(client, "/appels/?q=internationales+festival")) == {"Festival des jardins"}


def test_like_wildcards_typed_by_a_visitor_are_characters(client, calls):
    CallFactory(title="Appel 100% local", summary="Ateliers a_b")
    assert "Appel 100% local" in get_page(client, "/appels/?q=a_b")
    assert "Appel 100% local" not in get_page(client, "/appels/?q=axb")
    assert titles(get_page(client, "/appels/?q=j_rdins")) == set()  # "_" is not "any character"


def test_the_words_follow_an_edited_call(client, calls):
    calls["fradep"].title = "Bourses pour la création d'entreprise"
    db.session.commit()
    assert "Aucun appel ne correspond à la recherche." in get_page(client, "/appels/?q=emploi")
    assert "Bourses pour la création" in get_page(client, "/appels/?q=creation+entreprises")


def test_a_search_is_paged_in_sql_with_a_constant_number_of_statements(app, client, calls):
    app.config["PAGE_CACHE_SECONDS"] = 0

    def statements_for(path: str) -> tuple[int, str]:
        with counted_statements() as statements:
            body = get_page(client, path)
        return len(statements), body

    few, _ = statements_for("/appels/?q=potager")
    CallFactory.create_batch(PAGE_SIZE + 5, title="Potagers partagés", summary="Jardinage.")
    db.session.commit()
    many, body = statements_for("/appels/?q=potager")
    assert few == many
    assert body.count("Potagers partagés") == PAGE_SIZE
    second = get_page(client, "/appels/?q=potager&page_ouverts=2")
    assert second.count("Potagers partagés") == 5
