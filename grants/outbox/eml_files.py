"""The embedded default's mail backend: each message becomes ``<timestamp>-<id>.eml`` in
``MAIL_OUTBOX_DIR`` (``instance/outbox/``), where a newcomer opens it with any mail reader, and the
log says where it went. ``<id>`` is the outbox row's id (the ``X-Subventia-Notification`` header)."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from flask_mailman.backends.base import BaseEmailBackend

log = logging.getLogger("subventia.mail")


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        written = 0
        for message in email_messages:
            identifier = message.extra_headers.get("X-Subventia-Notification") or secrets.token_hex(4)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            path = folder / f"{stamp}-{identifier}.eml"
            path.write_bytes(message.message().as_bytes())
            log.info("email to %s written to %s", ", ".join(message.recipients()), path)
            written += 1
        return written
