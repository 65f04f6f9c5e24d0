"""Every route states who may call it, and the rule holds for every role.

The test walks ``app.url_map``: a new route without ``@allow(...)`` fails here, and so does a route whose
rule lets the wrong role in. Each refused request is a 302 to the login page (anonymous) or a 403;
the JSON API (bearer tokens, never sessions) answers 401 JSON to every session. Which rule each route
must declare is pinned in tests/test_access_table.py.
"""

from __future__ import annotations

import html5lib
import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from grants.access import Access
from tests.conftest import login
from tests.factories import (
    AdminFactory,
    IndividualApplicantFactory,
    ManagerFactory,
    ReviewerFactory,
    UserFactory,
    member_of,
)
from tests.routes import application_routes, declared_rule

# Which identities satisfy which rule; anything else must be refused.
SATISFIED_BY = {
    Access.PUBLIC: {"anonymous", "member", "individual", "reviewer", "manager", "admin", "no_role"},
    Access.AUTHENTICATED: {"member", "individual", "reviewer", "manager", "admin", "no_role"},
    Access.APPLICANT: {"member", "individual"},
    Access.REVIEWER: {"reviewer"},
    Access.MANAGER: {"manager", "admin"},
    Access.ADMIN: {"admin"},
    Access.API_TOKEN: set(),  # a bearer token only: no session satisfies it (tests/api/ test the tokens)
}


def example_url(app, rule) -> str:
    """The rule's URL with ids that exist nowhere: access is decided before any lookup."""
    values = {}
    for argument in rule.arguments:
        converter = rule._converters[argument]
        values[argument] = 987654 if isinstance(converter, IntegerConverter) else "inexistant"
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


@pytest.fixture
def identities(app):
    individual = IndividualApplicantFactory().person
    return {
        "anonymous": None,
        "member": member_of(),
        "individual": individual,
        "reviewer": ReviewerFactory(),
        "manager": ManagerFactory(),
        "admin": AdminFactory(),
        "no_role": UserFactory(),
    }


# Routes after which the session they were called with is over (its login-session row is deleted).
ENDS_THE_SESSION = {"accounts.logout", "accounts.sign_out_everywhere"}


def fresh_session(app, user) -> dict:
    client = app.test_client()
    assert login(client, user).status_code == 302
    with client.session_transaction() as session:
        return dict(session)


@pytest.fixture
def signed_in_sessions(app, identities):
    """Each identity's session after a real sign-in, to be restored before every request."""
    sessions = {"anonymous": {}}
    for identity, user in identities.items():
        if user is not None:
            sessions[identity] = fresh_session(app, user)
    return sessions


def sign_in(client, session_values: dict) -> None:
    client._cookies.clear()  # no remember-me cookie left by a previous request
    with client.session_transaction() as session:
        session.clear()
        session.update(session_values)


def test_every_route_declares_who_may_call_it(app):
    missing = [rule.endpoint for rule in application_routes(app) if declared_rule(app, rule.endpoint) is None]
    assert missing == [], f"routes without @allow(...): {missing}"


def test_the_route_list_is_not_empty(app):
    assert len(application_routes(app)) >= 10


@pytest.mark.parametrize("identity", ["anonymous", "member", "individual", "reviewer", "manager", "admin", "no_role"])
def test_each_identity_is_refused_exactly_where_its_rules_say(app, client, identities, signed_in_sessions, identity):
    problems = []
    for rule in application_routes(app):
        access = app.view_functions[rule.endpoint].access_rule
        url = example_url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            sign_in(client, signed_in_sessions[identity])
            response = client.open(url, method=method)
            if rule.endpoint in ENDS_THE_SESSION and identities.get(identity) is not None:
                signed_in_sessions[identity] = fresh_session(app, identities[identity])
            allowed = identity in SATISFIED_BY[access]
            if not allowed:
                expected = 302 if identity == "anonymous" else 403
                if access == Access.API_TOKEN:  # the JSON API answers 401 JSON, session or not
                    expected = 401 if response.mimetype == "application/json" else "401 JSON"
                if response.status_code != expected or (
                    expected == 302 and "/connexion" not in response.headers.get("Location", "")
                ):
                    problems.append(f"{method} {url} ({access}) gave {response.status_code}, expected {expected}")
            elif response.status_code in (403, 500):
                problems.append(f"{method} {url} ({access}) refused an allowed {identity}: {response.status_code}")
    assert problems == []


def test_every_page_a_role_can_open_is_well_formed_html(app, client, signed_in_sessions):
    """Every GET page without URL arguments parses as HTML5 without errors, for every identity."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    checked = 0
    for identity, session_values in signed_in_sessions.items():
        for rule in application_routes(app):
            access = app.view_functions[rule.endpoint].access_rule
            if rule.arguments or "GET" not in rule.methods or identity not in SATISFIED_BY[access]:
                continue
            sign_in(client, session_values)
            response = client.get(example_url(app, rule))
            if response.status_code == 200 and response.mimetype == "text/html":
                try:
                    parser.parse(response.get_data(as_text=True))
                except html5lib.html5parser.ParseError as error:
                    pytest.fail(f"{rule.rule} as {identity}: {error}")
                checked += 1
    assert checked > 0


def test_refused_access_is_audited(app, client, identities, signed_in_sessions):
    from grants.audit.models import AuditEvent
    from grants.database import db

    sign_in(client, signed_in_sessions["member"])
    with app.test_request_context():
        audit_log = url_for("audit.index")
    assert client.get(audit_log).status_code == 403
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "access.refused")).one()
    assert event.actor_id == identities["member"].id
