"""Admin for deals (being written)."""
