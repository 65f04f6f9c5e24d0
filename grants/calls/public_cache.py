"""The public pages of calls leave the page cache (grants/page_cache.py) when what they show changes.

No service has to remember it: any flush that adds, deletes or changes a row these pages read (a call,
its programme, envelopes, co-funders, criteria, documents to provide), by the ORM or by an UPDATE or
DELETE statement on those models, marks the session; its commit then bumps the ``calls`` version, on
every web node at once. After the commit, not before: a page rendered in between would keep the old
rows under the new version. A rollback forgets the mark.

Only the envelopes' ``committed`` and ``paid`` (moved by every award and payment) are not shown there.
"""

from __future__ import annotations

from itertools import chain

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from grants import page_cache
from grants.calls.models import (
    Call,
    CallEnvelope,
    CallFunder,
    Criterion,
    Programme,
    RequiredDocument,
)

SCOPE = "calls"
SHOWN = (Call, Programme, CallEnvelope, CallFunder, Criterion, RequiredDocument)
NOT_SHOWN = {CallEnvelope: {"committed", "paid"}}
_CHANGED = "subventia.public_calls_changed"


def _shown_change(instance) -> bool:
    hidden = NOT_SHOWN.get(type(instance), set())
    state = inspect(instance)
    return any(attribute.history.has_changes() for attribute in state.attrs if attribute.key not in hidden)


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session, flush_context):
    # In after_flush, new/dirty/deleted and the attributes' history are still those of the flush.
    if session.info.get(_CHANGED):
        return
    if any(isinstance(instance, SHOWN) for instance in chain(session.new, session.deleted)) or any(
        isinstance(instance, SHOWN) and _shown_change(instance) for instance in session.dirty
    ):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statements(orm_execute_state):
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    mapper = orm_execute_state.bind_mapper
    model = mapper.class_ if mapper is not None else None
    if model not in SHOWN:
        return
    if orm_execute_state.is_update and model in NOT_SHOWN:
        # The columns an UPDATE sets; unknown (a form SQLAlchemy may add later) counts as shown.
        columns = {getattr(column, "key", column) for column in getattr(orm_execute_state.statement, "_values", None) or ()}
        if columns and columns <= NOT_SHOWN[model]:
            return
    orm_execute_state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _drop_public_pages(session):
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction still has to commit
    if session.info.pop(_CHANGED, None):
        page_cache.bump(SCOPE)


@event.listens_for(Session, "after_rollback")
def _forget_changes(session):
    if not session.in_nested_transaction():
        session.info.pop(_CHANGED, None)
