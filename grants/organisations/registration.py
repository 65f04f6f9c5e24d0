"""The sign-up pages: an organisation with its first member, or a person applying in their own name.

They create an organisation or an applicant, so they belong to this area; they are routes of the
``accounts`` blueprint (``/inscription``, endpoints ``accounts.register_organisation`` and
``accounts.register_individual``), where links, templates and bookmarks have always found them.
Importing :mod:`grants.organisations.views` adds them, before the app registers the blueprint.

A sign-up never signs in: the page says to open the link emailed to the address, and answers the same
for an address that already has an account (whose owner is emailed instead), so that it never tells
who is registered (``accounts.confirm_email`` opens the link).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.access import Access, allow
from grants.accounts.limits import registration_per_email, registration_per_ip
from grants.accounts.views import bp as accounts_bp
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import show_error
from grants.organisations import services
from grants.organisations.forms import RegisterIndividualForm, RegisterOrganisationForm


def check_your_email(email: str):
    """The answer to a sign-up, the same whether the address was free (an account waits for its
    confirmation link) or already registered (its owner was emailed): nothing tells them apart."""
    db.session.commit()
    return render_template("accounts/registration_sent.html", email=email)


def already_signed_in():
    flash(_("Vous êtes déjà connecté(e) : déconnectez-vous pour créer un autre compte."), "info")
    return redirect(url_for("home.dashboard"))


@accounts_bp.route("/inscription", methods=["GET", "POST"])
@allow(Access.PUBLIC)
@registration_per_ip
@registration_per_email
def register_organisation():
    if current_user.is_authenticated:
        return already_signed_in()
    form = RegisterOrganisationForm()
    if form.validate_on_submit():
        identity = {
            "name": form.name.data, "legal_form": form.legal_form.data, "siret": form.siret.data,
            "rna": form.rna.data, "street": form.street.data, "postal_code": form.postal_code.data,
            "city": form.city.data, "email": form.contact_email.data, "phone": form.phone.data,
        }
        try:
            services.register_organisation(
                identity=identity, full_name=form.full_name.data, email=form.email.data, password=form.password.data
            )
        except DomainError as error:
            show_error(form, error)
        else:
            return check_your_email(form.email.data)
    return render_template("accounts/register_organisation.html", form=form)


@accounts_bp.route("/inscription/particulier", methods=["GET", "POST"])
@allow(Access.PUBLIC)
@registration_per_ip
@registration_per_email
def register_individual():
    if current_user.is_authenticated:
        return already_signed_in()
    form = RegisterIndividualForm()
    if form.validate_on_submit():
        try:
            services.register_individual(
                full_name=form.full_name.data, email=form.email.data, password=form.password.data,
                street=form.street.data, postal_code=form.postal_code.data, city=form.city.data,
            )
        except DomainError as error:
            show_error(form, error)
        else:
            return check_your_email(form.email.data)
    return render_template("accounts/register_individual.html", form=form)
