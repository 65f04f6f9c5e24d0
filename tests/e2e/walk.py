"""Walking the served demo app as each role: which pages there are (from ``app.url_map``, with the
seeded objects in their URLs), which forms they hold, and valid values for their fields.

Nothing here names a page or a form: a new route is walked as soon as it exists, with the objects its
URL arguments name; a new argument name fails the walk until ``BINDERS`` knows where to find one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import html5lib
import sqlalchemy as sa
from flask import url_for

from grants.accounts.models import StaffRole, User
from grants.applications.models import Application, ApplicationState, Attachment, AttachmentBundle
from grants.awards.models import Decision
from grants.calls.models import Call, Criterion, Programme
from grants.database import db
from grants.demo.seed import DEMO_PASSWORD
from grants.final_reports.models import FinalReport, FinalReportDocument
from grants.local_time import local_today, local_zone
from grants.organisations.models import Applicant, ApplicantKind, Membership, MembershipRole
from grants.outbox.models import Notification
from grants.reviews.models import ReviewAssignment
from tests.test_route_access import SATISFIED_BY, application_routes

ROLES = ["anonymous", "member", "individual", "reviewer", "manager", "admin", "no_role"]
APPLICANT_ROLES = {"member", "individual"}
SIGNED_OUT = None  # the anonymous visitor's "account"
# The accounts the demo has not (tests/e2e/conftest.py, seed_the_demo adds them).
DEMO_ADMIN_EMAIL = "admin.essai@region.example.org"
NO_ROLE_EMAIL = "paul.sansrole@example.org"


@dataclass(frozen=True)
class Visit:
    """A GET page as one person sees it: ``situation`` says which state of its objects it shows."""

    endpoint: str
    role: str
    email: str | None
    path: str
    situation: str


# --- People ----------------------------------------------------------------------------------------


def first_email(query) -> str:
    email = db.session.scalar(query.limit(1))
    assert email is not None, f"the seeded data has nobody for {query}"
    return email


def default_accounts() -> dict[str, str | None]:
    """One seeded account per role (the demo's first of each kind)."""
    staff = {role: first_email(sa.select(User.email).where(User.staff_role == role).order_by(User.id))
             for role in (StaffRole.REVIEWER, StaffRole.MANAGER, StaffRole.ADMIN)}
    return {
        "anonymous": SIGNED_OUT,
        "member": first_email(sa.select(User.email).join(Membership, Membership.user_id == User.id)
                              .where(Membership.role == MembershipRole.OWNER).order_by(Membership.id)),
        "individual": first_email(sa.select(User.email).join(Applicant, Applicant.person_id == User.id)
                                  .order_by(Applicant.id)),
        "reviewer": staff[StaffRole.REVIEWER],
        "manager": staff[StaffRole.MANAGER],
        "admin": staff[StaffRole.ADMIN],
        "no_role": NO_ROLE_EMAIL,
    }


def applicant_account(application: Application, role: str) -> str | None:
    """Who applies for ``application`` as ``role`` (an owner of its organisation, or the person), or
    None when that role cannot hold it."""
    applicant = application.applicant
    if role == "individual" and applicant.kind == ApplicantKind.INDIVIDUAL:
        return applicant.person.email
    if role == "member" and applicant.kind == ApplicantKind.ORGANISATION:
        return db.session.scalar(
            sa.select(User.email).join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == applicant.organisation_id)
            .order_by(Membership.role != MembershipRole.OWNER, Membership.id).limit(1))
    return None


class Browsers:
    """Each account's browser, signed in through the sign-in page; every context opened for an account
    starts from that state (cookies) until the database is restored, which ends every login session."""

    def __init__(self, browser, base_url: str):
        self.browser, self.base_url = browser, base_url
        self.states: dict[str, dict] = {}

    def context(self, email: str | None, viewport: dict | None = None):
        options = {"locale": "fr-FR", "timezone_id": "Europe/Paris", "base_url": self.base_url,
                   "viewport": viewport or {"width": 1280, "height": 900}}
        if email is not SIGNED_OUT:
            options["storage_state"] = self.signed_in(email)
        context = self.browser.new_context(**options)
        context.set_default_timeout(20_000)
        return context

    def signed_in(self, email: str) -> dict:
        if email not in self.states:
            context = self.browser.new_context(locale="fr-FR", base_url=self.base_url)
            page = context.new_page()
            page.goto("/connexion")
            page.locator("main").get_by_label("Adresse e-mail").fill(email)
            page.locator("main").get_by_label("Mot de passe", exact=True).fill(DEMO_PASSWORD)
            page.locator("main").get_by_role("button", name="Se connecter").click()
            page.wait_for_url(re.compile(r"/mon-espace$"))
            self.states[email] = context.storage_state()
            context.close()
        return self.states[email]


