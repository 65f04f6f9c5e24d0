"""A person downloads everything the platform holds about them, in Chromium: asked from the account
page, built by the worker, announced by email, downloaded with their account only."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from grants.database import db
from tests.e2e.test_journeys import announced, sign_in
from tests.factories import TEST_PASSWORD, IndividualApplicantFactory, UserFactory

pytestmark = pytest.mark.e2e

EMAIL = "lea.rousseau@exemple.fr"


def test_a_person_asks_for_their_data_and_downloads_the_archive(stack, browse, tmp_path):
    with stack.database():
        IndividualApplicantFactory(person=UserFactory(email=EMAIL, full_name="Léa Rousseau"))
        UserFactory(email="curieux@exemple.fr")
        db.session.remove()

    person = browse("person")
    page = person.page
    sign_in(person, EMAIL, TEST_PASSWORD)
    person.goto("/compte")
    page.get_by_role("link", name="Mes données").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes données")
    person.check()
    page.get_by_role("button", name="Demander mes données").click()
    expect(announced(page, "Votre demande est enregistrée")).to_be_visible()
    person.check()

    # The worker builds it in the background: the page offers the download once it is ready.
    download_link = page.get_by_role("link", name=re.compile("^Télécharger"))
    for _ in range(30):
        if download_link.count():
            break
        page.wait_for_timeout(1000)
        person.goto("/compte/donnees")
    expect(download_link).to_be_visible()
    href = download_link.get_attribute("href")

    with page.expect_download() as info:
        download_link.click()
    path = tmp_path / "export.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("data.json"))
        assert {"data.json", "index.html", "LISEZMOI.txt"} <= set(archive.namelist())
    assert document["person"] == {"id": document["person"]["id"], "email": EMAIL, "full_name": "Léa Rousseau"}
    assert document["tables"]["applicants"][0]["address"]
    assert "password_hash" not in document["tables"]["users"][0]

    # The email says it is ready and leads to the page.
    for _ in range(30):
        if stack.emails_to(EMAIL):
            break
        page.wait_for_timeout(500)
    [message] = [m for m in stack.emails_to(EMAIL) if "prêtes" in str(m["Subject"])]
    assert "/compte/donnees" in message.get_body(preferencelist=("plain",)).get_content()

    # Someone else, signed in, is answered as if the export did not exist.
    other = browse("other")
    sign_in(other, "curieux@exemple.fr", TEST_PASSWORD)
    response = other.page.goto(href)
    assert response.status == 404
    other.check()
