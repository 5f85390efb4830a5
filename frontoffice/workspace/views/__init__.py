"""Workspace views, one module per area: ``base`` (home, sign-in), ``customers`` (Customer 360),
``search``, ``sales``; ``support`` and ``supervisor`` for the support and managers' pages."""
