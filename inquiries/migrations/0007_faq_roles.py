from django.db import migrations


def grant(apps, schema_editor):
    from accounts.roles import MANAGER, MARKETER, SALES_REP, SUPPORT_AGENT, grant_role_permissions

    reviewer = [
        "view_faqcandidate",
        "view_faqcandidatemember",
        "view_faqcandidatechange",
        "review_faqcandidate",
        "view_faqentry",
        "add_faqentry",
        "change_faqentry",
    ]
    grant_role_permissions(
        apps,
        "inquiries",
        {
            # Agents review the candidates and publish FAQ entries; managers also start mining
            # runs and delete entries; reps and marketers read the FAQ to help customers.
            SUPPORT_AGENT: reviewer,
            MANAGER: [*reviewer, "build_faqcandidates", "delete_faqentry"],
            SALES_REP: ["view_faqentry"],
            MARKETER: ["view_faqentry"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("inquiries", "0006_faq")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
