from django.db import migrations


def grant(apps, schema_editor):
    from accounts.roles import ACCOUNTS_ROLE_PERMISSIONS, grant_role_permissions

    grant_role_permissions(apps, "accounts", ACCOUNTS_ROLE_PERMISSIONS)
    # The admin role manages staff users and their groups too.
    grant_role_permissions(apps, "auth", {})
    grant_role_permissions(apps, "authtoken", {})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
