"""No input crashes a page: every form of the service is submitted with hostile values, field by field.

The test walks ``app.url_map`` like tests/test_route_access.py. On the demo data set, signed in as every
identity, it opens each GET page it may open (with the ids of real rows), reads the POST forms of the
page with the suite's HTML parser, and keeps one form per (route, identity). A route added later is
fuzzed as soon as a page shows its form; a POST route that no page shows fails the test unless it is
listed in ``WITHOUT_A_FORM`` with the reason.

Each form is then sent once as the page filled it, then once per field and hostile value (a fixed set per
kind of field, plus values drawn by hypothesis), and each URL id is replaced by one beyond the id column
(2³¹). Every answer must be below 500; an answer that is not a success nor a redirect must leave every
table's row count unchanged (an "access.refused" audit event aside: a 403 records one) and, as an HTML
page, say what was wrong.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import html5lib
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from grants.api.services import create_token
from grants.audit.models import AuditEvent
from grants.awards.models import Decision
from grants.database import db, utcnow
from grants.demo.content import MANAGER_EMAIL, REVIEWER_1
from grants.demo.seed import DEMO_PASSWORD, seed_demo
from grants.form_fields import MAX_RECORD_ID
from grants.models import Applicant, ApplicantKind, Application, Invitation, Membership, User
from grants.organisations.services import invite_member
from grants.outbox.models import Notification, NotificationStatus
from tests.conftest import login
from tests.factories import AdminFactory, ConflictOfInterestFactory, UserFactory
from tests.test_route_access import SATISFIED_BY, sign_in

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# POST routes that no page shows as a form, each with the reason; everything else must be fuzzed.
WITHOUT_A_FORM = {
    "api.v1.award": "JSON API with a bearer token, no form: its body's bounds are tested in tests/test_input_bounds.py "
                "and tests/api/",
    # Forms whose state the demo data set does not hold (shown only for it); their fields are of the kinds
    # fuzzed elsewhere and tested in their area's tests.
    "applications.identification": "an individual applicant's draft (the demo's individuals have submitted)",
    "applications.remove_attachment": "a draft with an uploaded file (uploads are fuzzed by the attachment tests)",
    "applications.request_bundle": "a call whose submitted dossiers have files (the demo's have none); no field, "
                                   "tested in tests/applications/test_bundles.py",
    "applications.start": "a call open to an applicant with several applicant identities to choose from",
    "conventions.countersign": "a convention signed and not yet countersigned: the demo's are countersigned or "
                               "await their signature; only a button, tested in tests/conventions/",
    "conventions.generate": "an award needing a convention that has none (the demo generates them all); only a "
                            "button, tested in tests/conventions/",
    "conventions.sign": "a convention awaiting the signature of the fuzzed member's own organisation (the demo's "
                        "awaiting one is another association's); its hash and consent are refused in tests/conventions/",
    "final_reports.save": "an award of the fuzzed member's own organisation whose final report is due (the demo's "
                          "are other associations'); amounts and texts fuzzed by tests/final_reports/test_pages.py",
    "final_reports.submit": "a draft final report (the demo's are submitted and accepted); only a button, its "
                            "refusals tested in tests/final_reports/test_pages.py",
    "final_reports.add_document": "a draft final report (uploads are fuzzed by the attachment tests; "
                                  "tests/final_reports/test_documents.py)",
    "final_reports.remove_document": "a draft final report with a document (tests/final_reports/test_documents.py)",
    "final_reports.recover": "an overpayment to recover on a reduced grant (the demo's reduced grant was not paid "
                             "beyond its new amount); tests/final_reports/test_services.py",
    "calls.publish": "a draft call complete enough to publish (grid, envelope): the demo's calls are published",
    "calls.close": "an open call past its closing date and not yet closed by the scheduler",
    "reviews.autosave": "the scoring form posted by static/js/review_draft.js: the same fields as reviews.assignment, "
                        "fuzzed there; tests/reviews/test_desk.py covers its refusals",
    "reviews.confirm_submission": "a complete, checked review draft (the demo's drafts are incomplete); only a "
                                  "button, tested in tests/reviews/test_scoring.py",
}

ID_BEYOND_THE_COLUMN = str(MAX_RECORD_ID + 1)
HOSTILE = {
    "text": ["", "x" * 100_000, "a\x00b\u202eevil", "<script>alert(1)</script>' OR 1=1; --",
             '=HYPERLINK("http://evil.example","x")'],
    "number": [" ", "99999999999999999999", "-1", "1e309", "NaN", "-Infinity", "12,345"],
    "date": ["", "0001-01-01", "9999-12-31T23:59", "2026-02-30", "99999-01-01"],
    "choice": ["", ID_BEYOND_THE_COLUMN, "-1", "99999999999999999999", "a\x00b", "1"],
}
GENERATED = {
    "text": st.text(max_size=30),
    "number": st.one_of(st.integers().map(str), st.decimals().map(str), st.floats().map(str)),
    "date": st.one_of(st.dates().map(str), st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M"))),
    "choice": st.integers().map(str),
}
# Upload fields are fuzzed with malformed files by the attachment tests; the CSRF token is off in tests.
SKIPPED_INPUTS = {"file", "submit", "button", "image", "reset"}
# Pages of one GET rule read per identity: enough to meet each kind of form (for a dossier's pages: the
# demo's paid grants, then one dossier of each state and outcome; see url_arguments).
PAGES_PER_RULE = 14
INT_ARGUMENT = re.compile(r"^(?P<stem>.+)_id$")


@dataclass
class Target:
    """A form to fuzz: where it posts, as whom, and the fields the page filled."""

    endpoint: str
    identity: str
    url: str
    fields: list[tuple[str, str]]
    kinds: dict[str, str] = field(default_factory=dict)
    int_arguments: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def demo_identities(app):
    seed_demo()
    admin, no_role = AdminFactory(), UserFactory()
    member = db.session.scalars(sa.select(User).join(Membership).order_by(Membership.id)).first()
    manager = db.session.scalar(sa.select(User).where(User.email == MANAGER_EMAIL))
    reviewer = db.session.scalar(sa.select(User).where(User.email == REVIEWER_1))
    # What the demo data set holds none of, so that every form shows on some page.
    create_token(manager, name="Outil de suivi", actor=manager)
    invite_member(member.memberships[0].organisation, member, "nouvelle.recrue@example.org")
    ConflictOfInterestFactory(reviewer_id=reviewer.id, applicant_id=db.session.scalar(sa.select(sa.func.max(Applicant.id))))
    for user, status in ((member, NotificationStatus.SENT), (manager, NotificationStatus.FAILED)):
        db.session.add(Notification(event="fuzz", recipient_email=user.email, recipient_id=user.id, subject="Objet",
                                    body_text="Texte", status=status,
                                    sent_at=utcnow() if status == NotificationStatus.SENT else None))
    db.session.commit()
    individual = db.session.scalars(
        sa.select(User).join(Applicant, Applicant.person_id == User.id).where(Applicant.kind == ApplicantKind.INDIVIDUAL)
    ).first()
    users = {
        "manager": (manager, DEMO_PASSWORD),
        "reviewer": (reviewer, DEMO_PASSWORD),
        "member": (member, DEMO_PASSWORD),
        "individual": (individual, DEMO_PASSWORD),
        "admin": (admin, None),
        "no_role": (no_role, None),
    }
    sessions = {"anonymous": {}}
    for identity, (user, password) in users.items():
        client = app.test_client()
        response = login(client, user, password) if password else login(client, user)
        assert response.status_code == 302, identity
        with client.session_transaction() as session:
            sessions[identity] = dict(session)
    return sessions


def model_for(stem: str):
    """The mapped class an ``<int:stem_id>`` names: Call for call_id, ReviewAssignment for assignment_id."""
    classes = [mapper.class_ for mapper in db.Model.registry.mappers]
    named = [c for c in classes if c.__name__.lower() == stem.replace("_", "")]
    named = named or [c for c in classes if c.__name__.lower().startswith(stem) or c.__name__.lower().endswith(stem)]
    return min(named, key=lambda c: len(c.__name__)) if named else None


def url_arguments(app, rule) -> list[dict]:
    """Values for the rule's arguments taken from real rows; related ids from the same row."""
    if not rule.arguments:
        return [{}]
    from grants.accounts.services import make_reset_token
    from grants.calls.models import Call, Criterion
    from grants.calls.services import criteria_locked
    from grants.organisations.services import invitation_token

    arguments = sorted(rule.arguments)
    if arguments == ["slug"]:
        return [{"slug": slug} for slug in db.session.scalars(sa.select(Call.slug).order_by(Call.id))]
    if arguments == ["token"]:
        if rule.endpoint == "accounts.reset_password":
            return [{"token": make_reset_token(user)} for user in db.session.scalars(sa.select(User).limit(1))]
        return [{"token": invitation_token(i)} for i in db.session.scalars(sa.select(Invitation).limit(1))]
    # The most specific argument (the last one in the path) picks the row; the others come from it.
    last = list(rule._converters)[-1]
    stem = INT_ARGUMENT.match(last)
    model = model_for(stem["stem"]) if stem else None
    if model is None:  # a year, a file name: pages without forms
        return []
    rows = db.session.scalars(sa.select(model).order_by(model.id)).all()
    if model is Criterion:  # the editable grids first: only their pages hold the criterion's form
        rows.sort(key=lambda criterion: criteria_locked(criterion.call))
    if model is Application:
        # The grants already paid first (only their pages hold the payment forms), then one dossier of
        # each state and outcome (each state's page holds its own forms: the decision forms of one under
        # review), then the rest: the pages read per rule are limited.
        outcomes = dict(db.session.execute(sa.select(Decision.application_id, Decision.outcome)).all())
        paid = set(db.session.scalars(sa.select(Decision.application_id).where(Decision.paid > 0)))
        kinds_seen: set = set()
        first_of_kind = set()
        for application in rows:
            kind = (application.state, outcomes.get(application.id))
            if application.id not in paid and kind not in kinds_seen:
                kinds_seen.add(kind)
                first_of_kind.add(application.id)
        rows.sort(key=lambda application: (application.id not in paid, application.id not in first_of_kind))
    values = []
    for row in rows:
        value = {last: row.id}
        for argument in arguments:
            if argument != last:
                value[argument] = getattr(row, argument, None)
        if None not in value.values():
            values.append(value)
    return values


