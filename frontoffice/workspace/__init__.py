"""The staff workspace: server-rendered pages for sales reps, support agents and managers at
/app/. Views are thin: they read through the apps' selectors and write through their services,
with the same permission rules as the API (``frontoffice.workspace.access``)."""
