"""Forms are checked on the server, the single source of truth: every form of every template carries
``novalidate`` (the browser's own checks would stop a form before the server can say what is wrong,
in its words, in the error summary), a group of checkboxes is never ``required`` box by box, and no
field is an ``<input type=number>``, which a browser empties when it holds "12,5"."""

from __future__ import annotations

import re
from pathlib import Path

from flask import render_template_string
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange

from grants.calls.forms import MultiCheckboxField

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# A form's opening tag, up to its closing ">", Jinja expressions and quoted values included.
FORM_TAG = re.compile(r"<form\b(?:\{\{.*?\}\}|\{%.*?%\}|\"[^\"]*\"|'[^']*'|[^>])*>", re.S)


def test_every_form_leaves_validation_to_the_server():
    tags = [(path, tag) for path in sorted(TEMPLATES.rglob("*.html")) for tag in FORM_TAG.findall(path.read_text())]
    assert len(tags) > 50  # the walk does see the forms
    missing = [f"{path.relative_to(TEMPLATES)}: {tag[:80]}" for path, tag in tags if not re.search(r"\snovalidate\b", tag)]
    assert missing == []


class SectionsForm(FlaskForm):
    class Meta:
        csrf = False

    sections = MultiCheckboxField("Parties", choices=[SelectChoice(k, k.upper()) for k in "abc"],
                                  validators=[DataRequired(message="Choisissez au moins une partie.")])
    verdict = RadioField("Verdict", choices=[SelectChoice("yes", "Oui"), SelectChoice("no", "Non")], validators=[InputRequired()])


PAGE = """{% from "macros/forms.html" import field, error_summary %}
{{ error_summary(form) }}{{ field(form.sections) }}{{ field(form.verdict) }}"""


def test_a_checkbox_group_is_not_required_box_by_box(app):
    with app.test_request_context():
        html = render_template_string(PAGE, form=SectionsForm(formdata=None))
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', html)
    assert len(boxes) == 3
    assert not any("required" in box for box in boxes)
    # a group of radio buttons does need one of them: the browser's reading of "required" is right there
    assert all("required" in radio for radio in re.findall(r'<input[^>]*type="radio"[^>]*>', html))


def test_the_error_summary_links_a_group_to_its_first_box(app):
    with app.test_request_context(method="POST", data={}):
        form = SectionsForm()
        assert not form.validate()
        html = render_template_string(PAGE, form=form)
    assert 'href="#sections-0"' in html and 'id="sections-0"' in html
    assert 'href="#verdict-0"' in html and 'id="verdict-0"' in html
    assert "data-autofocus" in html  # app.js moves the focus to the summary


class CountForm(FlaskForm):
    class Meta:
        csrf = False

    beneficiaries = IntegerField("Bénéficiaires", validators=[InputRequired(), NumberRange(min=0, max=10**6)])
    share = DecimalField("Part", validators=[InputRequired(), NumberRange(min=0, max=100)])


def test_no_field_is_a_number_input_that_a_browser_would_empty(app):
    """A browser sends "" for "2 400" or "12,5" in an <input type=number>: the typed value is lost."""
    with app.test_request_context():
        html = render_template_string('{% from "macros/forms.html" import field %}'
                                      "{{ field(form.beneficiaries) }}{{ field(form.share) }}",
                                      form=CountForm(data={"beneficiaries": 2400}))
    count = re.search(r'<input[^>]*id="beneficiaries"[^>]*>', html).group(0)
    share = re.search(r'<input[^>]*id="share"[^>]*>', html).group(0)
    assert 'type="text"' in count and 'inputmode="numeric"' in count and 'value="2400"' in count
    assert 'type="text"' in share and 'inputmode="decimal"' in share
    assert not re.search(r"\s(min|max|step)=", count + share)  # number-input attributes, meaningless on text
