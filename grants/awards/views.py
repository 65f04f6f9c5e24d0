"""Decisions and the envelope ledger: awards, committee sessions, payments, the envelope dashboard and
exports."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("awards", __name__)
