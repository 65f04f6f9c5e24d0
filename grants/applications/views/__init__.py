"""The ``applications`` blueprint: defined in :mod:`.applicant` (the applicant's pages), extended by
:mod:`.manage` (the managers' pages) and :mod:`.attachments`; importing this package registers them all."""

from grants.applications.views import attachments, bundles, manage
from grants.applications.views.applicant import bp

__all__ = ["attachments", "bp", "bundles", "manage"]
