"""Configuration: the environment is read when an app is built (create_app), never when config.py is
imported; the beat schedule follows the app's configuration; the demo's funder is not a default of the
service."""

from __future__ import annotations

import pytest

from grants import create_app
from grants.demo import settings as demo
from tests.conftest import config_for


def test_the_environment_is_read_by_create_app(monkeypatch, tmp_path):
    # config.py was imported long before this test: what counts is the environment at create_app.
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1234")
    monkeypatch.setenv("CELERY_QUEUE", "subventia-config-test")
    monkeypatch.setenv("TIME_ZONE", "Europe/Brussels")
    app = create_app(config_for("sqlite://", tmp_path))
    assert app.config["MAX_UPLOAD_BYTES"] == 1234
    assert app.config["MAX_CONTENT_LENGTH"] == 1234 * app.config["MAX_UPLOAD_FILES"] + 1024 * 1024
    assert app.config["CELERY"]["task_default_queue"] == "subventia-config-test"
    assert app.config["CELERY"]["timezone"] == app.config["BABEL_DEFAULT_TIMEZONE"] == "Europe/Brussels"

    monkeypatch.setenv("MAX_UPLOAD_BYTES", "5678")
    assert create_app(config_for("sqlite://", tmp_path)).config["MAX_UPLOAD_BYTES"] == 5678
    assert app.config["MAX_UPLOAD_BYTES"] == 1234  # an app keeps what it read


def test_a_value_set_by_a_configuration_class_wins_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("UPLOAD_FOLDER", "/elsewhere")
    app = create_app(config_for("sqlite://", tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"
    assert app.config["UPLOAD_FOLDER"] == str(tmp_path / "uploads")


def test_the_beat_schedule_is_bound_from_the_apps_configuration(tmp_path):
    app = create_app(config_for("sqlite://", tmp_path, NOTIFICATION_SCAN_SECONDS=42))
    schedule = app.extensions["celery"].conf.beat_schedule
    for scan in ("deadline-reminders", "review-reminders", "manager-digests"):
        assert schedule[scan]["schedule"] == 42.0
    assert "open-and-close-calls" in schedule


def test_the_embedded_default_presents_the_demo_funder(monkeypatch, tmp_path):
    for name in ("GRANTOR_NAME", "GRANTOR_SIRET", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app("development")
    assert (app.config["GRANTOR_NAME"], app.config["GRANTOR_SIRET"]) == (demo.GRANTOR_NAME, demo.GRANTOR_SIRET)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'subventia.sqlite3'}"
    assert app.instance_path == str(tmp_path)

    monkeypatch.setenv("GRANTOR_NAME", "Département du Nord")
    monkeypatch.setenv("GRANTOR_SIRET", "22590001700014")
    app = create_app("development")
    assert (app.config["GRANTOR_NAME"], app.config["GRANTOR_SIRET"]) == ("Département du Nord", "22590001700014")


def test_production_names_its_funder_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://subventia@db.internal/subventia")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    for name in ("GRANTOR_NAME", "GRANTOR_SIRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="GRANTOR_NAME, GRANTOR_SIRET"):
        create_app("production")
    monkeypatch.setenv("GRANTOR_NAME", "Département du Nord")
    monkeypatch.setenv("GRANTOR_SIRET", "22590001700014")
    app = create_app("production")
    assert (app.config["GRANTOR_NAME"], app.config["GRANTOR_SIRET"]) == ("Département du Nord", "22590001700014")


def test_production_compiles_each_template_once(monkeypatch, tmp_path):
    for name, value in (("SECRET_KEY", "x" * 40), ("DATABASE_URL", "postgresql://subventia@db.internal/subventia"),
                        ("REDIS_URL", "redis://127.0.0.1:6379/0"), ("INSTANCE_PATH", str(tmp_path)),
                        ("GRANTOR_NAME", "Département du Nord"), ("GRANTOR_SIRET", "22590001700014")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app("production")
    assert app.jinja_env.auto_reload is False
    assert app.debug is False and app.config["PROPAGATE_EXCEPTIONS"] is None  # FLASK_DEBUG is not for production
