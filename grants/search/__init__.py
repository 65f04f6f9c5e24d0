"""Finding dossiers across calls and years (issue #16): the search service and its page."""
