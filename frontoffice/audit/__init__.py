"""The audit log: who changed what on customers, deals and inquiries, and when.

``frontoffice.audit.services.audit_record`` writes one ``AuditEntry`` inside the caller's
transaction (a rolled-back change leaves no entry); the services of ``accounts``, ``pipeline``
and ``inquiries`` call it, so the API, the admin and tasks are covered alike. The admin shows
the log read-only to the Admin role (``frontoffice.audit.admin``).
"""
