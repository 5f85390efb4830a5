from django.apps import AppConfig


class FrontofficeConfig(AppConfig):
    name = "frontoffice"
    verbose_name = "Frontoffice"
