"""Password hashing parameters: what production really uses (the test suite uses a cheap hasher)."""

from __future__ import annotations

from argon2 import Type
from argon2.low_level import ARGON2_VERSION
from flask import Flask

import config
from grants.accounts.passwords import PRODUCTION_HASHER, hash_password, hasher, verify_password


def test_production_hashes_with_argon2id_at_owasp_strength_or_more():
    assert PRODUCTION_HASHER.type is Type.ID
    assert PRODUCTION_HASHER.memory_cost >= 19456  # KiB: OWASP's minimum for argon2id
    assert PRODUCTION_HASHER.time_cost >= 2
    encoded = hash_password("une phrase assez longue")  # outside any app: the production hasher
    assert encoded.startswith(f"$argon2id$v={ARGON2_VERSION}$m={PRODUCTION_HASHER.memory_cost},")
    assert verify_password(encoded, "une phrase assez longue")
    assert not verify_password(encoded, "une autre phrase")


def test_only_the_testing_configuration_asks_for_the_fast_hasher():
    assert config.TestingConfig.PASSWORD_HASHER == "fast"
    for name in ("DevelopmentConfig", "ProductionConfig"):
        app = Flask(name)
        app.config.from_object(getattr(config, name))
        config.resolve_settings(app.config, {})
        with app.app_context():
            assert hasher() is PRODUCTION_HASHER, name


def test_a_garbled_hash_never_verifies():
    assert not verify_password("not-a-hash", "anything")
