"""The inquiries admin, one module per area; importing them registers the ModelAdmins."""

from inquiries.admin import email, escalations, faq, inquiries  # noqa: F401
