"""What a page costs this process, without the load: ``.venv/bin/python -m bench.render``.

In-process, on the bench database (bench/dataset.py, built if missing), with the production
configuration: for each page, the SQL statements of one request, then the CPU of this process per
request over ``--requests`` requests (Flask test client, no server, no network; PostgreSQL's own
work is not in it), then a pyinstrument profile over the same number of requests written to
``--profiles`` (one file per page). The pages: the public call list, the application page as the
manager and as the applicant, and the signed-in layout's floor (the notification preferences: a
form and the layout, no query of its own). Prints a Markdown table; writes nothing else.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench import dataset
from bench.run import EMAILS, InProcess, bench_targets, database_exists, use_server_environment

PAGES = [  # key, label, role, path (formatted with bench_targets)
    ("calls", "Public call list", "public", "/appels/"),
    ("manager_application", "Application page (manager)", "manager", "/gestion/dossiers/{reviewed}"),
    ("applicant_application", "Application page (applicant)", "applicant", "/dossiers/{own}"),
    ("layout", "Signed-in layout floor (notification preferences)", "applicant", "/compte/notifications"),
]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=dataset.BENCH_DATABASE_URL)
    parser.add_argument("--requests", type=int, default=200, help="requests per page for the CPU and the profile")
    parser.add_argument("--profiles", type=Path, help="folder for one pyinstrument profile per page")
    args = parser.parse_args(argv)

    use_server_environment(args.database_url)
    if not database_exists(args.database_url):
        dataset.build(args.database_url)
    targets = bench_targets(args.database_url)
    in_process = InProcess()
    rows = []
    try:
        for key, label, role, path in PAGES:
            path = path.format(**targets)
            client = in_process.client(role, EMAILS[role])
            for _ in range(3):  # warm-up: templates compiled, caches filled, the CSRF token made
                in_process.request(client, "GET", path)
            response, statements = in_process.measure(client, "GET", path)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code}")
            in_process.sql_seconds = 0.0
            started = time.process_time()
            for _ in range(args.requests):
                in_process.request(client, "GET", path)
            cpu_ms = (time.process_time() - started) * 1000 / args.requests
            sql_ms = in_process.sql_seconds * 1000 / args.requests
            if args.profiles:
                from pyinstrument import Profiler

                args.profiles.mkdir(parents=True, exist_ok=True)
                profiler = Profiler(interval=0.0005)
                profiler.start()
                for _ in range(args.requests):
                    in_process.request(client, "GET", path)
                profiler.stop()
                (args.profiles / f"{key}.txt").write_text(profiler.output_text(unicode=True, color=False))
            rows.append((label, f"`GET {path}`", statements, cpu_ms, sql_ms))
            print(f"{key}: {statements} queries, {cpu_ms:.2f} ms CPU, {sql_ms:.2f} ms SQL per request", flush=True)
    finally:
        in_process.close()
    print()
    print("| page | request | SQL queries / request | app CPU ms / request | SQL ms / request |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, request, statements, cpu_ms, sql_ms in rows:
        print(f"| {label} | {request} | {statements} | {cpu_ms:.2f} | {sql_ms:.2f} |")


if __name__ == "__main__":
    main()
