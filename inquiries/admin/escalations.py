"""Admin for escalations (being written)."""
