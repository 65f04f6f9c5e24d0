"""Instruction: eligibility screening, reviewer assignment with conflicts of interest, the reviewer's desk
and scoring, aggregation and the ranking of a call."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reviews", __name__)
