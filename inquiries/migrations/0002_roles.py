from django.db import migrations


def grant(apps, schema_editor):
    from accounts.roles import MANAGER, SALES_REP, SUPPORT_AGENT, grant_role_permissions

    def edit(*models):
        return [f"{verb}_{model}" for model in models for verb in ("view", "add", "change")]

    def view(*models):
        return [f"view_{model}" for model in models]

    history = view("inquirystatuschange", "inquiryassignment", "escalationchange", "slabreach")
    settings_views = view("slapolicy", "assignmentrule", "inboundchannel")
    agent = [
        *edit("inquiry", "message", "phonecall", "savedreply"),
        "assign_inquiry",
        "answer_inquiry",
        "escalate_inquiry",
        "view_team_inquiries",
        "view_escalation",
        "add_escalation",
        *history,
        *settings_views,
    ]
    grant_role_permissions(
        apps,
        "inquiries",
        {
            # Agents work their team's queue; supervisors (managers) also answer escalations
            # and set up routing; reps log inquiries their customers give them and read those
            # of their own customers (object rules in inquiries.selectors).
            SUPPORT_AGENT: agent,
            MANAGER: [
                *agent,
                "change_escalation",
                "answer_escalation",
                "delete_savedreply",
                *edit("assignmentrule", "slapolicy"),
                "view_quarantinedemail",
            ],
            SALES_REP: [
                "view_inquiry",
                "add_inquiry",
                "view_message",
                "view_phonecall",
                "view_escalation",
                "view_inquirystatuschange",
                "view_savedreply",
            ],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("inquiries", "0001_initial"), ("pipeline", "0006_sales_roles_and_defaults")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
