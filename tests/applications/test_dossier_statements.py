"""A dossier's page reads what it shows in a fixed number of statements: its call and applicant with
it, and the timeline's actors with their events, however many people acted on the dossier."""

from __future__ import annotations

import pytest

from grants.audit.services import record_event
from grants.database import db
from tests.factories import ManagerFactory, SubmittedApplicationFactory, member_of
from tests.test_query_counts import counted_statements, own_context

# user; application with call, applicant, organisation; timeline with actors; corrections; next in the
# call (manager) or memberships (applicant); budget lines; attachments; required documents; decision.
DOSSIER_PAGE_STATEMENTS = 9


def statements_of(app, client, path: str) -> int:
    own_context(app, lambda: client.get(path))  # warm-up: the first request compiles templates
    with counted_statements() as statements:
        assert own_context(app, lambda: client.get(path)).status_code == 200
    return len(statements)


@pytest.mark.parametrize("reader", ["manager", "applicant"])
def test_a_dossier_page_costs_the_same_whoever_acted_on_it(app, login_as, reader):
    application = SubmittedApplicationFactory()
    manager = ManagerFactory()
    db.session.commit()
    user = manager if reader == "manager" else member_of(application.applicant.organisation)
    db.session.commit()
    path = f"/gestion/dossiers/{application.id}" if reader == "manager" else f"/dossiers/{application.id}"
    client = login_as(user)

    few = statements_of(app, client, path)
    for _ in range(4):  # four more people acted on the dossier: no statement per actor
        record_event("application.screened", actor=ManagerFactory(), subject=application)
    db.session.commit()
    many = statements_of(app, client, path)
    assert few == many <= DOSSIER_PAGE_STATEMENTS
