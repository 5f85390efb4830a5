"""The cross-stage KPI engine: figures per period and scope, computed in the database from the
history rows of accounts, pipeline and inquiries (see engine.py for the families and their
shapes)."""