# --- The objects a URL names, one per situation ----------------------------------------------------


def application_situation(application: Application) -> str:
    situation = application.state.value
    decision = db.session.scalar(sa.select(Decision).where(Decision.application_id == application.id))
    if decision is not None:
        situation += f"/{decision.outcome.value}" + ("/paid" if decision.paid else "")
    if application.state == ApplicationState.DRAFT:
        situation += f"/call {application.call.state.value}" + ("/started" if application.amount_requested else "")
    return situation


def one_per_situation(objects, situation) -> list[tuple[str, object]]:
    chosen: dict[str, object] = {}
    for obj in objects:
        chosen.setdefault(situation(obj), obj)
    return sorted(chosen.items())


def application_bindings(role: str, accounts: dict, arguments: set) -> list[tuple[dict, str | None, str]]:
    # The most complete dossiers first: the situation's representative is the one with a budget.
    applications = db.session.scalars(sa.select(Application).order_by(
        Application.amount_requested.is_(None), Application.id)).all()
    bindings = []
    for situation, application in one_per_situation(applications, application_situation):
        email = applicant_account(application, role) if role in APPLICANT_ROLES else accounts[role]
        if role in APPLICANT_ROLES and email is None:
            continue
        values = {"application_id": application.id, "call_id": application.call_id, "slug": application.call.slug}
        if "attachment_id" in arguments:
            attachment = db.session.scalar(sa.select(Attachment.id).where(
                Attachment.application_id == application.id).limit(1))
            if attachment is None:
                continue
            values["attachment_id"] = attachment
        if "document_id" in arguments:  # a final report's document (none in the demo: no visit)
            document = db.session.scalar(
                sa.select(FinalReportDocument.id).join(FinalReport).join(Decision, Decision.id == FinalReport.decision_id)
                .where(Decision.application_id == application.id).limit(1))
            if document is None:
                continue
            values["document_id"] = document
        bindings.append((values, email, situation))
    return bindings


def assignment_bindings(role: str, accounts: dict, arguments: set) -> list[tuple[dict, str | None, str]]:
    assignments = db.session.scalars(sa.select(ReviewAssignment).order_by(ReviewAssignment.id)).all()

    def situation(assignment):
        review = assignment.review
        return f"assignment {assignment.state.value}/review {review.state.value if review else 'none'}"

    return [({"assignment_id": a.id}, a.reviewer.email if role == "reviewer" else accounts[role], name)
            for name, a in one_per_situation(assignments, situation)]


def call_bindings(role: str, accounts: dict, arguments: set) -> list[tuple[dict, str | None, str]]:
    calls = db.session.scalars(sa.select(Call).order_by(Call.id)).all()
    bindings = []
    for situation, call in one_per_situation(calls, lambda c: f"call {c.state.value}"):
        values = {"call_id": call.id, "slug": call.slug}
        if "criterion_id" in arguments:
            criterion = db.session.scalar(sa.select(Criterion.id).where(Criterion.call_id == call.id).limit(1))
            if criterion is None:
                continue
            values["criterion_id"] = criterion
        if "bundle_id" in arguments:  # a committee's ZIP (none in the demo: no visit)
            bundle = db.session.scalar(sa.select(AttachmentBundle.id).where(AttachmentBundle.call_id == call.id).limit(1))
            if bundle is None:
                continue
            values["bundle_id"] = bundle
        bindings.append((values, accounts[role], situation))
    return bindings


def notification_bindings(role: str, accounts: dict, arguments: set) -> list[tuple[dict, str | None, str]]:
    """The role's own latest notification that leads to a page (the bell's link); none, no visit."""
    email = accounts[role]
    notification = db.session.scalar(
        sa.select(Notification.id).join(User, User.id == Notification.recipient_id)
        .where(User.email == email, Notification.link.is_not(None)).order_by(Notification.id.desc()).limit(1))
    return [] if notification is None else [({"notification_id": notification}, email, "notification")]


def export_bindings(role: str, accounts: dict, arguments: set) -> list[tuple[dict, str | None, str]]:
    """The role's own latest export of their data (the demo has none: no visit until one is asked)."""
    from grants.privacy.models import DataExport

    email = accounts[role]
    export = db.session.scalar(
        sa.select(DataExport.id).join(User, User.id == DataExport.user_id)
        .where(User.email == email).order_by(DataExport.id.desc()).limit(1))
    return [] if export is None else [({"export_id": export}, email, "data export")]


