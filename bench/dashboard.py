"""What the envelope dashboard costs this process: ``.venv/bin/python -m bench.dashboard``.

In-process (Flask test client, no server, no network), with the production configuration, on a
bench database of its own (``subventia_bench_dashboard``, built by :func:`bench.dataset.build` at
``--scale``, 1 = 10,000 applications in the big call, when missing or with ``--rebuild``): for each
page, the SQL statements of one request, then the CPU of this process per request and the SQL time
per request over ``--requests`` requests, alternated page by page over ``--rounds`` rounds so that
the machine's load weighs the same on each. The CPU of the envelope pages is given as a ratio to
the baseline's, the signed-in layout's floor (the notification preferences: a form and the layout,
no query of its own), measured in the same rounds: run it on the code before and after a change and
compare the ratios, not the milliseconds. PostgreSQL's own work is not in the CPU column.

The data set loads the ledger by COPY, past the services: when the day summary of the ledger
(``envelope_ledger_days``) exists, it is filled from the ledger first, as the migration's backfill
does (:func:`grants.awards.services.rebuild_ledger_days`). Prints a Markdown table; writes nothing
else but the profiles asked with ``--profiles``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import psycopg

from bench import dataset
from bench.run import EMAILS, InProcess, database_exists, use_server_environment

DATABASE_URL = os.environ.get("BENCH_DASHBOARD_DATABASE_URL",
                              "postgresql://postgres@127.0.0.1:5432/subventia_bench_dashboard")
PAGES = [  # key, label, role, path (formatted with the targets)
    ("layout", "Baseline: signed-in layout floor (notification preferences)", "applicant", "/compte/notifications"),
    ("envelopes", "Envelope dashboard", "manager", "/gestion/enveloppes"),
    ("call_envelope", "Envelope page of the 10,000-application call", "manager",
     "/gestion/appels/{big_call}/enveloppe"),
]


def targets(url: str) -> dict:
    with psycopg.connect(url) as connection:
        big_call = connection.execute("SELECT id FROM calls WHERE slug = %s", (dataset.BIG_CALL_SLUG,)).fetchone()[0]
        counts = {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                  for table in ("applications", "decisions", "envelope_movements")}
    return {"big_call": big_call, **counts}


def fill_ledger_days(in_process: InProcess) -> str:
    """Fill the day summary from the ledger where the code has one (the data set's COPY skips it)."""
    try:
        from grants.awards.services import rebuild_ledger_days
    except ImportError:
        return "no day summary in this code"
    with in_process.app.app_context():
        days = rebuild_ledger_days()
        in_process.db.session.commit()
    return f"day summary rebuilt from the ledger: {days} rows"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--scale", type=float, default=1.0, help="of bench.dataset: 1 = 10,000 applications in the big call")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the bench database first")
    parser.add_argument("--requests", type=int, default=50, help="requests per page and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profiles", type=Path, help="folder for one pyinstrument profile per page")
    args = parser.parse_args(argv)

    use_server_environment(args.database_url)
    if args.rebuild or not database_exists(args.database_url):
        dataset.build(args.database_url, args.scale)
    found = targets(args.database_url)
    in_process = InProcess()
    cpu: dict[str, list[float]] = {key: [] for key, *_ in PAGES}
    sql: dict[str, list[float]] = {key: [] for key, *_ in PAGES}
    statements: dict[str, int] = {}
    try:
        print(fill_ledger_days(in_process), flush=True)
        paths = {key: path.format(**found) for key, _label, _role, path in PAGES}
        clients = {key: in_process.client(role, EMAILS[role]) for key, _label, role, _path in PAGES}
        for key in paths:
            for _ in range(3):  # warm-up: templates compiled, caches filled
                in_process.request(clients[key], "GET", paths[key])
            response, statements[key] = in_process.measure(clients[key], "GET", paths[key])
            if response.status_code != 200:
                raise RuntimeError(f"{paths[key]}: {response.status_code}")
        for _ in range(args.rounds):
            for key in paths:
                in_process.sql_seconds = 0.0
                started = time.process_time()
                for _ in range(args.requests):
                    in_process.request(clients[key], "GET", paths[key])
                cpu[key].append((time.process_time() - started) * 1000 / args.requests)
                sql[key].append(in_process.sql_seconds * 1000 / args.requests)
        if args.profiles:
            from pyinstrument import Profiler

            args.profiles.mkdir(parents=True, exist_ok=True)
            for key in paths:
                profiler = Profiler(interval=0.0005)
                profiler.start()
                for _ in range(args.requests):
                    in_process.request(clients[key], "GET", paths[key])
                profiler.stop()
                (args.profiles / f"{key}.txt").write_text(profiler.output_text(unicode=True, color=False))
    finally:
        in_process.close()
    baseline = statistics.median(cpu["layout"])
    print()
    print(f"Data set: {found['applications']:,} applications, {found['decisions']:,} decisions, "
          f"{found['envelope_movements']:,} ledger movements; {args.rounds} rounds of {args.requests} requests a page.")
    print()
    print("| page | request | SQL statements / request | app CPU ms / request (median of rounds) "
          "| ratio to the baseline | SQL ms / request |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for key, label, _role, path in PAGES:
        median = statistics.median(cpu[key])
        print(f"| {label} | `GET {path.format(**found)}` | {statements[key]} | {median:.2f} | "
              f"{median / baseline:.2f} | {statistics.median(sql[key]):.2f} |")


if __name__ == "__main__":
    main()
