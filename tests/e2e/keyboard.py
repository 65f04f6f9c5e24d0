"""Driving a page with the keyboard alone, as a person who cannot use a mouse would: Tab to a control
(by its accessible name), type, press Space or Enter. Each helper says where the focus went."""

from __future__ import annotations

import re

# The focused element as assistive technology would name it: its role, its accessible name (label,
# aria-labelledby, aria-label, text or value, in the order the accessible-name computation mostly
# takes them), and the ids its description points to.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return {tag: "body", role: "", name: "", id: "", describedby: ""}; }
  const text = node => (node ? node.textContent.replace(/\\s+/g, " ").trim() : "");
  let name = "";
  if (el.getAttribute("aria-labelledby")) {
    name = el.getAttribute("aria-labelledby").split(/\\s+/).map(id => text(document.getElementById(id))).join(" ");
  }
  name = name || el.getAttribute("aria-label") || "";
  if (!name && el.labels && el.labels.length) { name = text(el.labels[0]); }
  if (!name && ["A", "BUTTON", "SUMMARY"].includes(el.tagName)) { name = text(el); }
  if (!name && el.tagName === "INPUT" && ["submit", "button"].includes(el.type)) { name = el.value; }
  const implicit = {A: "link", BUTTON: "button", SELECT: "combobox", TEXTAREA: "textbox", SUMMARY: "button"};
  let role = el.getAttribute("role") || implicit[el.tagName] || "";
  if (!role && el.tagName === "INPUT") {
    role = {checkbox: "checkbox", radio: "radio", submit: "button", button: "button", file: "button"}[el.type] || "textbox";
  }
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
  return {tag: el.tagName.toLowerCase(), role, name, id: el.id, type: el.type || "",
          describedby: el.getAttribute("aria-describedby") || "",
          invalid: el.getAttribute("aria-invalid") || "", visible_focus: ring};
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def matches(element: dict, name: str | re.Pattern, role: str | None) -> bool:
    if role and element["role"] != role:
        return False
    if isinstance(name, re.Pattern):
        return bool(name.search(element["name"]))
    return element["name"].strip().rstrip(" *") == name


def tab_to(page, name: str | re.Pattern, role: str | None = None, limit: int = 120, backwards: bool = False) -> dict:
    """Press Tab (Shift+Tab backwards) until the control named ``name`` has the focus.

    Fails with the tab order it went through when the control is not reachable within ``limit``
    presses: a control the keyboard cannot reach is a defect of the page.
    """
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        element = focused(page)
        if matches(element, name, role):
            # WCAG 2.4.7: where the focus is must show.
            assert element["visible_focus"], f"no visible focus on {role or 'control'} «{name}» at {page.url}"
            return element
        seen.append(f"{element['role'] or element['tag']} «{element['name']}»")
    order = "\n  ".join(seen)
    raise AssertionError(f"{role or 'control'} «{name}» not reachable with Tab on {page.url}; tab order:\n  {order}")


def replace_text(page, text: str) -> None:
    """Type ``text`` over the focused field's content."""
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    if text:
        page.keyboard.type(text)


def fill_by_tab(page, name: str | re.Pattern, text: str, **kwargs) -> dict:
    element = tab_to(page, name, **kwargs)
    replace_text(page, text)
    return element


def press_to_navigate(page, key: str = "Enter") -> None:
    """Press ``key`` on the focused link or button and wait for the page it leads to."""
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press(key)
