"""The public call pages: what a visitor sees without signing in, in Paris time, rendered safely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import html5lib
import pytest
import sqlalchemy as sa
import time_machine

from grants.database import db, utcnow
from grants.models import ApplicantKinds, BudgetSection, CallFunder, CallState
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    CriterionFactory,
    ManagerFactory,
    ProgrammeFactory,
    RequiredDocumentFactory,
    ReviewerFactory,
)

PARSER = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)


def get_page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    PARSER.parse(body)
    return body.replace("\u202f", " ").replace("\xa0", " ")


def section(body: str, heading_id: str) -> str:
    """The HTML of one <section> of the list page, found by its heading's id."""
    start = body.index(f'id="{heading_id}"')
    return body[start:body.index("</section>", start)]


# ---------------------------------------------------------------- list


def test_the_list_shows_open_upcoming_and_closed_calls_but_never_drafts(client):
    programme = ProgrammeFactory(name="Relations internationales")
    CallFactory(programme=programme, title="Solidaires Ici Solidaires Ailleurs", min_grant=Decimal("1500.00"),
                max_grant=Decimal("15000.00"))
    CallFactory(title="FITA", state=CallState.SCHEDULED,
                opens_at=datetime(2099, 1, 5, 8, 0, tzinfo=UTC), closes_at=datetime(2099, 3, 1, 11, 0, tzinfo=UTC))
    CallFactory(title="Devenons Citoyens de la Planète", state=CallState.CLOSED,
                opens_at=datetime(2020, 1, 5, 8, 0, tzinfo=UTC), closes_at=datetime(2020, 3, 1, 11, 0, tzinfo=UTC))
    CallFactory(title="Appel encore en brouillon", state=CallState.DRAFT)
    CallFactory(title="Appel archivé", state=CallState.ARCHIVED,
                opens_at=datetime(2019, 1, 5, 8, 0, tzinfo=UTC), closes_at=datetime(2019, 3, 1, 11, 0, tzinfo=UTC))
    body = get_page(client, "/appels/")
    assert "Solidaires Ici Solidaires Ailleurs" in section(body, "ouverts")
    assert "Relations internationales" in body
    assert "de 1 500,00 € à 15 000,00 €" in body
    assert "FITA" in section(body, "a-venir")
    assert "Devenons Citoyens de la Planète" in section(body, "clotures")
    assert "Appel encore en brouillon" not in body
    assert "Appel archivé" not in body


def test_an_open_call_past_its_deadline_is_listed_as_closed(client):
    # The scheduled task that closes calls may not have run yet: the deadline is the instant.
    CallFactory(title="Appel échu", state=CallState.OPEN,
                opens_at=datetime(2020, 1, 5, 8, 0, tzinfo=UTC), closes_at=datetime(2020, 3, 1, 11, 0, tzinfo=UTC))
    body = get_page(client, "/appels/")
    assert "Appel échu" in section(body, "clotures")
    assert "Appel échu" not in section(body, "ouverts")


def test_the_list_shows_the_time_left_in_paris_time(client):
    with time_machine.travel(datetime(2026, 3, 24, 9, 0, tzinfo=UTC), tick=False):
        CallFactory(title="Appel de printemps", opens_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
                    closes_at=datetime(2026, 3, 27, 11, 0, tzinfo=UTC))
        CallFactory(title="Appel annoncé", state=CallState.SCHEDULED,
                    opens_at=datetime(2026, 4, 3, 7, 0, tzinfo=UTC), closes_at=datetime(2026, 5, 3, 10, 0, tzinfo=UTC))
        body = get_page(client, "/appels/")
    assert "vendredi 27 mars 2026, 12:00" in body
    assert "clôture dans 3 jours" in body
    assert "vendredi 3 avril 2026, 09:00" in body  # opening, after the change to summer time
    assert "ouvre dans 10 jours" in body


# ---------------------------------------------------------------- detail


