"""Applications (dossiers): the applicant's sections, drafts, submission, receipt and withdrawal, and the
managers' requests for corrections."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("applications", __name__)
