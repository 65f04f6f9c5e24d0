"""The association's journey on a phone (390×844) and on a desktop (1280×900): every page an
association's member, or a visitor before signing up, can open — from ``app.url_map``, with the demo's
dossiers in every situation (tests/e2e/walk.py) — fits the screen's width (no sideways scrolling,
WCAG 1.4.10) and axe finds no violation at all on it (WCAG 2.1 A and AA, and axe's best practices).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import AXE_TAGS, describe_violations
from tests.e2e.walk import Browsers, default_accounts, visits

pytestmark = pytest.mark.e2e

JOURNEY_ROLES = ("anonymous", "member")
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}

# How wide the page is against the window, and the widest elements that stick out of it.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const insideScroller = el => {  // a wide table in its own scrolling box widens nothing around it
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 1 && getComputedStyle(el).position !== "fixed");
  const outside = wide.filter(el => !insideScroller(el));
  const culprits = (outside.length ? outside : wide)
    .filter(el => ![...el.children].some(child => child.getBoundingClientRect().right > width + 1))
    .slice(0, 5)
    .map(el => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className && typeof el.className === "string"
      ? "." + el.className.trim().split(/\\s+/).join(".") : ""} (right edge at ${Math.round(el.getBoundingClientRect().right)} px)`);
  return {scroll: document.documentElement.scrollWidth, width, culprits};
}"""


def run_axe(page, axe: str) -> list[dict]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe)  # through the DevTools protocol: the page's CSP stays in force
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "helpUrl": v["helpUrl"],
             "nodes": [{"target": n["target"], "failureSummary": n.get("failureSummary", "")} for n in v["nodes"]]}
            for v in results["violations"]]


@pytest.mark.parametrize("screen", sorted(VIEWPORTS))
def test_the_association_journey_fits_the_screen_and_passes_axe(screen, demo_stack, playwright_browser, axe_source,
                                                               accessibility_log, request):
    demo_stack.restore()  # the demo as seeded, whatever the tests before this one did to it
    people = Browsers(playwright_browser, demo_stack.base_url)
    with demo_stack.database():
        accounts = default_accounts()
        journey = [visit for role in JOURNEY_ROLES
                   for visit in visits(demo_stack.app, role, accounts, demo_stack.secrets)]
    failures, seen = [], 0
    by_account: dict = {}
    for visit in journey:
        by_account.setdefault(visit.email, []).append(visit)
    for email, their_visits in by_account.items():
        context = people.context(email, viewport=VIEWPORTS[screen])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error, errors=errors: errors.append(f"script error: {error}"))
        for visit in their_visits:
            try:
                response = page.goto(visit.path)
            except PlaywrightError as error:
                if "Download is starting" in error.message:
                    continue  # a file sent as an attachment (the convention's PDF): no page to look at
                raise
            if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
                continue  # a file, a redirect (to the sign-in page, to where the dossier is now): no page
            seen += 1
            where = f"{visit.path} ({visit.endpoint}{', ' + visit.situation if visit.situation else ''}) as {visit.role}"
            width = page.evaluate(OVERFLOW)
            if width["scroll"] > width["width"]:
                failures.append(f"{where}: {width['scroll']} px wide in a {width['width']} px window; "
                                f"sticking out: {', '.join(width['culprits'])}")
            violations = run_axe(page, axe_source)
            accessibility_log.pages.append({"test": request.node.name, "actor": visit.role, "url": page.url,
                                            "title": page.title(), "violations": violations})
            if violations:
                failures.append(f"{where}: axe\n{describe_violations(violations)}")
            if errors:
                failures.append(f"{where}: " + "; ".join(errors))
                errors.clear()
        context.close()
    assert seen >= 20, f"the journey walk opened only {seen} pages"
    assert not failures, f"{len(failures)} of {seen} pages fail at {VIEWPORTS[screen]['width']} px:\n" + "\n".join(failures)
