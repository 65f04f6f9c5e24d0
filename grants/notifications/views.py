"""Notifications in the interface: each user's list (the bell), preferences, and the managers' delivery
monitor."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__)
