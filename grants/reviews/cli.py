"""``flask reviews verify-scores``: prove that every stored review score (what the ranking reads) equals
the score its marks give."""

from __future__ import annotations

import click
from flask.cli import AppGroup

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
