"""What a request may carry (grants.input_limits, grants.url_converters): ids in URLs within the id column,
no NUL in any text, JSON bodies of bounded size and depth."""

from __future__ import annotations

import json

import pytest

from grants.database import db
from grants.form_fields import MAX_RECORD_ID
from grants.input_limits import MAX_JSON_BYTES, json_depth, without_nul
from tests.api.conftest import bearer, new_token
from tests.factories import ManagerFactory, UserFactory


@pytest.fixture
def manager_secret(app):
    return new_token(ManagerFactory())


@pytest.mark.parametrize("path", [f"/dossiers/{MAX_RECORD_ID + 1}", "/dossiers/9" + "9" * 5000,
                                  f"/gestion/appels/{2**63}/modifier"])
def test_an_id_beyond_the_id_column_is_a_404_before_any_query(client, login_as, path):
    login_as(ManagerFactory())
    assert client.get(path).status_code == 404
    assert client.post(path).status_code in (404, 405)


def test_the_api_answers_its_404_for_an_id_beyond_the_column(client, manager_secret):
    response = client.get(f"/api/v1/calls/{MAX_RECORD_ID + 1}", headers=bearer(manager_secret))
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_the_largest_id_is_still_looked_up(client, login_as):
    login_as(ManagerFactory())
    assert client.get(f"/gestion/appels/{MAX_RECORD_ID}/modifier").status_code == 404  # no such call


def test_nul_characters_are_removed_from_form_fields(client, login_as):
    user = UserFactory()
    login_as(user)
    response = client.post("/compte", data={"full_name": "Claire\x00 Martin", "locale": "fr"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.full_name == "Claire Martin"


def test_nul_characters_are_removed_from_json_strings_and_keys():
    assert without_nul({"re\x00ason": ["a\x00b", {"c": "\x00"}], "amount": 5}) == {"reason": ["ab", {"c": ""}],
                                                                                   "amount": 5}


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[{{{\\"]]]"}]}') == 3
    assert json_depth(b"[" * 50_000 + b"]" * 50_000) == 50_000


def test_an_oversized_body_is_a_413_with_the_api_error_body(app, client, manager_secret):
    from tests.api.conftest import open_call, under_review

    application = under_review(open_call())
    db.session.commit()
    body = json.dumps({"amount": "10.00", "section": "fonctionnement", "reason": "x" * MAX_JSON_BYTES})
    response = client.post(f"/api/v1/applications/{application.id}/award", data=body,
                           content_type="application/json", headers=bearer(manager_secret))
    assert response.status_code == 413 and response.json["error"] == "too_large"


def test_a_deeply_nested_award_body_is_refused_with_the_api_error_body(app, client, manager_secret):
    from tests.api.conftest import open_call, under_review

    application = under_review(open_call())
    db.session.commit()
    body = "[" * 25_000 + "]" * 25_000  # within the size limit, far beyond the depth limit
    response = client.post(f"/api/v1/applications/{application.id}/award", data=body,
                           content_type="application/json", headers=bearer(manager_secret))
    assert response.status_code == 422 and response.json["error"] == "invalid"
    assert "body" in response.json["fields"]


def test_a_nul_in_the_api_reason_is_removed(app, client, manager_secret):
    from grants.awards.models import Decision
    from tests.api.conftest import open_call, under_review

    application = under_review(open_call())
    db.session.commit()
    response = client.post(f"/api/v1/applications/{application.id}/award", headers=bearer(manager_secret),
                           json={"amount": "10.00", "section": "fonctionnement", "reason": "Vote\x00 du 3 mars"})
    assert response.status_code == 201
    assert db.session.scalars(db.select(Decision)).one().reason == "Vote du 3 mars"
