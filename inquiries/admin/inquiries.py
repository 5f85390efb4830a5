"""Admin for inquiries (being written)."""
