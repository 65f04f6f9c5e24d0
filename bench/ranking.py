"""The ranking of the bench's big call, in-process: CPU and SQL time per request of its page and of its
CSV export (issue #12), on the data set of bench/dataset.py (built first when it is missing).

    .venv/bin/python -m bench.ranking [--database-url URL] [--requests 10]

The application runs in this process on the production configuration, as in bench/run.py's in-process
columns: its CPU per request does not depend on the machine's load, the SQL time does.
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=dataset.BENCH_DATABASE_URL)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args(argv)
    use_server_environment(args.database_url)
    if not database_exists(args.database_url):
        dataset.build(args.database_url)
    in_process = InProcess()
    client = in_process.client("manager", EMAILS["manager"])
    with in_process.app.app_context():
        from grants.calls.models import Call

        call = in_process.db.session.scalar(in_process.db.select(Call).where(Call.slug == dataset.BIG_CALL_SLUG))
        call_id = call.id
    for label, path in [
        ("ranking, page 1", f"/gestion/appels/{call_id}/classement"),
        ("ranking, page 50, sorted by normalised score", f"/gestion/appels/{call_id}/classement?tri=normalised&page=50"),
        ("ranking, disagreements only", f"/gestion/appels/{call_id}/classement?desaccord=1"),
        ("CSV export (every row)", f"/gestion/appels/{call_id}/classement.csv"),
    ]:
        cpu, sql, statements, size = measure(in_process, client, path, args.requests)
        print(f"{label}: {cpu:.1f} ms CPU, {sql:.1f} ms SQL, {statements} statements, {size:,} bytes per request")
    in_process.close()


if __name__ == "__main__":
    main()
