"""The ``reviews`` blueprint: defined in :mod:`.desk` (the reviewer's desk), extended by :mod:`.manage`
(screening, assignment, ranking); importing this package registers them all."""

from grants.reviews.views import manage
from grants.reviews.views.desk import bp

__all__ = ["bp", "manage"]
