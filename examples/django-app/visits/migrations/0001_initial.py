from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Visit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(auto_now_add=True)),
                ("path", models.CharField(max_length=200)),
                ("user_agent", models.CharField(blank=True, max_length=300)),
            ],
            options={"ordering": ["-at"]},
        ),
    ]
