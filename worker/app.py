"""Entry point for ``celery -A worker.app worker`` / ``beat``: the Flask app, then its Celery app."""

import os

from grants import create_app

flask_app = create_app(os.environ.get("SUBVENTIA_CONFIG", "production"))
celery_app = flask_app.extensions["celery"]
