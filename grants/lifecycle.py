"""One guarded transition function per entity: each model lists its allowed moves here."""

from __future__ import annotations

from enum import Enum

from grants.errors import InvalidTransition


def checked_transition(entity: str, allowed: dict[Enum, set[Enum]], current: Enum, target: Enum) -> Enum:
    """Return ``target`` if ``current → target`` is in ``allowed``, else raise InvalidTransition."""
    if target not in allowed.get(current, set()):
        raise InvalidTransition(entity, current.value, target.value)
    return target
