from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_notifications_customer_since_sales_touchpoints"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="touchpoint",
            index=models.Index(
                condition=models.Q(
                    ("campaign__isnull", False), models.Q(("kind", "order"), _negated=True)
                ),
                fields=["contact", "occurred_at", "id"],
                name="touchpoint_campaign_touch_idx",
            ),
        ),
    ]
