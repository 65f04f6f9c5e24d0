"""A person's export: asked from their page, built by the worker, emailed, downloaded by them only,
complete (every table that holds a row about them), rate-limited and expiring."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import sqlalchemy as sa

from grants.database import db, utcnow
from grants.privacy import retention
from grants.privacy.inventory import INVENTORY, Category
from grants.privacy.models import DataExport, ExportStatus
from grants.storage import attachment_storage
from tests.accounts.conftest import audit_events
from tests.conftest import login
from tests.factories import AdminFactory, UserFactory
from tests.privacy.conftest import FILE_BYTES, archive_of, person_with_data


def ask_and_download(client) -> tuple[DataExport, object]:
    response = client.post("/compte/donnees")
    assert response.status_code == 302
    export = db.session.scalars(sa.select(DataExport).order_by(DataExport.id.desc())).first()
    db.session.refresh(export)
    assert export.status == ExportStatus.READY  # the task ran (eagerly in the tests)
    return export, archive_of(client.get(f"/compte/donnees/{export.id}/archive"))


def test_the_export_holds_every_row_about_the_person_in_every_table(client, person, mail_outbox):
    export, archive = ask_and_download(client)
    document = json.loads(archive.read("data.json"))
    assert document["format"] == "subventia.personal-data/1"
    assert document["person"]["email"] == person.user.email
    tables = document["tables"]

    # The walk: every row of every table whose column points at the person is in the export.
    user_id = person.user.id
    missing = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if INVENTORY[table.name].columns[column.name] != Category.PERSON:
                continue
            query = sa.select(table).where(column == user_id)
            if table.name == "audit_events":  # written after the archive was: its download
                query = query.where(table.c.action != "privacy.export_downloaded")
            if table.name == "notifications":  # written with the archive: the email saying it is ready
                query = query.where(table.c.event != "data_export_ready")
            rows = db.session.execute(query).mappings().all()
            exported = tables.get(table.name, [])
            for row in rows:
                key = {c.name: row[c.name] for c in table.primary_key.columns}
                if not any(all(item.get(k) == v for k, v in key.items()) for item in exported):
                    missing.append(f"{table.name}.{column.name} {key}")
    assert missing == []

    # Rows found beyond the user columns: the applications of their applicant, and their children.
    assert {a["title"] for a in tables["applications"]} == {"Mon brouillon", "Mon projet"}
    assert len(tables["budget_lines"]) == 1 and tables["budget_lines"][0]["amount"] == "1000.00"
    assert tables["invitations"][0]["email"] == person.user.email
    assert tables["audit_event_origins"] and tables["audit_event_origins"][0]["ip_address"] == "127.0.0.1"
    assert tables["applicants"][0]["address"] == "3 place du Théâtre, 59800 Lille"
    # Secrets never leave.
    assert "password_hash" not in tables["users"][0]
    assert all("token_hash" not in row for row in tables["api_tokens"] + tables["login_sessions"])
    assert "ffffffff" not in archive.read("data.json").decode()
    # Their file, the readable summary and the structure's description.
    [path] = [name for name in archive.namelist() if name.startswith("attachments/")]
    assert path == f"attachments/{person.attachment.id}-statuts signés.pdf"
    assert archive.read(path) == FILE_BYTES
    summary = archive.read("index.html").decode()
    assert "Camille Martin" in summary and "Mon projet" in summary
    assert "data.json" in archive.read("LISEZMOI.txt").decode()
    # The person was told, with the page to download from; every step is audited.
    [message] = [m for m in mail_outbox if "prêtes" in m.subject]
    assert message.to == [person.user.email] and "/compte/donnees" in message.body
    assert [e.action for e in audit_events("privacy.export_requested")] == ["privacy.export_requested"]
    assert audit_events("privacy.export_downloaded")[0].actor_id == person.user.id


def test_another_person_cannot_download_the_export(app, client, person):
    export, _archive = ask_and_download(client)
    intruder = UserFactory()
    other = app.test_client()
    assert login(other, intruder).status_code == 302
    assert other.get(f"/compte/donnees/{export.id}/archive").status_code == 404
    # Not even an administrator who did not ask for it.
    admin = AdminFactory()
    assert login(other, admin).status_code == 302
    assert other.get(f"/compte/donnees/{export.id}/archive").status_code == 404
    assert audit_events("access.refused")


def test_the_link_expires_and_retention_deletes_the_archive(client, person):
    export, _archive = ask_and_download(client)
    key = export.archive_storage_key
    assert export.expires_at - export.ready_at == timedelta(days=7)  # PRIVACY_RETENTION_DAYS["data_exports"]
    export.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get(f"/compte/donnees/{export.id}/archive")
    assert response.status_code == 410
    assert "expiré" in response.get_data(as_text=True)
    assert retention.apply()["data_exports"] == 1
    assert retention.apply()["data_exports"] == 0
    db.session.refresh(export)
    assert export.status == ExportStatus.EXPIRED and export.archive_storage_key is None
    assert not attachment_storage().exists(key)


def test_exports_are_limited_per_hour(client, person):
    for _ in range(3):
        assert client.post("/compte/donnees").status_code == 302
    response = client.post("/compte/donnees")
    assert response.status_code == 200
    assert "déjà demandé 3 exports dans l'heure" in html.unescape(response.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count(DataExport.id))) == 3


def test_an_administrator_exports_for_a_written_request_and_the_person_can_download_it_too(app, client):
    person = person_with_data()
    admin = AdminFactory()
    assert login(client, admin).status_code == 302
    response = client.post("/admin/donnees-personnelles/export", data={"email": person.user.email.upper()})
    assert response.status_code == 302
    export = db.session.scalar(sa.select(DataExport))
    assert export.user_id == person.user.id and export.requested_by_id == admin.id
    assert "Camille Martin" in archive_of(client.get(f"/compte/donnees/{export.id}/archive")).read("data.json").decode()
    page = client.get("/admin/donnees-personnelles").get_data(as_text=True)
    assert "Camille Martin" in page
    own = app.test_client()
    assert login(own, person.user).status_code == 302
    assert own.get(f"/compte/donnees/{export.id}/archive").status_code == 200
    # An unknown address is refused under its field, nothing asked.
    response = client.post("/admin/donnees-personnelles/export", data={"email": "personne@nulle-part.example"})
    assert response.status_code == 422 and "Aucun compte" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(DataExport.id))) == 1


def test_a_manager_cannot_ask_for_someone_elses_data(app):
    from grants.errors import NotAllowed
    from grants.privacy.exports import request_export
    from tests.factories import ManagerFactory

    manager, person = ManagerFactory(), UserFactory()
    try:
        request_export(person, requested_by=manager)
    except NotAllowed:
        db.session.rollback()
    else:
        raise AssertionError("a manager asked for another person's export")
    assert db.session.scalar(sa.select(sa.func.count(DataExport.id))) == 0