def single_values(arguments: set, role: str, accounts: dict, endpoint: str, secrets: dict) -> dict:
    values = {}
    for argument in arguments:
        if argument == "programme_id":
            values[argument] = db.session.scalar(sa.select(Programme.id).order_by(Programme.id).limit(1))
        elif argument == "organisation_id":
            email = accounts["member"] if role not in APPLICANT_ROLES else accounts[role]
            values[argument] = db.session.scalar(
                sa.select(Membership.organisation_id).join(User, User.id == Membership.user_id)
                .where(User.email == email).limit(1)) or db.session.scalar(
                sa.select(Membership.organisation_id).order_by(Membership.id).limit(1))
        elif argument == "version":  # a convention's first version (grants.conventions)
            values[argument] = 1
        elif argument == "year":
            values[argument] = datetime.now(local_zone()).year
        elif argument == "token" and endpoint in TOKEN_LINKS:
            values[argument] = secrets[TOKEN_LINKS[endpoint]]
        else:
            raise LookupError(f"the walk has no value for <{argument}> of {endpoint}: teach tests/e2e/walk.py")
    return values


# The signed links of the seeded data (tests/e2e/conftest.py, seed_the_demo), by the page they open.
TOKEN_LINKS = {"organisations.invitation": "invitation", "accounts.reset_password": "password_reset",
               "accounts.confirm_email": "email_confirmation"}
BINDERS = [
    ({"application_id"}, application_bindings),
    ({"assignment_id"}, assignment_bindings),
    ({"call_id", "slug", "criterion_id"}, call_bindings),
    ({"notification_id"}, notification_bindings),
    ({"export_id"}, export_bindings),
]


def visits(app, role: str, accounts: dict, secrets: dict) -> list[Visit]:
    """Every GET page ``role`` may open, once per situation of the objects in its URL."""
    found = []
    for rule in application_routes(app):
        view = app.view_functions[rule.endpoint]
        if "GET" not in rule.methods or role not in SATISFIED_BY[view.access_rule]:
            continue
        arguments = set(rule.arguments)
        bindings = [({}, accounts[role], "")]
        for names, binder in BINDERS:
            if arguments & names:
                bindings = binder(role, accounts, arguments)
                break
        for values, email, situation in bindings:
            rest = arguments - set(values)
            values = {**{k: v for k, v in values.items() if k in arguments},
                      **single_values(rest, role, accounts, rule.endpoint, secrets)}
            with app.test_request_context():
                path = url_for(rule.endpoint, **values)
            found.append(Visit(rule.endpoint, role, email, path, situation))
    return found


# --- Forms on a page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormButton:
    """One way of sending one form: the form's action and the submit button's accessible text."""

    action: str  # path
    action_endpoint: str
    button: str
    in_main: bool
    # The button's text without what only screen readers hear ("Retirer" for "Retirer <name>"):
    # the same button on every row of a list is one way of sending the form.
    visible: str


def text_of(element, hidden: bool = True) -> str:
    """An element's text; with ``hidden=False``, less what is there for screen readers only."""
    def parts(node, top=False):
        if hidden or "visually-hidden" not in (node.get("class") or "").split():
            yield node.text or ""
            for child in node:
                yield from parts(child)
        if not top:
            yield node.tail or ""
    return re.sub(r"\s+", " ", "".join(parts(element, top=True))).strip()


def post_forms(html: str, page_path: str, app) -> list[FormButton]:
    """The POST forms of a page and each of their submit buttons, the page's own (in <main>) and the
    site's (the header's language and sign-out forms)."""
    tree = html5lib.parse(html, namespaceHTMLElements=False)
    main = tree.find(".//main")
    in_main = {id(form) for form in main.iter("form")} if main is not None else set()
    adapter = app.url_map.bind("localhost")
    found = []
    for form in tree.iter("form"):
        if (form.get("method") or "get").lower() != "post":
            continue
        action = (form.get("action") or page_path).split("?")[0].split("#")[0]
        endpoint, _ = adapter.match(action, method="POST")
        buttons = [b for b in form.iter("button") if (b.get("type") or "submit") == "submit"]
        buttons += [i for i in form.iter("input") if i.get("type") in ("submit", "image")]
        if form.get("id"):
            buttons += [b for b in tree.iter("button") if b.get("form") == form.get("id")]
        for button in buttons:
            label = text_of(button) or button.get("value") or button.get("aria-label") or ""
            found.append(FormButton(action, endpoint, label, id(form) in in_main, text_of(button, hidden=False) or label))
    return found


