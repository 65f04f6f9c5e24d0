"""The ranking of the bench's big call, in-process: CPU and SQL time per request of its page and of its
CSV export (issue #12), on the data set of bench/dataset.py (built first when it is missing), then the
stored ranking against the recomputation it replaced, in the same run.

    .venv/bin/python -m bench.ranking [--database-url URL] [--requests 10] [--multiply 10]

The application runs in this process on the production configuration, as in bench/run.py's in-process
columns: its CPU per request does not depend on the machine's load, the SQL time does; the ratios of the
last part (a page of the stored ranking over a page recomputed from the reviews, measured alternately in
the same minutes) hold under load. ``--multiply 10`` copies the big call's screened applications and
their reviews into a call of ~85,000 ranked applications (100,000 with the unscreened ones; in a
database of its own: pass another ``--database-url``).
"""

from __future__ import annotations

import argparse
import time

from bench import dataset
from bench.run import EMAILS, InProcess, database_exists, use_server_environment


def measure(in_process: InProcess, client, path: str, requests: int) -> tuple[float, float, int, int]:
    """(CPU ms, SQL ms, statements, bytes) per request, after one warm-up request."""
    response = in_process.request(client, "GET", path)
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code}")
    in_process.statements, in_process.sql_seconds = 0, 0.0
    size = 0
    started = time.process_time()
    for _ in range(requests):
        size = len(in_process.request(client, "GET", path).get_data())
    cpu = (time.process_time() - started) * 1000 / requests
    return cpu, in_process.sql_seconds * 1000 / requests, in_process.statements // requests, size


