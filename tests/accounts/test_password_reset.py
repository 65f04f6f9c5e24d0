"""Forgotten password: a signed, expiring, single-use link; afterwards every other session is closed."""

from __future__ import annotations

from datetime import timedelta

from grants.accounts.passwords import verify_password
from grants.database import db, utcnow
from grants.models import Notification
from tests.accounts.conftest import audit_events, is_signed_in, link_in
from tests.conftest import TEST_PASSWORD, login
from tests.factories import UserFactory

NEW_PASSWORD = "un tout nouveau mot de passe"


def request_link(client, mail_outbox, email) -> str:
    response = client.post("/mot-de-passe-oublie", data={"email": email})
    assert response.status_code == 200
    [message] = mail_outbox
    return link_in(message, "/mot-de-passe/")


def set_password(client, path, password=NEW_PASSWORD):
    return client.post(path, data={"password": password, "password_confirm": password})


def test_the_answer_is_the_same_whether_or_not_the_account_exists(app, client, mail_outbox):
    user = UserFactory(email="marie@asso.example")
    known = client.post("/mot-de-passe-oublie", data={"email": "Marie@Asso.example"})
    unknown = client.post("/mot-de-passe-oublie", data={"email": "nobody@asso.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace("marie@asso.example", "X") == unknown.get_data(as_text=True).replace(
        "nobody@asso.example", "X"
    )
    assert [m.to for m in mail_outbox] == [["marie@asso.example"]]
    assert db.session.scalars(db.select(Notification.event)).all() == ["password_reset"]
    assert audit_events("auth.password_reset_requested")[0].subject_id == user.id


def test_an_inactive_account_gets_no_link(app, client, mail_outbox):
    UserFactory(email="marie@asso.example", active=False)
    assert client.post("/mot-de-passe-oublie", data={"email": "marie@asso.example"}).status_code == 200
    assert mail_outbox == []


def test_the_link_sets_a_new_password_and_signs_in(app, client, mail_outbox):
    user = UserFactory(email="marie@asso.example")
    path = request_link(client, mail_outbox, "marie@asso.example")
    assert "Bonjour" in mail_outbox[0].body and user.full_name in mail_outbox[0].body
    page = client.get(path)
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.get_data(as_text=True)

    response = set_password(client, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/mon-espace")
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert not verify_password(user.password_hash, TEST_PASSWORD)
    assert is_signed_in(client)
    assert audit_events("auth.password_reset")[0].actor_id == user.id


def test_the_link_works_once(app, client, mail_outbox):
    UserFactory(email="marie@asso.example")
    path = request_link(client, mail_outbox, "marie@asso.example")
    assert set_password(client, path).status_code == 302
    again = client.get(path)
    assert again.status_code == 400
    assert "a déjà servi" in again.get_data(as_text=True)
    assert set_password(client, path, "encore un autre mot de passe").status_code == 400


def test_the_link_expires(app, client, mail_outbox, time_machine):
    user = UserFactory(email="marie@asso.example")
    path = request_link(client, mail_outbox, "marie@asso.example")
    time_machine.move_to(utcnow() + timedelta(seconds=app.config["PASSWORD_RESET_MAX_AGE"] + 5))
    response = set_password(client, path)
    assert response.status_code == 400
    assert "Ce lien a expiré" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert verify_password(user.password_hash, TEST_PASSWORD)


def test_the_link_still_works_shortly_before_expiry(app, client, mail_outbox, time_machine):
    UserFactory(email="marie@asso.example")
    path = request_link(client, mail_outbox, "marie@asso.example")
    time_machine.move_to(utcnow() + timedelta(seconds=app.config["PASSWORD_RESET_MAX_AGE"] - 60))
    assert set_password(client, path).status_code == 302


def test_a_tampered_link_is_refused(app, client, mail_outbox):
    user = UserFactory(email="marie@asso.example")
    other = UserFactory(email="other@asso.example")
    path = request_link(client, mail_outbox, "marie@asso.example")
    token = path.rsplit("/", 1)[1]
    payload, _, signature = token.partition(".")
    # Change the signature's first character (its last one may carry unused base64 bits, so changing it
    # can decode to the same bytes), then try the payload of another user with the old signature.
    head, _, mac = token.rpartition(".")
    forged = [f"{head}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}", f"{payload.replace(str(user.id), str(other.id))}.{signature}"]
    for bad in forged + ["nimportequoi"]:
        response = set_password(client, f"/mot-de-passe/{bad}")
        assert response.status_code == 400, bad
    db.session.refresh(user)
    assert verify_password(user.password_hash, TEST_PASSWORD)


def test_a_short_new_password_is_refused(app, client, mail_outbox):
    UserFactory(email="marie@asso.example")
    path = request_link(client, mail_outbox, "marie@asso.example")
    response = set_password(client, path, "court")
    assert response.status_code == 200
    assert "au moins 12 caractères" in response.get_data(as_text=True)


def test_a_reset_signs_out_every_other_session_and_remember_cookie(app, mail_outbox):
    user = UserFactory(email="marie@asso.example")
    laptop, phone, attacker = app.test_client(), app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user, remember=True)
    phone.delete_cookie("session", domain="subventia.test")  # only the remember-me cookie is left
    assert is_signed_in(laptop) and is_signed_in(phone)

    path = request_link(attacker, mail_outbox, "marie@asso.example")
    assert set_password(attacker, path).status_code == 302

    assert not is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert is_signed_in(attacker)  # the person who reset is signed in with the new password


def test_change_password_on_the_account_page(app, client, login_as):
    user = UserFactory()
    other_device = app.test_client()
    login(other_device, user)
    login_as(user)

    wrong = client.post("/compte/mot-de-passe", data={
        "current_password": "not my password at all", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD,
    })
    assert wrong.status_code == 200
    assert "Le mot de passe actuel est incorrect." in wrong.get_data(as_text=True)
    assert is_signed_in(other_device)

    response = client.post("/compte/mot-de-passe", data={
        "current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD,
    })
    assert response.status_code == 302
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert is_signed_in(client)  # this session stays open
    assert not is_signed_in(other_device)  # the others are closed
    assert audit_events("auth.password_changed")[0].actor_id == user.id


def test_change_password_keeps_remember_me(app, client):
    user = UserFactory()
    login(client, user, remember=True)
    client.post("/compte/mot-de-passe", data={
        "current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD,
    })
    client.delete_cookie("session", domain="subventia.test")
    assert is_signed_in(client)  # the remember-me cookie was reissued with the new session token


def test_edit_name_and_language(app, client, login_as):
    user = UserFactory(full_name="Marie Curie", locale="fr")
    login_as(user)
    page = client.get("/compte")
    assert 'value="Marie Curie"' in page.get_data(as_text=True)
    response = client.post("/compte", data={"full_name": "Marie Sklodowska-Curie", "locale": "en"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.full_name, user.locale) == ("Marie Sklodowska-Curie", "en")
    assert audit_events("account.updated")[0].details["fields"] == "full_name,locale"
    assert client.get("/compte").get_data(as_text=True).startswith("<!doctype html>\n<html lang=\"en\">")


def test_account_form_errors_keep_the_input(client, login_as):
    login_as(UserFactory())
    response = client.post("/compte", data={"full_name": "", "locale": "de"})
    assert response.status_code == 200
    assert "error-summary" in response.get_data(as_text=True)
