from django.db import migrations


def grant(apps, schema_editor):
    from accounts.roles import MANAGER, MARKETER, SALES_REP, SUPPORT_AGENT, grant_role_permissions

    def edit(*models):
        return [f"{verb}_{model}" for model in models for verb in ("view", "add", "change")]

    def view(*models):
        return [f"view_{model}" for model in models]

    grant_role_permissions(
        apps,
        "pipeline",
        {
            # Scoring rules and the screening policy are the Admin's (Admin gets everything).
            SALES_REP: [
                *view("campaign", "leadform", "leadimport", "leadscore", "leadscorechange"),
                *view("scoringrule", "screeningpolicy"),
                "view_followuptask",
                "change_followuptask",
            ],
            SUPPORT_AGENT: view("campaign", "leadscore"),
            MARKETER: [
                *edit("leadform", "leadimport"),
                "delete_leadform",
                *view("leadscore", "leadscorechange", "scoringrule", "screeningpolicy"),
                "view_followuptask",
            ],
            MANAGER: [
                *edit("leadimport", "followuptask"),
                *view("leadform", "leadscore", "leadscorechange", "scoringrule", "screeningpolicy"),
            ],
        },
    )
    policy = apps.get_model("pipeline", "ScreeningPolicy")
    policy.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0003_lead_capture_scoring_imports"), ("accounts", "0003_list_order_indexes")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
