"""Personal data under control (GDPR): every column's classification (``inventory``), a person's
export of their data (``exports``, built by the worker), closing an account (``closure``), retention
applied every night (``retention``), the privacy notice and the record of processing (``register``).

It reads every domain area below it (it sits between the notifications and the awards) and is read
only by the pages on top and by the notifications' monitor."""
