"""The attachments page under hostile files, through the real route on both databases: every
malformed file of every accepted type (a crafted corpus, then hypothesis's mutations of valid files)
is answered without a server error; a refused file writes no row and no file, and rows and stored files
always stay together."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.applications.test_attachments import attachments_of, pieces_url, stored_files
from tests.applications.test_file_types import EDITS, MALFORMED, VALID, mutated

# Which field of the dossier fixture accepts each sample's kind, so that a refusal is about the bytes.
FIELD_OF = {"pdf": "statutes", "png": "bank", "jpeg": "bank", "docx": "budget", "xlsx": "budget", "odt": "budget",
            "doc": "budget", "xls": "budget"}


def post_file(client, application, key, data: bytes, filename: str):
    return client.post(pieces_url(application), content_type="multipart/form-data",
                       data={f"piece-{key}-file": (io.BytesIO(data), filename)})


def snapshot(app, application):
    return ({(a.id, a.storage_key) for a in attachments_of(application)}, stored_files(app))


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_each_malformed_file_is_refused_under_its_field_with_nothing_written(app, client, login_as, dossier, name):
    login_as(dossier.member)
    for key in (dossier.statutes.id, dossier.bank.id, dossier.budget.id, "autre"):
        response = post_file(client, dossier.application, key, MALFORMED[name], f"{name}.pdf")
        assert response.status_code == 422, (key, response.status_code)
        assert f'id="piece-{key}-file-error"' in response.get_data(as_text=True)
    assert attachments_of(dossier.application) == [] and stored_files(app) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sample=st.sampled_from(sorted(VALID)), edits=EDITS, to_other=st.booleans())
def test_a_mutated_file_never_gets_a_server_error_and_a_refusal_writes_nothing(
        app, client, login_as, dossier, sample, edits, to_other):
    login_as(dossier.member)
    key = "autre" if to_other else getattr(dossier, FIELD_OF[sample]).id
    before = snapshot(app, dossier.application)
    response = post_file(client, dossier.application, key, mutated(VALID[sample], edits), f"{sample}.bin")
    assert response.status_code in (302, 422), response.status_code
    rows, files = snapshot(app, dossier.application)
    if response.status_code == 422:
        assert (rows, files) == before
        assert f'id="piece-{key}-file-error"' in response.get_data(as_text=True)
    assert sorted(key for _, key in rows) == sorted(path.name for path in files)  # rows and files together
