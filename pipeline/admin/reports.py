"""Admin for reports (being written)."""
