"""The organisation's profile, its members and invitations, and the invitation link."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.access import Access, acting_user, allow
from grants.accounts.services import find_user_by_email
from grants.accounts.sessions import start_session
from grants.database import db
from grants.errors import DomainError
from grants.form_errors import show_error
from grants.organisations import policies, registration, services
from grants.organisations.forms import (
    LEGAL_FORM_LABELS,
    InvitationSignupForm,
    InviteForm,
    OrganisationForm,
)
from grants.organisations.models import Invitation, LegalForm, Membership, Organisation

bp = Blueprint("organisations", __name__)

__all__ = ["bp", "registration"]  # importing this module adds the sign-up pages to the accounts blueprint


def member_organisation(organisation_id: int) -> Organisation:
    """The organisation, if the current user belongs to it: 404 if it does not exist, 403 if not his."""
    organisation = db.get_or_404(Organisation, organisation_id)
    policies.ensure_member(current_user, organisation)
    return organisation


def render_profile(organisation: Organisation):
    return render_template(
        "organisations/profile.html",
        organisation=organisation,
        legal_form_label=LEGAL_FORM_LABELS.get(LegalForm(organisation.legal_form), organisation.legal_form),
    )


@bp.get("/association")
@allow(Access.APPLICANT)
def profile():
    """The current user's organisation; with several, he chooses."""
    organisations = sorted((m.organisation for m in current_user.memberships), key=lambda o: o.name.lower())
    if len(organisations) == 1:
        return render_profile(organisations[0])
    return render_template("organisations/choose.html", organisations=organisations)


@bp.get("/association/<int:organisation_id>")
@allow(Access.APPLICANT)
def show(organisation_id: int):
    return render_profile(member_organisation(organisation_id))


@bp.route("/association/<int:organisation_id>/modifier", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def edit(organisation_id: int):
    organisation = member_organisation(organisation_id)
    form = OrganisationForm(obj=organisation)
    if request.method == "GET":
        form.contact_email.data = organisation.email
        form.legal_form.data = LegalForm(organisation.legal_form).value
    if form.validate_on_submit():
        identity = {
            "name": form.name.data, "legal_form": form.legal_form.data, "siret": form.siret.data,
            "rna": form.rna.data, "street": form.street.data, "postal_code": form.postal_code.data,
            "city": form.city.data, "email": form.contact_email.data, "phone": form.phone.data,
        }
        try:
            changed = services.update_organisation(organisation, acting_user(), identity)
        except DomainError as error:
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Les informations de l'organisation sont enregistrées.") if changed else _("Aucune modification."), "success")
            return redirect(url_for("organisations.show", organisation_id=organisation.id))
    return render_template("organisations/edit.html", organisation=organisation, form=form)


def render_members(organisation: Organisation, form: InviteForm):
    memberships = sorted(organisation.memberships, key=lambda m: (m.role != "owner", m.user.full_name.lower()))
    return render_template(
        "organisations/members.html",
        organisation=organisation,
        memberships=memberships,
        invitations=services.pending_invitations(organisation),
        form=form,
        policies=policies,
    )


@bp.route("/association/<int:organisation_id>/membres", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def members(organisation_id: int):
    """Members, pending invitations, and (POST) inviting a colleague."""
    organisation = member_organisation(organisation_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = services.invite_member(organisation, acting_user(), form.email.data)
        except DomainError as error:
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Invitation envoyée à %(email)s.", email=invitation.email), "success")
            return redirect(url_for("organisations.members", organisation_id=organisation.id))
    return render_members(organisation, form)


def act_on_members(organisation: Organisation, action, target, success: str):
    try:
        action(target, acting_user())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(url_for("organisations.members", organisation_id=organisation.id))


@bp.post("/association/<int:organisation_id>/invitations/<int:invitation_id>/annuler")
@allow(Access.APPLICANT)
def revoke_invitation(organisation_id: int, invitation_id: int):
    organisation = member_organisation(organisation_id)
    invitation = db.get_or_404(Invitation, invitation_id)
    if invitation.organisation_id != organisation.id:
        abort(404)
    return act_on_members(organisation, services.revoke_invitation, invitation, _("L'invitation est annulée."))


def organisation_membership(organisation_id: int, membership_id: int) -> tuple[Organisation, Membership]:
    organisation = member_organisation(organisation_id)
    membership = db.get_or_404(Membership, membership_id)
    if membership.organisation_id != organisation.id:
        abort(404)
    policies.ensure_owner(current_user, organisation)
    return organisation, membership


@bp.post("/association/<int:organisation_id>/membres/<int:membership_id>/retirer")
@allow(Access.APPLICANT)
def remove_member(organisation_id: int, membership_id: int):
    organisation, membership = organisation_membership(organisation_id, membership_id)
    removing_self = membership.user_id == current_user.id
    response = act_on_members(
        organisation, services.remove_member, membership,
        _("%(name)s ne fait plus partie de l'organisation.", name=membership.user.full_name),
    )
    if removing_self and not policies.is_member(current_user, organisation):
        return redirect(url_for("home.dashboard"))
    return response


@bp.post("/association/<int:organisation_id>/membres/<int:membership_id>/responsable")
@allow(Access.APPLICANT)
def promote_member(organisation_id: int, membership_id: int):
    organisation, membership = organisation_membership(organisation_id, membership_id)
    return act_on_members(
        organisation, services.promote_member, membership,
        _("%(name)s est maintenant responsable de l'organisation.", name=membership.user.full_name),
    )


# -- the invitation link ------------------------------------------------------------------------

@bp.route("/invitation/<token>", methods=["GET", "POST"])
@allow(Access.PUBLIC)
def invitation(token: str):
    """Join with the account the invitation was sent to, or create that account here."""
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationUnusable as error:
        status = 404 if error.reason == "invalid" else 410
        return render_template("organisations/invitation_unusable.html", message=error.message), status
    organisation = invitation.organisation
    context = {"invitation": invitation, "organisation": organisation, "token": token}

    if current_user.is_authenticated:
        user = acting_user()
        if user.email != invitation.email:
            return render_template("organisations/invitation.html", mode="other_account", **context)
        if request.method == "POST":
            try:
                services.accept_invitation(invitation, user)
            except DomainError as error:
                db.session.rollback()
                flash(error.message, "error")
                return redirect(url_for("home.dashboard"))
            db.session.commit()
            flash(_("Vous avez rejoint %(name)s.", name=organisation.name), "success")
            return redirect(url_for("organisations.show", organisation_id=organisation.id))
        return render_template("organisations/invitation.html", mode="join", **context)

    if find_user_by_email(invitation.email) is not None:
        login_url = url_for("accounts.login", next=url_for("organisations.invitation", token=token))
        return render_template("organisations/invitation.html", mode="sign_in", login_url=login_url, **context)

    form = InvitationSignupForm()
    if form.validate_on_submit():
        try:
            user = services.accept_invitation_as_new_user(invitation, full_name=form.full_name.data, password=form.password.data)
        except DomainError as error:
            show_error(form, error)
        else:
            start_session(user)
            db.session.commit()
            flash(_("Bienvenue ! Vous avez rejoint %(name)s.", name=organisation.name), "success")
            return redirect(url_for("organisations.show", organisation_id=organisation.id))
    return render_template("organisations/invitation.html", mode="sign_up", form=form, **context)