def full_call(**fields):
    call = CallFactory(
        title="Fonds d'Initiatives pour une Consommation Engagée",
        slug="fipce",
        summary="Des initiatives pour une consommation responsable.",
        description="## Objectifs\n\nSoutenir les **écoles de consommateurs**.",
        eligibility_rules="- Associations de la région",
        eligible_legal_forms=["association", "cooperative"],
        min_grant=Decimal("2000.00"),
        max_grant=Decimal("25000.00"),
        max_share_of_cost=Decimal("0.5000"),
        **fields,
    )
    CallEnvelopeFactory(call=call, section=BudgetSection.OPERATING, amount=Decimal("250000.00"))
    CallEnvelopeFactory(call=call, section=BudgetSection.INVESTMENT, amount=Decimal("50000.00"))
    db.session.add_all([CallFunder(call=call, name="Région", share=Decimal("0.6")),
                        CallFunder(call=call, name="ADEME", share=Decimal("0.4"))])
    CriterionFactory(call=call, name="Pertinence au regard de l'appel", weight=Decimal("3"), position=0)
    CriterionFactory(call=call, name="Réalisme du budget", weight=Decimal("1"), position=1)
    RequiredDocumentFactory(call=call, name="Statuts de l'association", required=True, accepted_types=["pdf"])
    RequiredDocumentFactory(call=call, name="Rapport d'activité", required=False, accepted_types=["office", "pdf"])
    db.session.commit()
    return call


def test_the_detail_page_shows_everything_an_applicant_needs(client):
    full_call()
    body = get_page(client, "/appels/fipce")
    assert "<h1>Fonds d&#39;Initiatives pour une Consommation Engagée</h1>" in body
    assert "<h3>Objectifs</h3>" in body  # the description's headings fit under the page's own
    assert "<strong>écoles de consommateurs</strong>" in body
    assert "<li>Associations de la région</li>" in body
    assert "associations loi 1901, coopératives (SCOP, SCIC)" in body
    assert "de 2 000,00 € à 25 000,00 €" in body
    assert "50 %" in body  # maximum share of the total cost
    assert "250 000,00 €" in body and "50 000,00 €" in body
    assert "Région : 60 %" in body and "ADEME : 40 %" in body
    assert "Statuts de l&#39;association" in body and "Obligatoire" in body and "Facultative" in body
    assert "PDF, Documents bureautiques" in body  # the labels of FileKind, in its order
    assert "Pertinence au regard de l&#39;appel" in body and "75 %" in body and "25 %" in body
    assert "sur 5" in body
    assert "Se connecter" in body and "Créer un compte" in body


def test_a_call_for_individuals_says_so(client):
    CallFactory(slug="fradep", applicant_kinds=ApplicantKinds.INDIVIDUALS)
    assert "Ouvert aux personnes physiques" in get_page(client, "/appels/fradep")


def test_markdown_is_rendered_safely(client):
    CallFactory(
        slug="piege",
        description=(
            "Texte <script>alert('xss')</script> et <img src=x onerror=alert(1)>\n\n"
            "[cliquez](javascript:alert(1)) [site](https://example.org) "
            '<a href="https://evil.example" style="color:red">lien brut</a>'
        ),
        eligibility_rules="<iframe src='https://evil.example'></iframe>",
    )
    body = get_page(client, "/appels/piege")
    main = body[body.index("<main"):]
    assert "<script>alert" not in main
    assert "&lt;script&gt;" in main  # shown as text, never run
    assert "<img" not in main and "onerror=alert" not in main.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert 'href="javascript:' not in main
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">site</a>' in main
    assert "<iframe" not in main
    assert '<a href="https://evil.example"' not in main and "&lt;a href=" in main


@pytest.mark.parametrize(
    ("closes_at", "shown"),
    [
        # Friday 27 March 2026, before the change to summer time: Paris is UTC+1.
        (datetime(2026, 3, 27, 11, 0, tzinfo=UTC), "vendredi 27 mars 2026, 12:00"),
        # Monday 30 March 2026, after it (29 March): Paris is UTC+2.
        (datetime(2026, 3, 30, 10, 0, tzinfo=UTC), "lundi 30 mars 2026, 12:00"),
        # Around the change back to winter time (25 October 2026).
        (datetime(2026, 10, 23, 10, 0, tzinfo=UTC), "vendredi 23 octobre 2026, 12:00"),
        (datetime(2026, 10, 26, 11, 0, tzinfo=UTC), "lundi 26 octobre 2026, 12:00"),
    ],
)
def test_deadlines_are_shown_in_paris_time_on_both_sides_of_a_dst_change(client, closes_at, shown):
    CallFactory(slug="dst", opens_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC), closes_at=closes_at)
    assert shown in get_page(client, "/appels/dst")


def test_the_time_left_counts_paris_calendar_days_and_says_when_closed(client):
    CallFactory(slug="printemps", opens_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
                closes_at=datetime(2026, 3, 30, 10, 0, tzinfo=UTC))
    # Friday 27 March, 23:30 in Paris: Monday noon is three calendar days away (the DST night between).
    with time_machine.travel(datetime(2026, 3, 27, 22, 30, tzinfo=UTC), tick=False):
        assert "clôture dans 3 jours" in get_page(client, "/appels/printemps")
    with time_machine.travel(datetime(2026, 3, 29, 22, 30, tzinfo=UTC), tick=False):
        assert "clôture aujourd&#39;hui à 12:00" in get_page(client, "/appels/printemps")
    with time_machine.travel(datetime(2026, 3, 30, 10, 0, 1, tzinfo=UTC), tick=False):
        body = get_page(client, "/appels/printemps")
    assert "clôturé" in body
    assert "Cet appel est clôturé" in body


