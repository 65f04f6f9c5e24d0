"""Domain errors raised by services. Views turn them into messages; nothing here knows about HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation. ``message`` is shown to the user as is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The user may not do this to this object (ownership or role)."""


class NotAllowedAndConcealed(NotAllowed):
    """Refused, and answered as if the object did not exist: an outsider learns nothing, not even
    that the id is taken. Audited like any refusal."""


class InvalidTransition(DomainError):
    """A state change that the entity's lifecycle does not allow."""

    def __init__(self, entity: str, current: str, target: str):
        super().__init__(f"{entity}: {current} → {target} is not an allowed change")
        self.entity, self.current, self.target = entity, current, target


class ConstraintViolated(DomainError):
    """The database refused a write; ``constraint`` names the rule (see the naming convention)."""

    def __init__(self, constraint: str | None, message: str):
        super().__init__(message)
        self.constraint = constraint
