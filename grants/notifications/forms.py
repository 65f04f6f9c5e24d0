"""Forms of the notifications area: a user's preferences."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField


class PreferencesForm(FlaskForm):
    wants_digest = BooleanField(_l("Recevoir le point quotidien des appels (chaque matin)"))
    wants_call_news = BooleanField(_l("Être prévenu(e) quand un appel d'un programme que je suis ouvre"))
