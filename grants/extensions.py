"""Flask extensions, created unbound and initialised by create_app()."""

from __future__ import annotations

from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from grants.database import db

migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
mail = Mail()
# Storage comes from RATELIMIT_STORAGE_URI: memory:// embedded, Redis in production.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Public pages for anonymous visitors (grants/page_cache.py configures it: Redis or memory).
cache = Cache()

__all__ = ["db", "migrate", "login_manager", "csrf", "babel", "mail", "limiter", "cache"]
