"""A manager reopens some sections of a dossier only: the section boxes are not each ``required`` (a
browser would refuse the form unless all were ticked), and the server asks for at least one."""

from __future__ import annotations

import re
from datetime import timedelta

from grants.applications import services
from grants.database import db, utcnow
from grants.local_time import to_local
from grants.models import ApplicationState, CorrectionRequest
from tests.applications.conftest import page
from tests.factories import ManagerFactory, complete_draft


def test_a_manager_reopens_two_sections_of_four(client, login_as, call, applicant, member):
    application = complete_draft(call=call, applicant=applicant, partner_region="Kayes")
    services.submit(application, actor=member)
    db.session.commit()
    login_as(ManagerFactory())
    body = page(client.get(f"/gestion/dossiers/{application.id}"))
    boxes = re.findall(r'<input[^>]*name="sections"[^>]*>', body)
    assert len(boxes) == 4 and not any("required" in box for box in boxes)

    due = to_local(utcnow() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    body = page(client.post(f"/gestion/dossiers/{application.id}/complements",
                            data={"message": "Précisez le budget.", "due_at": due}), 422)
    assert 'href="#sections-0"' in body and "Choisissez au moins une partie." in body

    response = client.post(f"/gestion/dossiers/{application.id}/complements", data={
        "message": "Précisez le budget et joignez les statuts.", "due_at": due, "sections": ["budget", "pieces"]})
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == ApplicationState.CORRECTIONS_REQUESTED
    request = db.session.scalar(db.select(CorrectionRequest).where(CorrectionRequest.application_id == application.id))
    assert sorted(request.sections) == ["budget", "pieces"]
    assert services.editable_sections(application) == {"budget", "pieces"}
