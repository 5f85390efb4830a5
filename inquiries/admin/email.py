"""Admin for email (being written)."""
