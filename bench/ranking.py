"""The ranking of the bench's big call, in-process: CPU and SQL time per request of its page and of its
CSV export (issue #12), on the data set of bench/dataset.py (built first when it is missing), then the
stored ranking against the recomputation it replaced, in the same run.

    .venv/bin/python -m bench.ranking [--database-url URL] [--requests 10] [--scale 1]

The application runs in this process on the production configuration, as in bench/run.py's in-process
columns: its CPU per request does not depend on the machine's load, the SQL time does; the ratios of the
last part (a page of the stored ranking over a page recomputed from the reviews, measured alternately in
the same minutes) hold under load. ``--scale 10`` builds a big call of 100,000 applications (in a
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=dataset.BENCH_DATABASE_URL)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--scale", type=float, default=1.0, help="of the data set, when it is built")
    args = parser.parse_args(argv)
    use_server_environment(args.database_url)
    if not database_exists(args.database_url):
        dataset.build(args.database_url, args.scale)
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
