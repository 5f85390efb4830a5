from django.db import migrations


def grant(apps, schema_editor):
    from accounts.roles import MANAGER, MARKETER, SALES_REP, SUPPORT_AGENT, grant_role_permissions

    read = ["view_kpisnapshot", "view_kpirun"]
    grant_role_permissions(
        apps,
        "frontoffice",
        {
            # Everyone on staff reads the figures; managers and marketers start computations.
            SALES_REP: read,
            SUPPORT_AGENT: read,
            MARKETER: [*read, "add_kpirun", "compute_kpis"],
            MANAGER: [*read, "add_kpirun", "compute_kpis"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("frontoffice", "0001_kpi_snapshots"), ("accounts", "0002_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