def kind_of(element) -> str | None:
    tag, kind = element.tag, (element.get("type") or "text").lower()
    if tag == "textarea":
        return "text"
    if tag == "select" or kind in ("checkbox", "radio", "hidden"):
        return "choice"
    if kind in SKIPPED_INPUTS:
        return None
    if kind in ("date", "datetime-local"):
        return "date"
    if kind == "number" or element.get("inputmode") in ("decimal", "numeric"):
        return "number"
    return "text"


def read_form(form) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """What a browser would send for the form as the page filled it, and each field's kind."""
    fields, kinds, pressed = [], {}, False
    for element in form.iter():
        name = element.get("name")
        if element.tag not in ("input", "select", "textarea", "button") or not name or name == "csrf_token":
            continue
        kind = (element.get("type") or ("submit" if element.tag == "button" else "text")).lower()
        if kind == "submit":  # the first named button, as if the user pressed it
            if not pressed:
                fields.append((name, element.get("value") or ""))
                pressed = True
            continue
        if kind_of(element) is None:
            continue
        kinds.setdefault(name, kind_of(element))
        if element.tag == "select":
            options = list(element.iter("option"))
            chosen = [o for o in options if o.get("selected") is not None] or options[:1]
            fields += [(name, o.get("value", o.text or "")) for o in chosen]
        elif element.tag == "textarea":
            fields.append((name, element.text or ""))
        elif kind in ("checkbox", "radio"):
            if element.get("checked") is not None:
                fields.append((name, element.get("value", "on")))
        else:
            fields.append((name, element.get("value") or ""))
    return fields, kinds