def timed(in_process: InProcess, function, requests: int) -> tuple[float, float, float, int]:
    """(wall ms, CPU ms, SQL ms, statements) per call of ``function``, after one warm-up call, each call in an
    application context of its own (a session of its own, as a request)."""
    with in_process.app.app_context():
        function()
    in_process.statements, in_process.sql_seconds = 0, 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        with in_process.app.app_context():
            function()
    return ((time.perf_counter() - wall) * 1000 / requests, (time.process_time() - cpu) * 1000 / requests,
            in_process.sql_seconds * 1000 / requests, in_process.statements // requests)


def multiply_big_call(url: str, factor: int) -> None:
    """Copy the big call's screened applications (under review, decided, withdrawn), their assignments and
    their reviews ``factor - 1`` times into the same call, with new ids and references: a call of
    ``factor`` × 10,000 applications on the scale-1 data set (bench/dataset.py does not build one: its
    envelopes do not grow with ``--scale``). The copies' marks are not copied: the ranking reads the
    stored scores."""
    import psycopg

    with psycopg.connect(url) as connection:
        call_id = connection.execute("SELECT id FROM calls WHERE slug = %s", (dataset.BIG_CALL_SLUG,)).fetchone()[0]
        if connection.execute("SELECT count(*) FROM applications WHERE call_id = %s AND reference LIKE %s",
                              (call_id, "%-x%")).fetchone()[0]:
            return  # multiplied already

        def columns(table):
            return [row[0] for row in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND table_schema = 'public'"
                " AND is_generated = 'NEVER' ORDER BY ordinal_position", (table,))]

        spans = {table: connection.execute(f"SELECT max(id) FROM {table}").fetchone()[0]  # noqa: S608
                 for table in ("applications", "review_assignments", "reviews")}
        ranked = ("applications.call_id = %(call)s AND applications.eligible AND applications.state IN"
                  " ('under_review', 'decided', 'withdrawn') AND applications.reference NOT LIKE '%%-x%%'")
        for copy in range(1, factor):
            replaced = {
                "applications": {"id": f"id + {copy * spans['applications']}",
                                 "reference": f"reference || '-x{copy}'"},
                "review_assignments": {"id": f"id + {copy * spans['review_assignments']}",
                                       "application_id": f"application_id + {copy * spans['applications']}"},
                "reviews": {"id": f"id + {copy * spans['reviews']}",
                            "assignment_id": f"assignment_id + {copy * spans['review_assignments']}"},
            }
            sources = {
                "applications": f"FROM applications WHERE {ranked}",
                "review_assignments": ("FROM review_assignments WHERE application_id IN (SELECT id FROM"  # noqa: S608
                                       f" applications WHERE {ranked})"),
                "reviews": ("FROM reviews WHERE assignment_id IN (SELECT ra.id FROM review_assignments ra"  # noqa: S608
                            f" JOIN applications ON applications.id = ra.application_id WHERE {ranked})"),
            }
            for table in ("applications", "review_assignments", "reviews"):
                names = columns(table)
                select = ", ".join(replaced[table].get(name, name) for name in names)
                connection.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} {sources[table]}",  # noqa: S608
                                   {"call": call_id})
        for table in ("applications", "review_assignments", "reviews"):
            connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
        connection.execute("ANALYZE")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=dataset.BENCH_DATABASE_URL)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--multiply", type=int, default=1,
                        help="copy the big call's screened applications and reviews to this many times as many")
    args = parser.parse_args(argv)
    use_server_environment(args.database_url)
    if not database_exists(args.database_url):
        dataset.build(args.database_url)
    if args.multiply > 1:
        multiply_big_call(args.database_url, args.multiply)
    in_process = InProcess()
    client = in_process.client("manager", EMAILS["manager"])
    from grants.calls.models import Call
    from grants.reviews import ranking
    from grants.reviews.models import RankingEntry

    db = in_process.db
    with in_process.app.app_context():
        call = db.session.scalar(db.select(Call).where(Call.slug == dataset.BIG_CALL_SLUG))
        call_id = call.id
        ranked = db.session.scalar(db.select(db.func.count()).select_from(RankingEntry)
                                   .where(RankingEntry.call_id == call_id))

    # The refresh: what a submission costs the worker (once per burst), the whole call written again.
    def refresh():
        ranking.refresh_ranking(call_id, force=True)
        db.session.commit()

    wall, cpu, sql, statements = timed(in_process, refresh, max(args.requests // 5, 1))
    with in_process.app.app_context():
        # The statistics of the rewritten rows, as autovacuum gathers them after such a write.
        db.session.execute(db.text("ANALYZE ranked_applications"))
        db.session.commit()
        rows = db.session.scalar(db.select(db.func.count()).select_from(RankingEntry)
                                 .where(RankingEntry.call_id == call_id))
        mismatches = ranking.ranking_mismatches(call_id)
    print(f"call {call_id}: {rows:,} stored rows ({ranked:,} before this run); refresh of the stored ranking: "
          f"{wall:.0f} ms wall, {cpu:.0f} ms CPU, {sql:.0f} ms SQL, {statements} statements; "
          f"verify-ranking: {len(mismatches)} mismatch(es)")

    for label, path in [
        ("ranking, page 1", f"/gestion/appels/{call_id}/classement"),
        ("ranking, page 50, sorted by normalised score", f"/gestion/appels/{call_id}/classement?tri=normalised&page=50"),
        ("ranking, one section", f"/gestion/appels/{call_id}/classement?section=fonctionnement"),
        ("ranking, disagreements only", f"/gestion/appels/{call_id}/classement?desaccord=1"),
        ("CSV export (every row)", f"/gestion/appels/{call_id}/classement.csv"),
    ]:
        cpu, sql, statements, size = measure(in_process, client, path, args.requests)
        print(f"{label}: {cpu:.1f} ms CPU, {sql:.1f} ms SQL, {statements} statements, {size:,} bytes per request")

    # A page of the stored ranking against the same page recomputed from the reviews (the code before),
    # alternately, so that both see the same load: the ratio is the figure.
    envelope = None
    with in_process.app.app_context():
        envelope = db.session.get(Call, call_id).envelope_total
    for label, page, sort in [("page 1", 1, "score"), ("page 50, normalised", 50, "normalised")]:
        stored = recomputed = (0.0, 0.0, 0.0, 0)
        for _ in range(3):
            one = timed(in_process, lambda p=page, s=sort: ranking.ranking_page(
                call_id, page=p, envelope=envelope, sort=s), args.requests)
            other = timed(in_process, lambda p=page, s=sort: ranking.recomputed_page(
                call_id, page=p, envelope=envelope, sort=s), max(args.requests // 2, 1))
            stored = tuple(a + b / 3 for a, b in zip(stored, one, strict=True))
            recomputed = tuple(a + b / 3 for a, b in zip(recomputed, other, strict=True))
        with in_process.app.app_context():
            same = ([r.application_id for r in ranking.ranking_page(call_id, page=page, sort=sort).rows]
                    == [r.application_id for r in ranking.recomputed_page(call_id, page=page, sort=sort).rows])
        print(f"{label}: stored {stored[0]:.1f} ms wall ({stored[2]:.1f} ms SQL, {stored[3]} statements), "
              f"recomputed {recomputed[0]:.1f} ms wall ({recomputed[2]:.1f} ms SQL, {recomputed[3]} statements): "
              f"ratio {recomputed[0] / stored[0]:.0f}× (SQL {recomputed[2] / max(stored[2], 0.001):.0f}×); "
              f"same rows: {same}")
    in_process.close()


if __name__ == "__main__":
    main()
