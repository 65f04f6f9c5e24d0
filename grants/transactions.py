"""One user action, one transaction: views call services (which flush) and commit once.

In tests, :func:`fail_on_uncommitted_request` turns a request that flushed changes and then left
without committing them into an error, so a forgotten commit cannot pass unnoticed.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from grants.database import db

_PENDING_WRITES = "subventia.pending_writes"


@event.listens_for(Session, "after_flush")
def _mark_writes(session, flush_context):
    session.info[_PENDING_WRITES] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _clear_writes(session):
    # A savepoint released or rolled back fires these too; the outer transaction still holds (or
    # still owes a commit for) the request's other writes.
    if session.in_nested_transaction():
        return
    session.info.pop(_PENDING_WRITES, None)


class UncommittedRequestError(RuntimeError):
    pass


def fail_on_uncommitted_request(app: Flask) -> None:
    @app.after_request
    def check_committed(response):
        session = db.session()
        if session.new or session.dirty or session.deleted or session.info.get(_PENDING_WRITES):
            raise UncommittedRequestError("this request changed data without committing it")
        return response
