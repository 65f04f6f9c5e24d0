"""Every form, in Chromium, for every role that may use it, sent with valid data.

The pages come from ``app.url_map`` (tests/e2e/walk.py): every GET page a role may open, with the
demo's objects in its URL, once per situation of those objects (a draft, a decided dossier, …). Each
POST form found on them, and each of its submit buttons, is one case: the seeded data are restored
(tests/e2e/conftest.py, ``demo_stack``), the person opens the page, fills every empty field with a
valid value for its name or type, keeps what the page filled in, and sends it as a person would (a
click; the browser's own validation applies). The case passes when the answer is a redirect or a
success message, with no error summary, no field in error, no error message and no 4xx/5xx; the page
holding the form, and the one after it, are checked with axe. A new form is walked without any edit
here; one that cannot pass is listed in ``EXCLUDED`` with the reason.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError
from werkzeug.exceptions import HTTPException

from grants.database import db
from grants.demo.seed import DEMO_PASSWORD
from grants.organisations.models import Organisation
from tests.e2e.conftest import Browsing
from tests.e2e.walk import (
    FORM_VALUES,
    ROLES,
    Browsers,
    FormButton,
    Visit,
    default_accounts,
    field_key,
    post_forms,
    value_for,
    visits,
)

pytestmark = pytest.mark.e2e

# Forms that no valid data can send from the seeded state, or whose sending is no success to check, by
# (endpoint of the form's action, visible text of its button), with the reason. Empty: every form the walk finds must succeed.
EXCLUDED: dict[tuple[str, str], str] = {
    ("awards.confirm_committee", "Recalculer"): "a preview: it answers the committee page again with the "
    "envelope recalculated and saves nothing; «Confirmer toutes les décisions», the same form's sending, is walked",
    ("applications.submit", "Déposer le dossier"): "the demo holds no dossier ready to deposit: its drafts are "
    "incomplete and its dossier awaiting corrections lacks the pieces the manager asked for (and, a gap of the "
    "demo data, the project details and documents its submission had); depositing is walked, keyboard only, by "
    "tests/e2e/test_journeys.py",
}

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def minimal_png() -> bytes:
    """A 1×1 white PNG (a scanned RIB, as far as the upload can tell)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
            + chunk(b"IEND", b""))


@dataclass(frozen=True)
class Case:
    visit: Visit
    form: FormButton

    def __str__(self) -> str:
        where = f" ({self.visit.situation})" if self.visit.situation else ""
        return (f"{self.visit.endpoint}{where} as {self.visit.role} <{self.visit.email or 'signed out'}>: "
                f"«{self.form.button}» → {self.form.action_endpoint} [GET {self.visit.path}]")


# A select's "— Choisissez … —" line.
PLACEHOLDERS = ("", "0")

# The controls of the form being sent, numbered (data-walk) for the fill that follows.
DESCRIBE_CONTROLS = """form => [...form.elements]
  .filter(el => !el.disabled && !["BUTTON", "FIELDSET", "OUTPUT", "OBJECT"].includes(el.tagName)
                && !["hidden", "submit", "button", "reset", "image"].includes(el.type))
  .map((el, index) => {
    el.dataset.walk = String(index);
    return {index, tag: el.tagName.toLowerCase(), type: el.type, name: el.name, required: el.required,
            readonly: el.readOnly, value: el.value, attribute: el.getAttribute("value"), checked: !!el.checked,
            accept: el.accept || "",
            options: el.tagName === "SELECT" ? [...el.options].filter(o => !o.disabled).map(o => o.value) : []};
  })"""

# The form and button of a case, marked (data-walk-form, data-walk-button); false when absent.
MARK_FORM = """([action, label]) => {
  const text = b => (b.textContent.replace(/\\s+/g, " ").trim() || b.value || b.getAttribute("aria-label") || "");
  for (const form of document.querySelectorAll("form")) {
    if ((form.getAttribute("method") || "").toLowerCase() !== "post" || new URL(form.getAttribute("action") || location.href, location.href).pathname !== action) continue;
    const button = [...form.elements].find(b => ((b.tagName === "BUTTON" && b.type === "submit")
        || (b.tagName === "INPUT" && ["submit", "image"].includes(b.type))) && text(b) === label);
    if (button) { form.dataset.walkForm = "1"; button.dataset.walkButton = "1"; return true; }
  }
  return false;
}"""

# Why the browser would not send the form (its own validation), or [] when it would.
BROWSER_REFUSALS = """() => {
  const form = document.querySelector("[data-walk-form]");
  const button = document.querySelector("[data-walk-button]");
  if (form.noValidate || button.formNoValidate || form.checkValidity()) return [];
  return [...form.elements].filter(el => el.willValidate && !el.checkValidity())
    .map(el => `${el.name || el.id}: ${el.validationMessage}`);
}"""

