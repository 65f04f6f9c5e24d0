"""``flask reviews verify-scores``: prove that every stored review score (what the ranking reads) equals
the score its marks give; ``verify-ranking``: that every stored ranking equals a recomputation from the
reviews; ``refresh-rankings``: compute them now."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from grants.calls.models import Call
from grants.database import db
from grants.reviews import ranking
from grants.reviews.models import CallRanking
from grants.reviews.scoring import score_mismatches

reviews_cli = AppGroup("reviews", help="Évaluations et classement.")


@reviews_cli.command("verify-scores")
def verify_scores_command():
    """Compare each submitted review's stored score with its marks; exit 1 if any differs."""
    found = score_mismatches()
    if not found:
        click.echo("Scores consistent: every stored review score equals the one computed from its marks.")
        return
    for item in found:
        click.echo(f"review {item.review_id}: stored {item.stored if item.stored is not None else 'none'}, "
                   f"computed {item.computed if item.computed is not None else 'none'}")
    click.echo(f"{len(found)} review score(s) differ from their marks.")
    raise SystemExit(1)


@reviews_cli.command("refresh-rankings")
@click.option("--call", "call_ids", type=int, multiple=True, help="Only this call (repeatable).")
def refresh_rankings_command(call_ids):
    """Compute the stored ranking of every call (or of the given ones) now, whether stale or not."""
    ids = list(call_ids) or list(db.session.scalars(sa.select(Call.id).order_by(Call.id)))
    for call_id in ids:
        ranking.refresh_ranking(call_id, force=True)
        db.session.commit()
    click.echo(f"{len(ids)} call ranking(s) refreshed.")


@reviews_cli.command("verify-ranking")
@click.option("--call", "call_ids", type=int, multiple=True, help="Only this call (repeatable).")
def verify_ranking_command(call_ids):
    """Compare each call's stored ranking with a recomputation from its reviews; exit 1 if any row differs
    in a ranking that says it is current (a stale one is reported, not counted)."""
    ids = list(call_ids) or list(db.session.scalars(sa.select(Call.id).order_by(Call.id)))
    stale = set(db.session.scalars(sa.select(CallRanking.call_id).where(
        CallRanking.ranked_version < CallRanking.version)))
    wrong = 0
    for call_id in ids:
        found = ranking.ranking_mismatches(call_id)
        if not found:
            continue
        if call_id in stale:
            click.echo(f"call {call_id}: stale (a refresh is due), {len(found)} row(s) not yet current")
            continue
        wrong += 1
        shown = ", ".join(str(i) for i in found[:20]) + (" …" if len(found) > 20 else "")
        click.echo(f"call {call_id}: {len(found)} stored row(s) differ from the recomputation: applications {shown}")
    if wrong:
        click.echo(f"{wrong} call ranking(s) differ from their reviews.")
        raise SystemExit(1)
    click.echo(f"Rankings consistent: the stored ranking of {len(ids)} call(s) equals a recomputation.")
