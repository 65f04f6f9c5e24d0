"""Two web nodes, one state (README, "Several web servers"): two gunicorn processes with instance
folders of their own, on the same PostgreSQL, Redis and S3 store (SeaweedFS), and a Celery worker.
An association signs in and uploads through node A; node B knows the session and serves the file;
the worker reads the file it never saw written."""

from __future__ import annotations

import hashlib
import http.client
import re
import time
import urllib.parse
import uuid

import pytest
from celery import Celery

from grants.applications.models import Attachment
from grants.database import db
from grants.organisations.models import Applicant
from tests.applications.test_storage import PDF_BYTES
from tests.conftest import TEST_PASSWORD
from tests.factories import ApplicationFactory, CallFactory, RequiredDocumentFactory, member_of
from tests.live_servers import celery_worker, gunicorn_server, log_tail, production_environment

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """Just enough of a browser over plain HTTP: it keeps the cookies it is given (production sets
    them Secure, which a real browser would only send over HTTPS, as behind the TLS proxy) and sends
    them to whichever node it talks to, as a load balancer's clients do."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, base: str, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        address = urllib.parse.urlsplit(base)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            payload = answer.read()
            for name, value in answer.getheaders():
                if name.lower() == "set-cookie":
                    cookie_name, _, rest = value.partition("=")
                    self.cookies[cookie_name] = rest.split(";", 1)[0]
            return answer.status, {name.lower(): value for name, value in answer.getheaders()}, payload
        finally:
            connection.close()

    def csrf_token(self, base: str, path: str) -> str:
        status, _headers, page = self.request(base, "GET", path)
        assert status == 200, (path, status, page[:500])
        return CSRF.search(page.decode()).group(1)

    def post_form(self, base: str, path: str, fields: dict) -> tuple[int, dict, bytes]:
        body = urllib.parse.urlencode(fields).encode()
        return self.request(base, "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def post_files(self, base: str, path: str, fields: dict, files: dict) -> tuple[int, dict, bytes]:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, content) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(base, "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.fixture
def dossier(pg_app):
    member = member_of()
    call = CallFactory()
    statutes = RequiredDocumentFactory(call=call, name="Statuts de l'association", accepted_types=["pdf"])
    applicant = db.session.scalar(db.select(Applicant).where(
        Applicant.organisation_id == member.memberships[0].organisation_id))
    application = ApplicationFactory(call=call, applicant=applicant, created_by=member)
    return member, statutes, application


def test_a_file_uploaded_through_one_node_is_served_by_the_other(pg_app, redis_url, object_store, s3_bucket,
                                                                  dossier, tmp_path):
    member, statutes, application = dossier
    queue = f"subventia-multinode-{uuid.uuid4().hex[:8]}"
    shared = {**object_store.environment(s3_bucket), "CELERY_QUEUE": queue}
    database_url = pg_app.config["SQLALCHEMY_DATABASE_URI"]

    def node_environment(name: str) -> dict:
        return production_environment(database_url, redis_url, tmp_path / name, **shared)

    pieces = f"/dossiers/{application.id}/pieces"
    with (gunicorn_server(node_environment("node-a"), tmp_path / "a.log") as node_a,
          gunicorn_server(node_environment("node-b"), tmp_path / "b.log") as node_b,
          celery_worker(node_environment("worker"), tmp_path / "worker.log") as _worker):
        browser = Browser()
        token = browser.csrf_token(node_a, "/connexion")
        status, headers, _ = browser.post_form(node_a, "/connexion", {
            "email": member.email, "password": TEST_PASSWORD, "csrf_token": token})
        assert status == 302, log_tail(tmp_path / "a.log")

        # Signed in on A, known on B (the session is a cookie signed with the shared SECRET_KEY, its
        # server-side record in the shared database).
        status, _, page = browser.request(node_b, "GET", pieces)
        assert status == 200 and "Statuts de l&#39;association" in page.decode()

        token = browser.csrf_token(node_a, pieces)
        status, _, page = browser.post_files(node_a, pieces, {"csrf_token": token},
                                             {f"piece-{statutes.id}-file": ("statuts.pdf", PDF_BYTES)})
        assert status == 302, (status, page[:1000], log_tail(tmp_path / "a.log"))
        db.session.expire_all()
        attachment = db.session.scalars(db.select(Attachment).where(Attachment.application_id == application.id)).one()
        assert attachment.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
        # Nothing on either node's disk: the file is in the shared bucket.
        for node in ("node-a", "node-b"):
            assert not any(path.is_file() for path in (tmp_path / node / "uploads").rglob("*"))
        assert object_store.client().head_object(Bucket=s3_bucket, Key=attachment.storage_key)["ContentLength"] == len(PDF_BYTES)

        status, headers, body = browser.request(node_b, "GET", f"{pieces}/{attachment.id}")
        assert status == 200 and body == PDF_BYTES
        assert headers["content-type"] == "application/pdf"
        assert headers["content-disposition"].startswith("attachment;")

        # The worker reads every stored file and checks it against its row.
        sender = Celery(broker=redis_url)
        sender.send_task("grants.stored_files.verify_stored_files", kwargs={"deep": True}, queue=queue)
        deadline = time.monotonic() + 60
        while "1 stored files checked in the s3 store, 0 problem(s)" not in (tmp_path / "worker.log").read_text():
            assert time.monotonic() < deadline, log_tail(tmp_path / "worker.log")
            time.sleep(0.3)