# --- Valid values, by field name --------------------------------------------------------------------

NEW_PASSWORD = "une nouvelle phrase de passe assez longue"
TODAY = local_today()  # the service's day (Europe/Paris): payments are dated up to it


def local_minutes(days: int) -> str:
    moment = datetime.now(local_zone()).replace(hour=12, minute=0) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M")


# The domain's fields, by name (the last part of a list's field name: ``expenses-0-amount`` is
# ``amount``; a criterion's ``score_12`` is ``score``). Amounts and decimals use the French comma.
FIELD_VALUES = {
    "email": "nouvelle.personne@exemple.fr",
    "password": NEW_PASSWORD,
    "password_confirm": NEW_PASSWORD,
    "new_password": NEW_PASSWORD,
    "current_password": DEMO_PASSWORD,
    "full_name": "Odile Martin",
    "name": "Nom saisi par le parcours",
    "siret": "73282932000074",
    "iban": "FR7630006000011234567890189",
    "bic": "BNPAFRPP",
    "rna": "W595012345",
    "street": "4 rue Nationale",
    "postal_code": "59000",
    "city": "Lille",
    "phone": "03 20 00 00 00",
    "address": "4 rue Nationale, 59000 Lille",
    "title": "Projet saisi par le parcours",
    "slug": "appel-saisi-par-le-parcours",
    "reference_prefix": "PAR",
    "year": str(TODAY.year),  # the demo's programmes are authorised for this year
    "amount": "1 250,50",
    "amount_requested": "1 250,50",
    "actual": "1 000,00",  # a final report's line, as spent or received
    "suggested_amount": "1 250,50",
    "authorised": "5 000 000,00",  # above what the demo already carves out of a programme
    "min_grant": "1 000,00",
    "max_grant": "15 000,50",
    "max_share_percent": "80,5",
    "share_percent": "20,5",
    "envelope_fonctionnement": "50 000,00",
    "envelope_investissement": "50 000,00",
    "weight": "1,5",
    "scale_max": "5",
    "score": "3,5",
    "beneficiaries_count": "120",
    "per_application": "1",
    "reminder_offsets": "7, 1",
    "beneficiary_name": "Association Les Amis du Bocage",
    "starts_on": (TODAY + timedelta(days=60)).isoformat(),
    "ends_on": (TODAY + timedelta(days=240)).isoformat(),
    "paid_on": TODAY.isoformat(),
    "recovered_on": TODAY.isoformat(),
    "held_on": TODAY.isoformat(),
    "due_on": (TODAY + timedelta(days=14)).isoformat(),
    "due_at": local_minutes(14),
    "opens_at": local_minutes(10),
    # Later than any seeded call's closing date: an extension must move it forward.
    "closes_at": local_minutes(200),
}
# Values a valid sending must put in place of what the page shows, by the endpoint the form posts to.
FORM_VALUES = {
    "calls.extend": {"closes_at": local_minutes(200)},  # an extension moves the deadline later
    "calls.clone": {"year": str(TODAY.year)},  # the page proposes next year, which the demo has not authorised
    "awards.amend": {"amount": "1 000,00"},  # a modification changes the amount awarded
    "privacy.close_account": {"password": DEMO_PASSWORD},  # closing one's account asks for one's own password
    "privacy.admin_export": {"email": "camille.lefebvre@example.org"},  # a written request names an account
    "final_reports.reduce": {"amount": "1 000,00"},  # a reduction goes below the amount awarded
}
# What a person types in a field of that type when its name says nothing of the domain.
TYPE_VALUES = {
    "email": FIELD_VALUES["email"],
    "password": NEW_PASSWORD,
    "tel": FIELD_VALUES["phone"],
    "number": "3",
    "date": (TODAY + timedelta(days=30)).isoformat(),
    "datetime-local": local_minutes(30),
    "text": "Saisi par le parcours de test",
    "textarea": "Texte saisi par le parcours de test, en français, avec des accents : é, à, ç.",
    "search": "essai",
    "url": "https://exemple.fr/",
}


def field_key(name: str) -> str:
    return re.sub(r"_\d+$", "", name.rsplit("-", 1)[-1])


@dataclass
class Filling:
    """What was typed into a form, and what the browser did with the page's own values."""

    typed: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def value_for(name: str, kind: str, overrides: dict) -> str:
    key = field_key(name)
    if key in overrides:
        return overrides[key]
    if key in FIELD_VALUES:
        return FIELD_VALUES[key]
    return TYPE_VALUES.get(kind, TYPE_VALUES["text"])
