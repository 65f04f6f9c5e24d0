"""The application's routes and the rule each one declares, read from ``app.url_map``.

Shared by the behavioural walk (tests/test_route_access.py: each route refuses exactly whom its rule
says) and the pinned table (tests/test_access_table.py: each rule is the one the table says).
"""

from __future__ import annotations

from dataclasses import dataclass

from grants.access import Access


@dataclass(frozen=True)
class Token:
    """An endpoint of the JSON API: a bearer token whose holder satisfies ``role`` (never a session)."""

    role: Access

    def __str__(self) -> str:
        return f"Token(Access.{self.role.name})"


def application_routes(app) -> list:
    """Every rule of the URL map but the static files, in a stable order."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    return sorted(rules, key=lambda rule: (rule.endpoint, rule.rule))


def declared_rule(app, endpoint: str) -> Access | Token | None:
    """What the view of ``endpoint`` declares: its ``@allow`` rule, the role its API token needs, or
    None when it declares nothing."""
    view = app.view_functions[endpoint]
    rule = getattr(view, "access_rule", None)
    if not isinstance(rule, Access):
        return None
    if rule == Access.API_TOKEN:
        return Token(view.api_role)
    return rule
