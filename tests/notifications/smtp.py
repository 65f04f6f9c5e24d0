"""A real SMTP server on loopback for the tests (aiosmtpd), whose answers the test decides."""

from __future__ import annotations

import asyncio
import socket
import threading

from aiosmtpd.controller import Controller


class ScriptedSMTPHandler:
    """Accepts mail, except: the first ``failures`` messages get ``failure_reply`` (451 by default);
    recipients listed in ``refused`` get a 550; with ``stall`` set, DATA waits until ``release`` is
    set, then answers 421 without keeping the message (the client is gone by then); the messages to
    addresses in ``drop_at`` make the server drop the connection without an answer (once each).
    ``connections`` counts the SMTP sessions (EHLO/HELO)."""

    def __init__(self):
        self.failures = 0
        self.failure_reply = "451 4.3.0 Try again later"
        self.refused: set[str] = set()
        self.messages = []
        self.stall = False
        self.stalled = threading.Event()
        self.release: asyncio.Event | None = None
        self.drop_at: set[str] = set()
        self.connections = 0
        self.on_message = None  # called with the envelope of each message accepted

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self.connections += 1
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stall:
            self.stall = False
            self.release = asyncio.Event()
            self.stalled.set()
            await self.release.wait()
            return "421 4.3.2 Shutting down"
        if self.failures > 0:
            self.failures -= 1
            return self.failure_reply
        dropped = self.drop_at.intersection(envelope.rcpt_tos)
        if dropped:
            self.drop_at -= dropped
            server.transport.close()
            return "421 4.4.2 Connection dropped"
        self.messages.append(envelope)
        if self.on_message is not None:
            self.on_message(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smtp_server(handler) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller
