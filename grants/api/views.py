"""The JSON API, /api/v1, token-authenticated (Authorization: Bearer …), and the staff's token pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)
