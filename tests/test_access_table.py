"""Who may call each endpoint, pinned in one table: a row per endpoint of ``app.url_map``.

tests/test_route_access.py proves that each view enforces the rule it declares; this table proves that
the declared rule is the intended one. Making a view more open (or closed) means changing its row here
too, in the same diff, where a reviewer sees it. A new endpoint fails until it has a row, and the
failure prints the row to paste, after checking it is the least rule the view needs.

Rules: ``Access.X`` of grants/access.py for the views decorated with ``@allow``; ``Token(Access.X)``
for the JSON API, a bearer token whose holder has role X. The role is only the first gate: a view of
a dossier, an organisation, an assignment or a notification then checks that the object is the
signed-in user's own (a 404 otherwise), which the tests of each area prove. ``Access.AUTHENTICATED``
is kept for the pages of every signed-in user (his account, his notifications) and for reading an
object that several roles share, each through its own ownership check.
"""

from __future__ import annotations

import pytest

from grants import create_app
from grants.access import Access
from tests.conftest import config_for
from tests.routes import Token, application_routes, declared_rule

ACCESS_TABLE: dict[str, Access | Token] = {
    # Signing in and out, registration, password reset: for anyone; the account page: its holder.
    "accounts.account": Access.AUTHENTICATED,
    "accounts.change_password": Access.AUTHENTICATED,
    "accounts.forgot_password": Access.PUBLIC,
    "accounts.login": Access.PUBLIC,
    "accounts.logout": Access.PUBLIC,  # an expired session must still be able to sign out
    "accounts.register_choice": Access.PUBLIC,
    "accounts.register_individual": Access.PUBLIC,
    "accounts.register_organisation": Access.PUBLIC,
    "accounts.reset_password": Access.PUBLIC,  # the emailed token is the credential
    "accounts.confirm_email": Access.PUBLIC,  # the emailed token proves the address
    "accounts.person_bank_details": Access.APPLICANT,  # an individual applicant's own IBAN
    "accounts.sign_out_everywhere": Access.AUTHENTICATED,
    # The JSON API: managers' tokens; the contract itself names no data.
    "api.create_token": Access.MANAGER,
    "api.revoke_token": Access.MANAGER,
    "api.tokens": Access.MANAGER,
    "api.v1.application": Token(Access.MANAGER),
    "api.v1.award": Token(Access.MANAGER),
    "api.v1.call": Token(Access.MANAGER),
    "api.v1.call_applications": Token(Access.MANAGER),
    "api.v1.calls": Token(Access.MANAGER),
    "api.v1.openapi": Access.PUBLIC,
    # The applicant's dossier, section by section; the managers' view of it and their requests.
    "applications.attachments": Access.APPLICANT,
    "applications.budget": Access.APPLICANT,
    "applications.call_applications": Access.MANAGER,
    "applications.bundle": Access.MANAGER,  # the committee's ZIP of a call's attachments
    "applications.download_bundle": Access.MANAGER,
    "applications.request_bundle": Access.MANAGER,
    # The applicant, the managers and the reviewers assigned to the dossier read its attachments.
    "applications.download_attachment": Access.AUTHENTICATED,
    "applications.identification": Access.APPLICANT,
    "applications.index": Access.APPLICANT,
    "applications.manage": Access.MANAGER,
    "applications.project": Access.APPLICANT,
    "applications.receipt": Access.APPLICANT,
    "applications.receipt_pdf": Access.APPLICANT,
    "applications.remove_attachment": Access.APPLICANT,
    "applications.request_corrections": Access.MANAGER,
    "applications.show": Access.APPLICANT,
    "applications.start": Access.APPLICANT,
    "applications.submit": Access.APPLICANT,
    "applications.withdraw": Access.APPLICANT,
    "applications.summary": Access.AUTHENTICATED,  # the view allows the applicant, managers and assigned reviewers
    # The audit log names every user and what they did.
    "audit.index": Access.ADMIN,
    # Decisions, money and committee: managers only; the exports carry applicants' names and amounts.
    "awards.amend": Access.MANAGER,
    "awards.award": Access.MANAGER,
    "awards.call_envelope": Access.MANAGER,
    "awards.cancel": Access.MANAGER,
    "awards.committee_session": Access.MANAGER,
    "awards.confirm_committee": Access.MANAGER,
    "awards.dashboard": Access.MANAGER,
    "awards.decision": Access.MANAGER,
    "awards.decision_letter": Access.APPLICANT,
    "awards.decisions_csv": Access.MANAGER,
    "awards.decisions_xlsx": Access.MANAGER,
    "awards.pay": Access.MANAGER,
    "awards.recover": Access.MANAGER,
    "awards.reject": Access.MANAGER,
    "awards.scdl": Access.MANAGER,  # published by the manager, once the decisions are signed
    "awards.waitlist": Access.MANAGER,
    # The final report: the association's (a 404 for any other association), the manager's review.
    "final_reports.accept": Access.MANAGER,
    "final_reports.add_document": Access.APPLICANT,
    "final_reports.corrections": Access.MANAGER,
    "final_reports.download_document": Access.AUTHENTICATED,  # the association and managers; others a 404
    "final_reports.edit": Access.APPLICANT,
    "final_reports.follow_up": Access.MANAGER,
    "final_reports.follow_up_csv": Access.MANAGER,
    "final_reports.recover": Access.MANAGER,
    "final_reports.reduce": Access.MANAGER,
    "final_reports.remove_document": Access.APPLICANT,
    "final_reports.review": Access.MANAGER,
    "final_reports.save": Access.APPLICANT,
    "final_reports.submit": Access.APPLICANT,
    # Calls: the published ones for anyone; programmes, budgets and call settings for managers.
    "calls.add_criterion": Access.MANAGER,
    "calls.add_document": Access.MANAGER,
    "calls.archive": Access.MANAGER,
    "calls.clone": Access.MANAGER,
    "calls.close": Access.MANAGER,
    "calls.create": Access.MANAGER,
    "calls.detail": Access.PUBLIC,  # a draft call is a 404
    "calls.edit": Access.MANAGER,
    "calls.edit_criterion": Access.MANAGER,
    "calls.extend": Access.MANAGER,
    "calls.funders": Access.MANAGER,
    "calls.index": Access.PUBLIC,
    "calls.manage": Access.MANAGER,
    "calls.manage_list": Access.MANAGER,
    "calls.move_criterion": Access.MANAGER,
    "calls.programme": Access.MANAGER,
    "calls.programmes": Access.MANAGER,
    "calls.publish": Access.MANAGER,
    "calls.record_direct_grant": Access.MANAGER,
    "calls.remove_criterion": Access.MANAGER,
    "calls.remove_document": Access.MANAGER,
    "calls.set_authorisation": Access.MANAGER,
    "calls.unpublish": Access.MANAGER,
    # Conventions: the beneficiary reads and its legal representative signs (the service checks who);
    # the managers generate, record a scan, countersign; both download the PDFs (ownership checked).
    "conventions.countersign": Access.MANAGER,
    "conventions.generate": Access.MANAGER,
    "conventions.manage": Access.MANAGER,
    "conventions.pdf": Access.AUTHENTICATED,
    "conventions.scan": Access.AUTHENTICATED,
    "conventions.show": Access.APPLICANT,
    "conventions.sign": Access.APPLICANT,
    "conventions.upload_scan": Access.MANAGER,
    # Home pages: the landing page for anyone, each role's own dashboard.
    "home.dashboard": Access.AUTHENTICATED,
    "home.index": Access.PUBLIC,
    "home.set_language": Access.PUBLIC,
    # Notifications: each user's own; the delivery monitor (recipients' addresses) for managers.
    "notifications.follow_programme": Access.APPLICANT,
    "notifications.index": Access.AUTHENTICATED,
    "notifications.mark_all_read": Access.AUTHENTICATED,
    "notifications.mark_read": Access.AUTHENTICATED,
    "notifications.monitor": Access.MANAGER,
    "notifications.preferences": Access.AUTHENTICATED,
    "notifications.retry": Access.MANAGER,
    "notifications.open_page": Access.AUTHENTICATED,  # one's own notification only (checked in the view)
    # Personal data: one's own data and account; the administrators' page; the public notice.
    "privacy.admin": Access.ADMIN,
    "privacy.admin_export": Access.ADMIN,
    "privacy.close_account": Access.AUTHENTICATED,  # one's own account only (no id in the URL)
    "privacy.download_export": Access.AUTHENTICATED,  # one's own export, or the admin's who asked for it
    "privacy.my_data": Access.AUTHENTICATED,
    "privacy.notice": Access.PUBLIC,
    "privacy.register_csv": Access.ADMIN,
    # Organisations: their members; an invitation is opened before its recipient has an account.
    "organisations.edit": Access.APPLICANT,
    "organisations.invitation": Access.PUBLIC,  # the emailed token is the credential
    "organisations.members": Access.APPLICANT,
    "organisations.profile": Access.APPLICANT,
    "organisations.promote_member": Access.APPLICANT,
    "organisations.remove_member": Access.APPLICANT,
    "organisations.revoke_invitation": Access.APPLICANT,
    "organisations.show": Access.APPLICANT,
    "organisations.bank_details": Access.APPLICANT,  # members of the organisation (checked in the view)
    # Reviews: the reviewer's desk; screening, assignments and ranking for managers.
    "reviews.assign": Access.MANAGER,
    "reviews.assignment": Access.REVIEWER,
    "reviews.assignments": Access.MANAGER,
    "reviews.auto_assign": Access.MANAGER,
    "reviews.conflicts": Access.REVIEWER,
    "reviews.desk": Access.REVIEWER,
    "reviews.ranking_csv": Access.MANAGER,
    "reviews.ranking_page": Access.MANAGER,
    "reviews.refresh_ranking": Access.MANAGER,
    "reviews.recuse": Access.REVIEWER,
    "reviews.confirm_submission": Access.REVIEWER,
    "reviews.autosave": Access.REVIEWER,
    "reviews.remove_assignment": Access.MANAGER,
    "reviews.screen": Access.MANAGER,
    "reviews.screening": Access.MANAGER,
    "reviews.withdraw_conflict": Access.REVIEWER,
    "search.export_csv": Access.MANAGER,
    "search.export_xlsx": Access.MANAGER,
    "search.index": Access.AUTHENTICATED,
}

