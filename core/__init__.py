"""Shared infrastructure: config, database, errors, auth, clock, i18n."""
