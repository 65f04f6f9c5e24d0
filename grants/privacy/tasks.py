"""The worker's share: building exports, the nightly retention, handing over exports left pending."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from grants.database import db, utcnow
from grants.privacy import exports, retention
from grants.privacy.models import DataExport, ExportStatus


@shared_task(ignore_result=True)
def build_export(export_id: int) -> None:
    try:
        exports.build(export_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        exports.mark_failed(export_id)
        db.session.commit()
        raise


@shared_task(ignore_result=True)
def apply_retention() -> dict:
    return retention.apply()


@shared_task(ignore_result=True)
def requeue_pending_exports() -> int:
    """Exports still pending ten minutes after the request (the broker was down at commit time)."""
    ids = db.session.scalars(db.select(DataExport.id).where(
        DataExport.status == ExportStatus.PENDING, DataExport.requested_at < utcnow() - timedelta(minutes=10))).all()
    db.session.rollback()
    for export_id in ids:
        build_export.delay(export_id)
    return len(ids)
