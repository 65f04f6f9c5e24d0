"""Settings that belong to the demo, not to the service: the funder the demo data are presented as
(named in the SCDL export). The embedded default and the tests use them; a real deployment names
itself with ``GRANTOR_NAME`` and ``GRANTOR_SIRET`` (production refuses to start without them)."""

GRANTOR_NAME = "Région Hauts-de-France"
GRANTOR_SIRET = "20005376700014"
