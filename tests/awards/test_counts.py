"""Counts agree with their words: "1 déposé", "2 déposés" on the envelope page and the manager's home."""

from __future__ import annotations

from grants.models import ApplicationState
from tests.awards.conftest import under_review
from tests.factories import SubmittedApplicationFactory


def test_each_state_count_agrees_with_its_number(call, manager, login_as):
    SubmittedApplicationFactory(call=call)
    for _ in range(2):
        SubmittedApplicationFactory(call=call, state=ApplicationState.WITHDRAWN)
    under_review(call)
    client = login_as(manager)
    page = client.get(f"/gestion/appels/{call.id}/enveloppe").get_data(as_text=True)
    assert "<strong>1</strong> déposé<" in page and "<strong>2</strong> retirés<" in page
    assert "1</strong> déposés" not in page
    home = client.get("/mon-espace").get_data(as_text=True)
    assert 'stat-value">1</span><span class="stat-label">dossier en instruction<' in home
    assert 'stat-value">0</span><span class="stat-label">dossiers décidés<' in home