def test_a_draft_is_not_found_by_the_public_nor_by_reviewers(client, login_as):
    CallFactory(slug="brouillon", state=CallState.DRAFT, title="Appel pas encore publié")
    get_page(client, "/appels/brouillon", status=404)
    login_as(ReviewerFactory())
    get_page(client, "/appels/brouillon", status=404)


def test_a_manager_previews_a_draft_with_a_notice(client, login_as):
    CallFactory(slug="brouillon", state=CallState.DRAFT, title="Appel pas encore publié")
    login_as(ManagerFactory())
    body = get_page(client, "/appels/brouillon")
    assert "Appel pas encore publié" in body
    assert "cet appel n'est pas publié" in body


def test_an_unknown_call_is_not_found(client):
    body = get_page(client, "/appels/inexistant", status=404)
    assert "Cette page n" in body


# ---------------------------------------------------------------- pages of the list


def closed_calls(count: int) -> list:
    """``count`` closed calls, the first closed the latest."""
    return [CallFactory(title=f"Appel clos n° {n:02d}", state=CallState.CLOSED,
                        opens_at=datetime(2020, 1, 1, tzinfo=UTC),
                        closes_at=datetime(2024, 12, 31, tzinfo=UTC) - timedelta(days=n))
            for n in range(count)]


def test_the_list_shows_each_section_a_page_at_a_time(client):
    closed_calls(45)
    CallFactory(title="Appel ouvert")
    body = get_page(client, "/appels/")
    assert '<a href="#clotures">Clôturés <span class="count">45</span>' in body
    closed = section(body, "clotures")
    assert closed.count("Appel clos n°") == 20
    assert "Appel clos n° 00" in closed and "Appel clos n° 19" in closed and "Appel clos n° 20" not in closed
    assert "1 à 20 sur 45 — page 1 sur 3" in closed
    assert 'rel="next" href="/appels/?page_clotures=2#clotures"' in closed
    assert "Appel ouvert" in section(body, "ouverts")
    assert 'aria-label="Pages des appels ouverts"' not in body  # one page: no pager

    last = section(get_page(client, "/appels/?page_clotures=3"), "clotures")
    assert last.count("Appel clos n°") == 5 and "Appel clos n° 44" in last
    assert 'rel="prev" href="/appels/?page_clotures=2#clotures"' in last and 'rel="next"' not in last
    # Past the end: the last page; nonsense: the first.
    assert section(get_page(client, "/appels/?page_clotures=99"), "clotures") == last
    assert "Appel clos n° 00" in section(get_page(client, "/appels/?page_clotures=-1"), "clotures")


def test_the_pages_keep_the_search(client):
    for n in range(25):
        CallFactory(title=f"Jardins partagés {n:02d}", closes_at=utcnow() + timedelta(days=n + 1))
    CallFactory(title="Numérique")
    body = get_page(client, "/appels/?q=jardin")
    opened = section(body, "ouverts")
    assert opened.count("Jardins partagés") == 20 and "Numérique" not in body
    assert 'href="/appels/?q=jardin&amp;page_ouverts=2#ouverts"' in opened
    second = section(get_page(client, "/appels/?q=jardin&page_ouverts=2"), "ouverts")
    assert second.count("Jardins partagés") == 5 and "Jardins partagés 24" in second


def test_the_list_reads_a_fixed_number_of_statements_whatever_the_number_of_calls(app, client):
    app.config["PAGE_CACHE_SECONDS"] = 0  # the rendering, not the cache

    def statements_of_the_list() -> int:
        statements = []
        record = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            get_page(client, "/appels/")
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    closed_calls(3)
    CallFactory(title="Appel ouvert")
    CallFactory(title="Annoncé", state=CallState.SCHEDULED, opens_at=utcnow() + timedelta(days=5),
                closes_at=utcnow() + timedelta(days=40))
    few = statements_of_the_list()
    closed_calls(60)
    for n in range(30):
        CallFactory(title=f"Annoncé {n}", state=CallState.SCHEDULED, opens_at=utcnow() + timedelta(days=5),
                    closes_at=utcnow() + timedelta(days=40))
    assert statements_of_the_list() == few
