"""The final report's pages: the association drafts and deposits, another association gets a 404, the
manager reviews, reduces and recovers; the follow-up list and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import html5lib

from grants.database import db
from grants.final_reports import services
from grants.local_time import local_today
from grants.models import FinalReport, ReportState
from tests.factories import member_of
from tests.final_reports.conftest import awarded, filled, member

PARSER = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)


def report_form(actuals, explanations=("", "", "", ""), activity="Nous avons mené le projet."):
    data = {"activity_report": activity}
    for index, (actual, explanation) in enumerate(zip(actuals, explanations, strict=True)):
        data[f"lines-{index}-actual"] = actual
        data[f"lines-{index}-explanation"] = explanation
    return data


def test_the_association_saves_a_draft_then_deposits_it(decision, login_as):
    client = login_as(member(decision))
    url = f"/dossiers/{decision.application_id}/compte-rendu"
    page = client.get(url)
    assert page.status_code == 200
    PARSER.parse(page.get_data(as_text=True))
    assert "30 juin 2027" in page.get_data(as_text=True)
    saved = client.post(url, data=report_form(("3 000", "5000", "4000", "4000,00"), ("Moins d'achats", "", "", "")))
    assert saved.status_code == 302
    report = db.session.scalar(db.select(FinalReport))
    assert report.total_expenses == Decimal("8000.00") and report.state == ReportState.DRAFT
    deposited = client.post(f"{url}/deposer")
    assert deposited.status_code == 302
    db.session.refresh(report)
    assert report.state == ReportState.SUBMITTED
    shown = client.get(url).get_data(as_text=True)
    assert "en cours d'examen" in shown and 'name="lines-0-actual"' not in shown


def test_unbalanced_totals_are_refused_with_the_figures_and_nothing_is_deposited(decision, login_as):
    client = login_as(member(decision))
    url = f"/dossiers/{decision.application_id}/compte-rendu"
    client.post(url, data=report_form(("3000", "5000", "4000", "3000"), ("a", "b", "c", "d")))
    refused = client.post(f"{url}/deposer")
    assert refused.status_code == 422
    assert "8\u202f000,00\xa0€" in refused.get_data(as_text=True) or "8 000,00" in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(FinalReport)).state == ReportState.DRAFT


def test_a_bad_amount_is_a_422_under_its_field(decision, login_as):
    client = login_as(member(decision))
    response = client.post(f"/dossiers/{decision.application_id}/compte-rendu",
                           data=report_form(("abc", "5000", "4000", "4000")))
    assert response.status_code == 422
    assert db.session.scalar(db.select(FinalReport)) is None


def test_another_association_never_reaches_the_report(decision, login_as):
    stranger = member_of()
    db.session.commit()
    client = login_as(stranger)
    url = f"/dossiers/{decision.application_id}/compte-rendu"
    assert client.get(url).status_code == 404
    assert client.post(url, data=report_form(("1", "1", "1", "1"))).status_code == 404
    assert client.post(f"{url}/deposer").status_code == 404
    assert db.session.scalar(db.select(FinalReport)) is None


def test_the_manager_accepts_reduces_and_the_balance_follows(decision, manager, login_as):
    report = filled(decision)
    services.submit_report(report, actor=member(decision))
    db.session.commit()
    client = login_as(manager)
    url = f"/gestion/dossiers/{decision.application_id}/compte-rendu"
    page = client.get(url)
    assert page.status_code == 200
    PARSER.parse(page.get_data(as_text=True))
    assert client.post(f"{url}/accepter").status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "4\u202f000,00" in page or "4 000,00" in page  # the proportional rule's result
    refused = client.post(f"{url}/reduire", data={"reduction-amount": "4000", "reduction-reason": ""})
    assert refused.status_code == 422
    assert client.post(f"{url}/reduire", data={"reduction-amount": "4000",
                                               "reduction-reason": "80 % réalisé"}).status_code == 302
    db.session.refresh(decision)
    assert (decision.amount, decision.released) == (Decimal("4000.00"), Decimal("1000.00"))
    paid = client.post(f"/gestion/dossiers/{decision.application_id}/decision/versements",
                       data={"versement-amount": "1500", "versement-tranche": "balance",
                             "versement-paid_on": local_today().isoformat()})
    assert paid.status_code == 302
    again = client.post(f"/gestion/dossiers/{decision.application_id}/decision/versements",
                        data={"versement-amount": "1", "versement-tranche": "balance",
                              "versement-paid_on": local_today().isoformat()})
    assert again.status_code == 422 and "déjà été versé" in again.get_data(as_text=True)


def test_a_report_no_longer_awaiting_review_says_so_to_a_late_form(decision, manager, login_as):
    # Two managers on the same report: the second one's corrections form (empty or not) arrives after
    # the first accepted it; the page no longer shows that form, so the refusal itself is said.
    report = filled(decision)
    services.submit_report(report, actor=member(decision))
    services.accept_report(report, actor=manager)
    db.session.commit()
    client = login_as(manager)
    url = f"/gestion/dossiers/{decision.application_id}/compte-rendu"
    for reason in ("", "Il manque les factures."):
        late = client.post(f"{url}/complements", data={"complements-reason": reason})
        assert late.status_code == 422
        assert "Seul un compte rendu déposé" in late.get_data(as_text=True)
    assert client.post(f"{url}/accepter").status_code == 422
    db.session.refresh(report)
    assert report.state == ReportState.ACCEPTED and report.correction_reason is None


def test_follow_up_list_filters_and_exports(app, call, manager, login_as):
    late = awarded(call, manager, amount="3000", advance="1000", ends_on=date(2020, 6, 30))
    awarded(call, manager, amount="3000", advance="1000")
    db.session.commit()
    client = login_as(manager)
    page = client.get("/gestion/suivi-des-subventions")
    assert page.status_code == 200
    PARSER.parse(page.get_data(as_text=True))
    only_late = client.get("/gestion/suivi-des-subventions?etape=report_late").get_data(as_text=True)
    assert late.application.reference in only_late and only_late.count("<tr") == 2  # header + one
    exported = client.get("/gestion/suivi-des-subventions.csv?etape=report_late")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 2 and rows[1][0] == late.application.reference and rows[1][3] == "3000,00"
    assert client.get("/gestion/suivi-des-subventions?etape=nimporte&appel=abc").status_code == 200


def test_the_dossier_page_says_the_report_is_next_and_the_decision_page_links_it(decision, manager, login_as):
    db.session.commit()
    shown = login_as(member(decision)).get(f"/dossiers/{decision.application_id}").get_data(as_text=True)
    assert "Prochaine étape : le compte rendu financier, à déposer avant le 30 juin 2027." in shown
    assert f'href="/dossiers/{decision.application_id}/compte-rendu"' in shown
    page = login_as(manager).get(f"/gestion/dossiers/{decision.application_id}/decision").get_data(as_text=True)
    assert f'href="/gestion/dossiers/{decision.application_id}/compte-rendu"' in page
