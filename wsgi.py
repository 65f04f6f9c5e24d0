"""WSGI entry point: ``gunicorn wsgi:app`` (production) and ``flask run`` (embedded default)."""

from grants import create_app

app = create_app()