# The URL spaces of staff: whatever is added under them is for that staff role, or stronger.
STAFF_SPACES = {
    "/gestion/": {Access.MANAGER, Access.ADMIN},
    "/admin/": {Access.ADMIN},
    "/evaluation": {Access.REVIEWER},
}

TABLE = f"ACCESS_TABLE in {__name__.replace('.', '/')}.py"


@pytest.fixture(scope="module")
def routes_app(tmp_path_factory):
    """The app, for its URL map only: no database is opened."""
    return create_app(config_for("sqlite://", tmp_path_factory.mktemp("routes")))


def declared_rules(app) -> dict[str, Access | Token | None]:
    return {rule.endpoint: declared_rule(app, rule.endpoint) for rule in application_routes(app)}


def as_code(rule: Access | Token | None) -> str:
    if rule is None:
        return "None"
    return str(rule) if isinstance(rule, Token) else f"Access.{rule.name}"


def table_row(endpoint: str, rule: Access | Token | None) -> str:
    hint = "  # no rule declared: decorate the view with @allow(Access.X) first" if rule is None else ""
    return f'    "{endpoint}": {as_code(rule)},{hint}'


def test_every_endpoint_has_a_row(routes_app):
    declared = declared_rules(routes_app)
    missing = [endpoint for endpoint in declared if endpoint not in ACCESS_TABLE]
    if missing:
        pytest.fail(
            f"{len(missing)} endpoint(s) have no row in {TABLE}. Check that each view asks for the least "
            "rule it needs (a role, then ownership of the object in the view), then paste these lines "
            "into the table, in endpoint order:\n" + "\n".join(table_row(e, declared[e]) for e in missing),
            pytrace=False,
        )


