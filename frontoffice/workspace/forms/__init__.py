"""Workspace forms: input checking for the page; the services decide (their refusals are
shown on the form's fields through ``base.add_service_errors``)."""
