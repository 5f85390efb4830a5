from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InquiriesConfig(AppConfig):
    name = "inquiries"
    verbose_name = _("Support inquiries")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from inquiries.models import AssignmentRule, SlaPolicy
        from inquiries.rulebook import rulebook_forget

        for model in (AssignmentRule, SlaPolicy):
            post_save.connect(rulebook_forget, sender=model, dispatch_uid=f"rulebook-{model}")
            post_delete.connect(rulebook_forget, sender=model, dispatch_uid=f"rulebook-{model}-d")