def test_every_row_is_an_endpoint(routes_app):
    declared = declared_rules(routes_app)
    stale = [endpoint for endpoint in ACCESS_TABLE if endpoint not in declared]
    if stale:
        pytest.fail(
            f"{TABLE} has rows for endpoints that no longer exist; remove these lines:\n"
            + "\n".join(table_row(e, ACCESS_TABLE[e]) for e in stale),
            pytrace=False,
        )


def test_every_view_declares_the_rule_of_its_row(routes_app):
    declared = declared_rules(routes_app)
    changed = [
        f"{endpoint}: the view declares {as_code(declared[endpoint])}, the table says {as_code(rule)}"
        for endpoint, rule in ACCESS_TABLE.items()
        if endpoint in declared and declared[endpoint] != rule
    ]
    if changed:
        pytest.fail(
            f"Views whose rule differs from {TABLE}:\n  " + "\n  ".join(changed)
            + "\nRestore the view's rule; or, if the change is intended, change its row in the same commit "
            "so that the review sees who may now call it.",
            pytrace=False,
        )


def test_staff_url_spaces_are_closed_to_other_roles(routes_app):
    """A row pasted from a failure message cannot open a staff page to applicants or the public."""
    wrong = []
    for rule in application_routes(routes_app):
        for space, allowed in STAFF_SPACES.items():
            pinned = ACCESS_TABLE.get(rule.endpoint)
            if rule.rule.startswith(space) and pinned is not None and pinned not in allowed:
                wrong.append(f"{rule.rule} ({rule.endpoint}): {as_code(pinned)}, "
                             f"expected one of {sorted(as_code(a) for a in allowed)}")
    assert wrong == []


def test_the_api_answers_bearer_tokens_only(routes_app):
    """Under /api/ only the published contract is public; everything else needs a token."""
    sessions = [
        rule.endpoint for rule in application_routes(routes_app)
        if rule.rule.startswith("/api/") and rule.endpoint in ACCESS_TABLE
        and not isinstance(ACCESS_TABLE[rule.endpoint], Token)
    ]
    assert sessions == ["api.v1.openapi"]
