from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = _("Marketing and sales")

    def ready(self) -> None:
        from pipeline import receivers  # noqa: F401  (connects the signal receivers)