# What the page after the answer says went wrong, if anything.
PAGE_ERRORS = """() => {
  const text = el => el.textContent.replace(/\\s+/g, " ").trim();
  return {
    summary: [...document.querySelectorAll(".error-summary")].map(text),
    invalid: [...document.querySelectorAll("[aria-invalid=true]")].map(el => el.name || el.id),
    messages: [...document.querySelectorAll(".flash-error, .flash-warning, .flash-danger")].map(text),
    success: [...document.querySelectorAll(".flash-success, .flash-info")].map(text),
    title: document.title,
  };
}"""


class FormWalk:
    """Finding the forms, and sending each from a fresh state."""

    def __init__(self, stack, browser, axe, log, test_name, tmp_path):
        self.stack, self.browser, self.axe, self.log = stack, browser, axe, log
        self.test_name, self.tmp_path = test_name, tmp_path
        self.browsers = Browsers(browser, stack.base_url)
        self.checked: set[str] = set()  # the endpoints of the pages axe has already checked
        (tmp_path / "rib.png").write_bytes(minimal_png())
        (tmp_path / "statuts.pdf").write_bytes(MINIMAL_PDF)
        self.adapter = stack.app.url_map.bind("localhost")

    def endpoint_of(self, url: str) -> str:
        try:
            return self.adapter.match(re.sub(r"^https?://[^/]+", "", url).split("?")[0], method="GET")[0]
        except HTTPException:
            return url

    # -- finding the forms ------------------------------------------------------------------------

    def discover(self) -> tuple[list[Case], list[str]]:
        """One case per form and button of each page as each role sees it (the site's header forms
        once per role); and the visits that went wrong."""
        app = self.stack.app
        self.stack.restore()  # the demo as seeded, whatever the tests before this one did to it
        with self.stack.database():
            accounts = default_accounts()
            walk = [visit for role in ROLES for visit in visits(app, role, accounts, self.stack.secrets)]
        print(f"\n{len(walk)} page visits", flush=True)
        cases: dict[tuple, Case] = {}
        problems = []
        by_account: dict[str | None, list[Visit]] = {}
        for visit in walk:
            by_account.setdefault(visit.email, []).append(visit)
        for email, their_visits in by_account.items():
            context = self.browsers.context(email)
            for visit in their_visits:
                response = context.request.get(visit.path, max_redirects=0)
                if response.status >= 500:
                    problems.append(f"GET {visit.path} as {visit.role} ({visit.situation}): {response.status}")
                if response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
                    continue
                try:
                    forms = post_forms(response.text(), visit.path, app)
                except HTTPException as error:
                    problems.append(f"{visit.path} as {visit.role}: a form posts where no route takes a POST ({error})")
                    continue
                for form in forms:
                    page = visit.endpoint if form.in_main else "(every page)"
                    cases.setdefault((page, visit.role, form.action_endpoint, form.visible), Case(visit, form))
            context.close()
        return list(cases.values()), problems

    # -- sending one -------------------------------------------------------------------------------

    def send(self, case: Case) -> list[str]:
        """What went wrong sending ``case`` from a fresh state ([] when it succeeded)."""
        self.stack.restore()
        # The restore empties login_sessions too (sessions end on the server): sign in afresh.
        self.browsers.states.clear()
        context = self.browsers.context(case.visit.email)
        browsing = Browsing(case.visit.role, context, self.axe, self.log, self.test_name)
        page = browsing.page
        page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before an irreversible step
        try:
            return self.fill_and_send(case, browsing)
        except AssertionError as failure:  # axe or the console, on the form's page or the next one
            return [str(failure)]
        except PlaywrightError as failure:  # a field that cannot be filled, an answer that never came
            return [f"in the browser: {str(failure).splitlines()[0]}"]
        finally:
            context.close()

    def check_once(self, browsing) -> None:
        """axe on the page, the first time the walk meets a page of its kind (its endpoint)."""
        key = self.endpoint_of(browsing.page.url)
        if key not in self.checked:
            self.checked.add(key)
            browsing.check()

    def fill_and_send(self, case: Case, browsing) -> list[str]:
        page = browsing.page
        response = page.goto(case.visit.path)
        if response is None or not response.ok:
            return [f"the page answers {response and response.status}"]
        self.check_once(browsing)
        form_title = page.title()
        if not page.evaluate(MARK_FORM, [case.form.action, case.form.button]):
            return ["the form is not on the page any more"]
        problems = self.fill(page, case)
        refusals = page.evaluate(BROWSER_REFUSALS)
        if refusals:
            return problems + ["the browser refuses to send the form: " + "; ".join(refusals)]
        documents = []
        page.on("response", lambda r: documents.append((r.request.method, r.status, r.url))
                if r.request.resource_type == "document" else None)
        with page.expect_navigation(wait_until="load"):
            page.locator("[data-walk-button]").click()
        posted = [status for method, status, _ in documents if method == "POST"]
        final = documents[-1][1] if documents else None
        outcome = page.evaluate(PAGE_ERRORS)
        if not posted or posted[0] >= 400 or (final or 500) >= 400:
            problems.append(f"answered {posted[:1]} then {final} «{outcome['title']}»")
        for name in ("summary", "invalid", "messages"):
            if outcome[name]:
                problems.append(f"{name}: {' | '.join(outcome[name])[:600]}")
        if posted and posted[0] == 200 and not outcome["success"] and outcome["title"] == form_title:
            problems.append(f"answered the same page again, with neither a redirect nor a success message "
                            f"«{outcome['title']}»")
        if not problems:
            self.check_once(browsing)
        errors, browsing.console_errors = browsing.console_errors, []
        return problems + [f"console: {error}" for error in errors]

    def fill(self, page, case: Case) -> list[str]:
        """Every empty field filled with a valid value; the page's own values kept (and the case
        fails where the browser dropped one, as a number field drops «50,00»)."""
        form = page.locator("[data-walk-form]")
        controls = form.evaluate(DESCRIBE_CONTROLS)
        overrides = self.overrides(case)
        replaced = FORM_VALUES.get(case.form.action_endpoint, {})
        problems = []
        groups: dict[tuple[str, str], list[dict]] = {}
        for control in controls:
            locator = page.locator(f'[data-walk="{control["index"]}"]')
            kind = control["type"] if control["tag"] == "input" else control["tag"]
            if kind in ("checkbox", "radio"):
                groups.setdefault((kind, control["name"]), []).append(control)
            elif kind == "file":
                image = any(word in control["accept"] for word in ("image", "png", "jpg", "jpeg"))
                # An image where the page says it takes one (a scanned RIB), else a PDF.
                locator.set_input_files(self.tmp_path / ("rib.png" if image else "statuts.pdf"))
            elif control["tag"] == "select" or kind.startswith("select"):
                choices = [option for option in control["options"] if option not in PLACEHOLDERS]
                if control["value"] in PLACEHOLDERS and choices:
                    locator.select_option(choices[0])
            elif not control["readonly"]:
                if control["attribute"] and not control["value"] and kind != "password":
                    problems.append(f"the browser drops the page's value «{control['attribute']}» of "
                                    f"{control['name']} (an <input type={kind}>)")
                if field_key(control["name"]) in replaced:
                    locator.fill("")
                    self.type_into(locator, replaced[field_key(control["name"])])
                elif not control["value"].strip():
                    self.type_into(locator, value_for(control["name"], kind, overrides))
        for (kind, _), members in groups.items():
            if any(member["checked"] for member in members):
                continue
            if kind == "radio":
                chosen = members[:1]
            elif members[0]["attribute"] == "y":  # a yes/no box (WTForms' BooleanField): ticked if it must be
                chosen = [member for member in members if member["required"]]
            else:  # a list of choices: some of them (two of three or more), as a person choosing would
                chosen = members[: max(1, min(2, len(members) - 1))]
            for member in chosen:
                page.locator(f'[data-walk="{member["index"]}"]').check()
        return problems

    @staticmethod
    def type_into(locator, value: str) -> None:
        """``fill``; where Chromium refuses it (an <input type=number> given «80,5»), the keys a person
        would press, which the field keeps or drops as it does for them."""
        try:
            locator.fill(value)
        except PlaywrightError:
            locator.press_sequentially(value)

    def overrides(self, case: Case) -> dict:
        """Values that depend on the seeded data: an existing account to sign in, an organisation's SIRET, the
        co-funders' shares that already make 100 %."""
        if case.form.action_endpoint == "accounts.login":
            with self.stack.database():
                return {"email": default_accounts()["member"], "password": DEMO_PASSWORD}
        if case.form.action_endpoint == "calls.record_direct_grant":
            # A direct grant names its beneficiary by the SIRET of an organisation on the platform.
            with self.stack.database():
                return {"beneficiary_siret": db.session.scalar(sa.select(Organisation.siret).order_by(Organisation.id))}
        if case.form.action_endpoint == "calls.funders":
            # The seeded co-funders' shares already make 100 %: the empty rows stay empty.
            return {"name": "", "share_percent": ""}
        return {}


