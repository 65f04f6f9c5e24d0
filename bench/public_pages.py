"""CPU per request of the public pages for an anonymous visitor, in process (Flask's test client, no
HTTP server, no load generator): what a web worker spends on each, page cache on and off.

    .venv/bin/python -m bench.public_pages [--requests 400] [--database-url URL]

On the bench data set (``python -m bench.dataset``), in the production configuration (PostgreSQL,
the page cache on Redis database 13 as bench/run.py uses). Each visitor is a new client (a new
session, as a crowd of first visits) unless ``--same-visitor`` (a browser coming back: its 304s).
Figures are medians of 5 rounds of ``--requests`` requests, in ms of process CPU per request.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time

PATHS = ("/appels/", "/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/subventia_bench"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    os.environ.update({
        "SUBVENTIA_CONFIG": "production", "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": arguments.database_url, "REDIS_URL": arguments.redis_url,
        "GRANTOR_NAME": "Région (bench)", "GRANTOR_SIRET": "23590001800016",
        "PAGE_CACHE_KEY_PREFIX": f"bench-{secrets.token_hex(4)}:",
    })
    from grants import create_app

    app = create_app()
    slug = first_call_slug(app)
    paths = (*PATHS, f"/appels/{slug}")
    cached = "PAGE_CACHE_SECONDS" in app.config
    modes = [("rendered", 0), ("cached", 300)] if cached else [("rendered", None)]
    print(f"{arguments.requests} requests x {arguments.rounds} rounds; ms of CPU per request (median of rounds)")
    for mode, seconds in modes:
        if seconds is not None:
            app.config["PAGE_CACHE_SECONDS"] = seconds
        for path in paths:
            figures = [cpu_per_request(app, path, arguments.requests) for _ in range(arguments.rounds)]
            print(f"{mode:9} {path:40} {statistics.median(figures):7.2f} ms  (rounds {min(figures):.2f}–{max(figures):.2f})")
        if seconds:
            client = app.test_client()
            etag = client.get("/appels/").headers["ETag"]
            start = time.process_time()
            for _ in range(arguments.requests):
                assert client.get("/appels/", headers={"If-None-Match": etag}).status_code == 304
            print(f"{'304':9} {'/appels/ (same visitor, If-None-Match)':40} "
                  f"{(time.process_time() - start) * 1000 / arguments.requests:7.2f} ms")
    if cached:  # this run's keys (its version key never expires by itself)
        import redis

        client = redis.Redis.from_url(arguments.redis_url)
        keys = list(client.scan_iter(f"{os.environ['PAGE_CACHE_KEY_PREFIX']}*"))
        if keys:
            client.delete(*keys)


def first_call_slug(app) -> str:
    from grants.database import db
    from grants.models import Call, CallState

    with app.app_context():
        return db.session.scalar(db.select(Call.slug).where(Call.state == CallState.OPEN).order_by(Call.id).limit(1))


def cpu_per_request(app, path: str, requests: int) -> float:
    app.test_client().get(path)  # warm: templates compiled, the page in the cache
    start = time.process_time()
    for _ in range(requests):
        response = app.test_client().get(path)
        assert response.status_code == 200, (path, response.status_code)
    return (time.process_time() - start) * 1000 / requests


if __name__ == "__main__":
    main()
