"""The JSON API for staff tools and the finance system (token-authenticated)."""
