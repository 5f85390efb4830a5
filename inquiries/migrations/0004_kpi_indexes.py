from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inquiries", "0003_one_open_inquiry_per_conversation"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="inquiry",
            index=models.Index(fields=["first_responded_at"], name="inquiry_first_responded_idx"),
        ),
        migrations.AddIndex(
            model_name="inquiry",
            index=models.Index(fields=["resolved_at"], name="inquiry_resolved_idx"),
        ),
    ]
