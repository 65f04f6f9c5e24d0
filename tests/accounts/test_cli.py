"""``flask users create`` and ``flask users list``: scriptable, no prompt, exit code 1 on refusal."""

from __future__ import annotations

from grants.accounts.passwords import verify_password
from grants.database import db
from grants.models import StaffRole, User
from tests.accounts.conftest import audit_events, is_signed_in
from tests.conftest import login
from tests.factories import UserFactory


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=["users", *args], **kwargs)


def test_create_a_manager(app):
    result = run(app, "create", "--email", "Claire.Martin@Region.example", "--password", "une phrase assez longue",
                 "--role", "manager", "--name", "Claire Martin")
    assert result.exit_code == 0, result.output
    assert "claire.martin@region.example" in result.output
    db.session.expire_all()
    user = db.session.scalars(db.select(User)).one()
    assert (user.email, user.full_name, user.staff_role) == ("claire.martin@region.example", "Claire Martin", StaffRole.MANAGER)
    assert verify_password(user.password_hash, "une phrase assez longue")
    assert audit_events("account.created")[0].details == {"role": "manager", "via": "cli"}


def test_the_name_defaults_to_the_start_of_the_address(app):
    assert run(app, "create", "--email", "expert@region.example", "--password", "une phrase assez longue", "--role", "reviewer").exit_code == 0
    db.session.expire_all()
    assert db.session.scalars(db.select(User.full_name)).one() == "expert"


def test_an_existing_email_is_refused(app):
    UserFactory(email="claire@region.example")
    result = run(app, "create", "--email", "CLAIRE@region.example", "--password", "une phrase assez longue", "--role", "admin")
    assert result.exit_code == 1
    assert "Un compte existe déjà avec cette adresse e-mail." in result.output
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_a_short_password_is_refused(app):
    result = run(app, "create", "--email", "claire@region.example", "--password", "court", "--role", "admin")
    assert result.exit_code == 1
    assert "au moins 12 caractères" in result.output
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_an_unknown_role_is_refused_without_prompting(app):
    result = run(app, "create", "--email", "claire@region.example", "--password", "une phrase assez longue", "--role", "owner")
    assert result.exit_code == 2
    assert "Invalid value for '--role'" in result.output


def test_a_missing_option_is_an_error_not_a_prompt(app):
    result = run(app, "create", "--email", "claire@region.example", "--role", "admin", input="anything\n")
    assert result.exit_code == 2
    assert "Missing option '--password'" in result.output


def test_list(app):
    UserFactory(email="b-applicant@asso.example", full_name="Bea Porteuse")
    UserFactory(email="a-manager@region.example", full_name="Ali Charge", staff_role=StaffRole.MANAGER, active=False)
    result = run(app, "list")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines == [
        "a-manager@region.example\tAli Charge\tmanager\tdésactivé\tjamais connecté",
        "b-applicant@asso.example\tBea Porteuse\tapplicant\tactif\tjamais connecté",
    ]
    only_managers = run(app, "list", "--role", "manager").output.strip().splitlines()
    assert only_managers == [lines[0]]


def test_set_role_changes_the_role_and_ends_the_sessions(app, client):
    user = UserFactory(email="expert@region.example", staff_role=StaffRole.REVIEWER)
    login(client, user)
    result = run(app, "set-role", "--email", "Expert@Region.example", "--role", "manager")
    assert result.exit_code == 0, result.output
    assert "sessions sont fermées" in result.output
    db.session.refresh(user)
    assert user.staff_role == StaffRole.MANAGER
    assert not is_signed_in(client)


def test_set_role_for_an_unknown_email_fails(app):
    result = run(app, "set-role", "--email", "nobody@region.example", "--role", "manager")
    assert result.exit_code == 1 and "Aucun compte" in result.output
