from django.db import migrations

STAGE_DEFAULTS = [
    # stage, default probability (%), stalled after this many days in the stage
    ("list", 10, 30),
    ("proposal", 25, 21),
    ("opportunity", 50, 30),
    ("quote", 75, 14),
    ("won", 100, None),
    ("lost", 0, None),
]


def grant(apps, schema_editor):
    from accounts.roles import MANAGER, MARKETER, SALES_REP, SUPPORT_AGENT, grant_role_permissions

    def edit(*models):
        return [f"{verb}_{model}" for model in models for verb in ("view", "add", "change")]

    def view(*models):
        return [f"view_{model}" for model in models]

    settings_views = view("dealstagesetting", "salespolicy", "product")
    grant_role_permissions(
        apps,
        "pipeline",
        {
            # Reps see and edit their own deals, quotes and reports (object rules in
            # pipeline.selectors); managers their teams'; agents read the deals of the
            # customers they serve; marketers read every deal for campaign attribution.
            SALES_REP: [
                *edit("deal", "quote", "quoteline", "dailyreport", "activity"),
                "delete_activity",
                "delete_quoteline",
                "move_deal",
                "send_quote",
                "decide_quote",
                *view("dealstagechange", "dealstall", "quotestatuschange"),
                *settings_views,
            ],
            SUPPORT_AGENT: [
                "view_served_customer_deals",
                *view("deal", "dealstagechange", "quote", "quoteline", "quotestatuschange"),
                "view_product",
            ],
            MARKETER: [
                *view("deal", "dealstagechange", "dealstall"),
                "view_all_deals",
                *settings_views,
            ],
            MANAGER: [
                *edit("deal", "quote", "quoteline"),
                "delete_quoteline",
                "move_deal",
                "reopen_deal",
                "view_team_deals",
                "send_quote",
                "decide_quote",
                *view("dealstagechange", "dealstall", "quotestatuschange"),
                *view("dailyreport", "activity"),
                "change_dailyreport",
                "review_dailyreport",
                *settings_views,
            ],
        },
    )
    setting = apps.get_model("pipeline", "DealStageSetting")
    for stage, probability, stall_after_days in STAGE_DEFAULTS:
        setting.objects.get_or_create(
            stage=stage,
            defaults={"probability": probability, "stall_after_days": stall_after_days},
        )
    apps.get_model("pipeline", "SalesPolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0005_deals_quotes_reports")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
