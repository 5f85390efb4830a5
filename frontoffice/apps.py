from django.apps import AppConfig


class FrontofficeConfig(AppConfig):
    name = "frontoffice"
    verbose_name = "Frontoffice"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from frontoffice.workspace.language import remember_language_at_sign_in

        # The workspace language a staff member chose travels in their session.
        user_logged_in.connect(remember_language_at_sign_in, dispatch_uid="workspace-language")