def test_every_form_is_sent_with_valid_data_by_every_role(demo_stack, playwright_browser, axe_source,
                                                          accessibility_log, request, tmp_path):
    walk = FormWalk(demo_stack, playwright_browser, axe_source, accessibility_log, request.node.name, tmp_path)
    started = time.monotonic()
    cases, problems = walk.discover()
    discovered = time.monotonic()
    print(f"\n{len(cases)} forms found in {discovered - started:.0f} s", flush=True)
    assert len(cases) >= 40, f"the walk found only {len(cases)} forms: {[str(c) for c in cases]}"
    failures = []
    stale = set(EXCLUDED) - {(case.form.action_endpoint, case.form.visible) for case in cases}
    assert not stale, f"excluded forms that no page holds any more (remove them from EXCLUDED): {stale}"
    for case in cases:
        if (case.form.action_endpoint, case.form.visible) in EXCLUDED:
            continue
        failed = walk.send(case)
        if failed:
            failures.append(f"{case}\n      " + "\n      ".join(failed))
    print(f"sent in {time.monotonic() - discovered:.0f} s")
    for case in cases:
        print(f"  {case}")
    report = "\n".join(problems + failures)
    assert not problems and not failures, f"{len(failures)} of {len(cases)} forms fail in Chromium:\n{report}"
