"""The ``awards`` blueprint: defined in :mod:`.decisions` (an application's decision page), extended by
:mod:`.committee` and :mod:`.dashboard` (the envelope dashboard and exports); importing this package
registers them all."""

from grants.awards.views import committee, dashboard
from grants.awards.views.decisions import bp

__all__ = ["bp", "committee", "dashboard"]
