"""A call may ask how many young people a project reaches: the project form then asks it (bounded),
submission requires it, managers see it. A call that does not ask shows and takes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from grants.database import db
from grants.models import Application
from tests.applications.conftest import page
from tests.applications.test_drafts import draft
from tests.applications.test_journey import project_form
from tests.factories import ManagerFactory, SubmittedApplicationFactory


@pytest.fixture
def asking(call):
    call.asks_young_people_count = True
    db.session.commit()
    return call


def test_a_call_that_does_not_ask_has_no_such_field(client, login_as, call, member, applicant):
    application = draft(call, applicant, member)
    login_as(member)
    assert 'name="young_people_count"' not in page(client.get(f"/dossiers/{application.id}/projet"))
    # A forged field is ignored: the call does not ask for it.
    client.post(f"/dossiers/{application.id}/projet", data=project_form(application.version, young_people_count="50"))
    db.session.refresh(application)
    assert application.young_people_count is None
    assert "jeunes touchés" not in page(client.get(f"/dossiers/{application.id}/depot"))


def test_the_count_is_asked_bounded_and_required_at_submission(client, login_as, asking, member, applicant):
    application = draft(asking, applicant, member)
    login_as(member)
    assert 'name="young_people_count"' in page(client.get(f"/dossiers/{application.id}/projet"))
    check = page(client.get(f"/dossiers/{application.id}/depot"))
    assert "Indiquez le nombre de jeunes touchés par le projet." in check
    assert f'href="/dossiers/{application.id}/projet#young_people_count"' in check

    for bad in ("-1", "1000001", "beaucoup"):
        body = page(client.post(f"/dossiers/{application.id}/projet",
                                data=project_form(application.version, young_people_count=bad)), 422)
        assert 'id="young_people_count-error"' in body and f'value="{bad}"' in body
        db.session.refresh(application)
        assert application.young_people_count is None and application.title  # the rest is saved

    page(client.post(f"/dossiers/{application.id}/projet",
                     data=project_form(application.version, young_people_count="240")), 302)
    db.session.refresh(application)
    assert application.young_people_count == 240
    assert "Indiquez le nombre de jeunes" not in page(client.get(f"/dossiers/{application.id}/depot"))


def test_managers_see_the_count_on_the_dossier_and_in_the_ranking_export(client, login_as, asking, applicant):
    application = SubmittedApplicationFactory(call=asking, applicant=applicant, state="under_review",
                                              eligible=True, young_people_count=1250)
    login_as(ManagerFactory())
    body = page(client.get(f"/gestion/dossiers/{application.id}"))
    assert "Nombre de jeunes touchés" in body and "1250" in body
    export = client.get(f"/gestion/appels/{asking.id}/classement.csv").get_data(as_text=True)
    header, row = (line.split(";") for line in export.lstrip("\ufeff").splitlines())
    assert row[header.index("Jeunes touchés")] == "1250"


def test_the_database_bounds_the_count(app, call, member, applicant):
    application = draft(call, applicant, member)
    with pytest.raises(sa.exc.IntegrityError) as refused:
        db.session.execute(sa.update(Application).where(Application.id == application.id)
                           .values(young_people_count=-5))
    assert "ck_applications_young_people_count_bounded" in str(refused.value)
    db.session.rollback()
