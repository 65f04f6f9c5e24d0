"""CPU per request of the lists that grow without end (issue #12): the reviewer's desk with 1,000
assignments, the audit log with 100,000 events, a user's list of 10,000 notifications; first pages and
pages deep in each list, as ratios to a baseline page of the same run, and the PostgreSQL plans of the
pages' statements on these tables.

    .venv/bin/python -m bench.lists [--scale 0.2] [--requests 60] [--rounds 5] [--no-build]

Builds its own database (``subventia_bench_lists``: bench.dataset at ``--scale``, then topped up with
SQL: the first bench reviewer given 1,000 assignments, 950 of them transmitted over three years; the
audit log to 100,000 events over two years; 10,000 notifications for the admin), then runs the app in
this process in the production configuration (Flask's test client, as bench/public_pages.py): ms of this
process's CPU per request (what a web worker spends) and of wall time (PostgreSQL's work included), medians
of ``--rounds`` rounds. The baseline is the notification preferences page (the signed-in layout and a
form, one statement). The code measured is the one imported: run it from a checkout of the commit
before the change (``PYTHONPATH=<that checkout>``) for the "before" figures; pages deep in a list are
then reached by ``?page=`` (OFFSET), after it by the key of the row at the same depth.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import secrets
import statistics
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

from bench import dataset

DATABASE_URL = os.environ.get("BENCH_LISTS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/subventia_bench_lists")
ADMIN_EMAIL = "bench-admin@region.example"
ASSIGNMENTS, TRANSMITTED, EVENTS, NOTIFICATIONS = 1_000, 950, 100_000, 10_000
BASELINE = "/compte/notifications"
WATCHED = ("audit_events", "notifications", "review_assignments")
# The code measured has keyset pagination (a file, not an import: the editable install's finder would
# find grants.keyset in the worktree it was installed from even when PYTHONPATH names another checkout).
KEYSET = (Path(importlib.util.find_spec("grants").origin).parent / "keyset.py").exists()


# Values as parameters: %(reviewer)s, %(manager)s, %(admin)s and the figures above.
TOP_UP = [
    # The reviewer's history: every application not yet his, up to 1,000, due over three years.
    """INSERT INTO review_assignments (application_id, reviewer_id, assigned_by_id, assigned_at, due_on, state)
    SELECT a.id, r.id, m.id, now() - interval '3 years', (current_date - 1000) + (row_number() OVER (ORDER BY a.id))::int,
           'assigned'
    FROM applications a, users r, users m
    WHERE r.email = %(reviewer)s AND m.email = %(manager)s AND a.state <> 'draft'
      AND NOT EXISTS (SELECT 1 FROM review_assignments x WHERE x.application_id = a.id AND x.reviewer_id = r.id)
    ORDER BY a.id
    LIMIT %(assignments)s - (SELECT count(*) FROM review_assignments x JOIN users u ON u.id = x.reviewer_id
                             WHERE u.email = %(reviewer)s)""",
    # All but the 50 latest due transmitted.
    """INSERT INTO reviews (assignment_id, state, opinion, comment, updated_at, submitted_at)
    SELECT x.id, 'submitted', 'fund', '', now(), now() FROM review_assignments x JOIN users u ON u.id = x.reviewer_id
    WHERE u.email = %(reviewer)s AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.assignment_id = x.id)
      AND x.id IN (SELECT y.id FROM review_assignments y WHERE y.reviewer_id = u.id
                   ORDER BY y.due_on, y.id LIMIT %(transmitted)s)""",
    """INSERT INTO audit_events (occurred_at, action, actor_id, subject_type, subject_id, details)
    SELECT now() - (n * interval '10 minutes'), (ARRAY['auth.login', 'auth.logout', 'application.submitted',
           'review.submitted', 'access.refused'])[1 + n %% 5], u.id, 'user', u.id, '{}'
    FROM generate_series(1, %(events)s - (SELECT count(*) FROM audit_events)) AS n, users u
    WHERE u.email = %(admin)s""",
    """INSERT INTO notifications (event, recipient_email, recipient_id, subject, body_text, status, attempts,
                                  created_at, sent_at, read_at)
    SELECT 'bench', u.email, u.id, 'Message ' || n, 'Corps du message ' || n, 'sent', 0,
           now() - (n * interval '1 hour'), now() - (n * interval '1 hour'),
           CASE WHEN n > 20 THEN now() END
    FROM generate_series(1, %(notifications)s) AS n, users u WHERE u.email = %(admin)s""",
    "ANALYZE",
]
VALUES = {"reviewer": dataset.REVIEWER_EMAIL, "manager": dataset.MANAGER_EMAIL, "admin": ADMIN_EMAIL,
          "assignments": ASSIGNMENTS, "transmitted": TRANSMITTED, "events": EVENTS, "notifications": NOTIFICATIONS}


def build(url: str, scale: float) -> None:
    dataset.build(url, scale)
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in TOP_UP:
            connection.execute(statement, VALUES if "%(" in statement else None)
        counts = connection.execute(
            """SELECT (SELECT count(*) FROM review_assignments x JOIN users u ON u.id = x.reviewer_id
                       WHERE u.email = %(reviewer)s),
                      (SELECT count(*) FROM audit_events),
                      (SELECT count(*) FROM notifications)""", VALUES).fetchone()
    print(f"topped up: the reviewer's assignments {counts[0]:,}, audit events {counts[1]:,}, "
          f"notifications {counts[2]:,}")


class Client:
    """One signed-in browser on the app in this process (production cookies: https)."""

    def __init__(self, app, email: str):
        self.client = app.test_client()
        page = self.get("/connexion").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        response = self.client.post("/connexion", base_url="https://127.0.0.1",
                                    headers={"Referer": "https://127.0.0.1/"},
                                    data={"csrf_token": token, "email": email, "password": dataset.BENCH_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]

    def get(self, path: str):
        return self.client.get(path, base_url="https://127.0.0.1")


def deep_paths(app) -> dict[str, str]:
    """Pages deep in each list: the 19th page of the desk, the audit log 50,000 events down, the
    notifications 9,000 down; by OFFSET before keyset pagination, by the key of the row there after."""
    from grants.database import db
    from grants.models import AuditEvent, Notification, User

    if not KEYSET:
        return {"desk, deep": "/evaluation", "audit log, deep": "/admin/journal/?page=1000",
                "notifications, deep": "/notifications?page=300"}
    from grants.keyset import TimeKey
    from grants.reviews.assignments import desk_page

    with app.app_context():
        reviewer = db.session.scalar(sa.select(User).where(User.email == dataset.REVIEWER_EMAIL))
        page = desk_page(reviewer)
        for _ in range(17):
            page = desk_page(reviewer, after=page.next)
        event = db.session.execute(sa.select(AuditEvent.occurred_at, AuditEvent.id)
                                   .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
                                   .offset(50_000).limit(1)).one()
        notification = db.session.execute(
            sa.select(Notification.created_at, Notification.id).join(User, User.id == Notification.recipient_id)
            .where(User.email == ADMIN_EMAIL)
            .order_by(Notification.created_at.desc(), Notification.id.desc()).offset(9_000).limit(1)).one()
    return {"desk, deep": f"/evaluation?apres={page.next.token()}",
            "audit log, deep": f"/admin/journal/?avant={TimeKey(*event).token()}",
            "notifications, deep": f"/notifications?avant={TimeKey(*notification).token()}"}


def per_request(client: Client, path: str, requests: int) -> tuple[float, float]:
    """(ms of this process's CPU, ms of wall time) per request."""
    assert client.get(path).status_code == 200, path
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        client.get(path)
    return ((time.process_time() - cpu) * 1000 / requests, (time.perf_counter() - wall) * 1000 / requests)


def explain(app, client: Client, path: str) -> list[str]:
    """The plan lines of the statements one request of ``path`` runs on the watched tables."""
    from grants.database import db

    captured = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if any(table in statement for table in WATCHED) and statement.lstrip().upper().startswith(("SELECT", "(SELECT")):
            captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    lines = []
    with engine.connect() as connection:
        for statement, parameters in captured:
            if not any(f"FROM {table}" in statement or f"JOIN {table}" in statement for table in WATCHED):
                continue
            plan = [row[0] for row in connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
            keep = [line.strip() for line in plan if any(word in line for word in (
                "Scan", "Limit", "Execution Time", "Index Cond", "Sort Method"))]
            if any(f"Seq Scan on {table}" in line for table in WATCHED for line in plan):
                keep.insert(0, "!! SEQUENTIAL SCAN")
            lines.append(" | ".join(keep))
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-build", action="store_true", help="reuse the database of a previous run")
    parser.add_argument("--explain", action="store_true", help="print the plans of the pages' statements")
    arguments = parser.parse_args(argv)
    if not arguments.no_build:
        build(arguments.database_url, arguments.scale)
    os.environ.update({
        "SUBVENTIA_CONFIG": "production", "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": arguments.database_url, "REDIS_URL": arguments.redis_url,
        "GRANTOR_NAME": "Région (bench)", "GRANTOR_SIRET": "23590001800016",
        "RATELIMIT_KEY_PREFIX": f"bench-lists-{secrets.token_hex(4)}:",
    })
    from grants import create_app

    app = create_app()
    reviewer, admin = Client(app, dataset.REVIEWER_EMAIL), Client(app, ADMIN_EMAIL)
    deep = deep_paths(app)
    pages = [
        ("baseline (preferences)", reviewer, BASELINE),
        ("desk, first page", reviewer, "/evaluation"),
        ("desk, deep", reviewer, deep["desk, deep"]),
        ("audit log, first page", admin, "/admin/journal/"),
        ("audit log, one action", admin, "/admin/journal/?action=auth.logout"),
        ("audit log, deep", admin, deep["audit log, deep"]),
        ("notifications, first", admin, "/notifications"),
        ("notifications, deep", admin, deep["notifications, deep"]),
    ]
    print(f"code: {'keyset pagination' if KEYSET else 'before (OFFSET, whole desk)'}; "
          f"{arguments.requests} requests x {arguments.rounds} rounds, medians; ms per request")
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name, _c, _p in pages}
    for _ in range(arguments.rounds):  # rounds interleaved, so that a busy moment weighs on every page alike
        for name, client, path in pages:
            rounds[name].append(per_request(client, path, arguments.requests))
    base_cpu = statistics.median(cpu for cpu, _wall in rounds[pages[0][0]])
    base_wall = statistics.median(wall for _cpu, wall in rounds[pages[0][0]])
    print(f"{'page':26} {'CPU ms':>8} {'x base':>7} {'wall ms':>8} {'x base':>7}  path")
    for name, _client, path in pages:
        cpu = statistics.median(c for c, _w in rounds[name])
        wall = statistics.median(w for _c, w in rounds[name])
        print(f"{name:26} {cpu:8.2f} {cpu / base_cpu:7.2f} {wall:8.2f} {wall / base_wall:7.2f}  {path[:60]}")
    if arguments.explain:
        for name, client, path in pages[1:]:
            print(f"\n{name}: {path[:70]}")
            for line in explain(app, client, path):
                print("  " + line)


if __name__ == "__main__":
    main()
