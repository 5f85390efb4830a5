"""Admin for quotes (being written)."""
