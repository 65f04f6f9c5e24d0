"""The ``calls`` blueprint: defined in :mod:`.public` (the public pages), extended by :mod:`.manage`
(the managers' calls), :mod:`.grid` (criteria, documents, co-funders) and :mod:`.programmes`;
importing this package registers them all."""

from grants.calls.views import grid, manage, programmes
from grants.calls.views.public import bp

__all__ = ["bp", "grid", "manage", "programmes"]
