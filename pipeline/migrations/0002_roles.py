from django.db import migrations

CAMPAIGN_EDIT = ["view_campaign", "add_campaign", "change_campaign"]


def grant(apps, schema_editor):
    from accounts.roles import MANAGER, MARKETER, SALES_REP, SUPPORT_AGENT, grant_role_permissions

    grant_role_permissions(
        apps,
        "pipeline",
        {
            SALES_REP: ["view_campaign"],
            SUPPORT_AGENT: ["view_campaign"],
            MARKETER: [*CAMPAIGN_EDIT, "delete_campaign"],
            MANAGER: CAMPAIGN_EDIT,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial"), ("accounts", "0002_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