def discover_targets(app, client, sessions) -> dict[tuple[str, str], Target]:
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    adapter = app.url_map.bind("localhost")
    targets: dict[tuple[str, str], Target] = {}
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"
             and not r.endpoint.startswith("v1.")]
    arguments = {rule.endpoint: url_arguments(app, rule) for rule in rules}
    for identity, session_values in sessions.items():
        for rule in rules:
            if identity not in SATISFIED_BY[app.view_functions[rule.endpoint].access_rule]:
                continue
            pages = 0
            for values in arguments[rule.endpoint]:
                if pages >= PAGES_PER_RULE:
                    break
                with app.test_request_context():
                    url = adapter.build(rule.endpoint, values)
                sign_in(client, session_values)
                response = client.get(url)
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                pages += 1
                document = parser.parse(response.get_data(as_text=True))
                for form in document.iter("form"):
                    if (form.get("method") or "get").lower() != "post":
                        continue
                    action = urlsplit(form.get("action") or url)
                    try:
                        endpoint, url_values = adapter.match(action.path, method="POST")
                    except HTTPException:
                        continue
                    if (endpoint, identity) in targets:
                        continue
                    fields, kinds = read_form(form)
                    ints = {k: v for k, v in url_values.items() if isinstance(v, int)}
                    target_url = action.path + (f"?{action.query}" if action.query else "")
                    targets[endpoint, identity] = Target(endpoint, identity, target_url, fields, kinds, ints)
    return targets


def row_counts() -> tuple:
    """Every table's row count in one statement; the audit log without the refusals a 403 records."""
    counts = [sa.select(sa.func.count()).select_from(table).scalar_subquery()
              for table in db.metadata.sorted_tables if table.name != AuditEvent.__tablename__]
    counts.append(sa.select(sa.func.count()).select_from(AuditEvent)
                  .where(AuditEvent.action != "access.refused").scalar_subquery())
    result = tuple(db.session.execute(sa.select(*counts)).one())
    db.session.rollback()
    return result


def error_is_said(body: str) -> bool:
    return any(marker in body for marker in ('class="error', "error-summary", 'class="flash', 'role="alert"', "notice-error"))


