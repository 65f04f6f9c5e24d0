"""The ``notifications`` blueprint: defined in :mod:`.inbox` (the bell, preferences, following a
programme), extended by :mod:`.monitor` (the managers' delivery monitor); importing this package
registers them all."""

from grants.notifications.views import monitor
from grants.notifications.views.inbox import bp

__all__ = ["bp", "monitor"]