class Fuzzer:
    def __init__(self, client, sessions):
        self.client, self.sessions = client, sessions
        self.problems: list[str] = []
        self.sent = 0
        self.statuses: dict[int, int] = defaultdict(int)

    def send(self, target: Target, data: MultiDict, url: str | None = None, *, what: str) -> int:
        sign_in(self.client, self.sessions[target.identity])
        before = row_counts()
        response = self.client.post(url or target.url, data=data)
        self.sent += 1
        self.statuses[response.status_code] += 1
        status = response.status_code
        where = f"POST {url or target.url} as {target.identity}, {what}"
        if status >= 500:
            self.problems.append(f"{where}: {status}")
        elif status >= 400:
            if row_counts() != before:
                self.problems.append(f"{where}: {status} but rows were written")
            # A 405 is the router's answer to a URL no rule takes for this method: no page of ours.
            if status != 405 and response.mimetype == "text/html" and not error_is_said(response.get_data(as_text=True)):
                self.problems.append(f"{where}: {status} without a message")
        return status

    def with_value(self, target: Target, name: str, value: str) -> MultiDict:
        data = MultiDict([(k, v) for k, v in target.fields if k != name])
        data.add(name, value)
        return data

    def fuzz_fields(self, target: Target, *, every_value: bool) -> None:
        self.send(target, MultiDict(target.fields), what="as filled by the page")
        for name, kind in self.fields_to_fuzz(target).items():
            for value in HOSTILE[kind] if every_value else HOSTILE[kind][1:3]:
                self.send(target, self.with_value(target, name, value), what=f"{name}={value[:40]!r}")

    def fuzz_url_ids(self, target: Target) -> None:
        for argument, value in target.int_arguments.items():
            own = re.compile(rf"/{value}(?=/|$)")
            # The first row of the table: another owner's, another call's, or the same (any answer below 500).
            foreign = own.sub("/1", target.url, count=1)
            self.send(target, MultiDict(target.fields), foreign, what=f"{argument} of a foreign row")
            url = own.sub(f"/{ID_BEYOND_THE_COLUMN}", target.url, count=1)
            status = self.send(target, MultiDict(target.fields), url, what=f"{argument} beyond the id column")
            if status not in (404, 405):
                self.problems.append(f"POST {url} as {target.identity}: {status}, expected 404")

    @staticmethod
    def fields_to_fuzz(target: Target) -> dict[str, str]:
        """One field per name pattern: the first row of a list stands for the others (expenses-0-amount)."""
        chosen, patterns = {}, set()
        for name, kind in target.kinds.items():
            pattern = re.sub(r"\d+", "#", name)
            if pattern not in patterns:
                patterns.add(pattern)
                chosen[name] = kind
        return chosen


def by_cost(target: Target) -> tuple:
    # Forms without fields (delete, publish, archive buttons) last: their success changes what the
    # other forms find.
    return (not target.kinds, target.endpoint, target.identity)


def test_every_form_survives_hostile_values(app, client, demo_identities):
    targets = discover_targets(app, client, demo_identities)
    write_rules = {r.endpoint for r in app.url_map.iter_rules() if r.methods & WRITE_METHODS}
    covered = {endpoint for endpoint, _identity in targets}
    missing = sorted(write_rules - covered - set(WITHOUT_A_FORM))
    assert missing == [], f"POST routes that no page shows as a form: {missing}"
    assert set(WITHOUT_A_FORM) <= write_rules, "WITHOUT_A_FORM names a route that does not exist"

    fuzzer = Fuzzer(client, demo_identities)
    ordered = sorted(targets.values(), key=by_cost)
    fuzzed = set()
    for target in ordered:
        # Every hostile value as the first identity that may post the form; two per field as the others
        # (the same form as another role: what differs is who may, and that is checked above).
        fuzzer.fuzz_fields(target, every_value=target.endpoint not in fuzzed)
        fuzzer.fuzz_url_ids(target)
        fuzzed.add(target.endpoint)

    with_fields = [t for t in ordered if t.kinds]

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=st.data())
    def generated_values(data):
        target = data.draw(st.sampled_from(with_fields))
        name, kind = data.draw(st.sampled_from(sorted(Fuzzer.fields_to_fuzz(target).items())))
        value = data.draw(GENERATED[kind])
        fuzzer.send(target, fuzzer.with_value(target, name, value), what=f"{name}={value[:40]!r} (generated)")

    generated_values()
    identities = {t.identity for t in ordered}
    print(f"\nfuzzed {len(covered)} routes as {len(identities)} identities ({len(ordered)} route × identity pairs), "
          f"{fuzzer.sent} submissions; answers: {dict(sorted(fuzzer.statuses.items()))}")
    assert fuzzer.problems == [], "\n".join(fuzzer.problems)
