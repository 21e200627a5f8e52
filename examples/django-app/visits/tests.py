"""The application's own tests: `python manage.py test` (against PostgreSQL when the
environment names one: the lab test runs them in the image)."""
import json
import os
from unittest import mock

from django.db import OperationalError
from django.test import TestCase, override_settings

from config import settings as project_settings

from .models import Visit


@override_settings(ALLOWED_HOSTS=["testserver"])
class PagesTest(TestCase):
    def test_the_front_page_records_each_visit(self):
        first = self.client.get("/")
        second = self.client.get("/", HTTP_USER_AGENT="probe/1.0")
        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertContains(second, "visit 2,")
        self.assertEqual(Visit.objects.count(), 2)
        self.assertEqual(Visit.objects.first().user_agent, "probe/1.0")

    def test_healthz_is_ok_with_the_database_and_every_migration(self):
        r = self.client.get("/healthz")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(json.loads(r.content), {"status": "ok", "database": "ok"})

    def test_probes_answer_whatever_the_host_header(self):
        self.assertEqual(self.client.get("/healthz", HTTP_HOST="10.244.1.7:8000").status_code, 200)
        self.assertEqual(self.client.get("/livez", HTTP_HOST="10.244.1.7:8000").status_code, 200)
        self.assertEqual(self.client.get("/", HTTP_HOST="10.244.1.7:8000").status_code, 400)

    def test_healthz_is_503_while_migrations_are_pending(self):
        migration = mock.Mock(app_label="visits")
        migration.name = "0002_more"
        pending = [(migration, False)]
        with mock.patch("visits.health.MigrationExecutor") as executor:
            executor.return_value.migration_plan.return_value = pending
            r = self.client.get("/healthz")
        self.assertEqual(r.status_code, 503)
        body = json.loads(r.content)
        self.assertEqual((body["status"], body["pending"]), ("migrations pending", ["visits.0002_more"]))

    def test_healthz_is_503_without_the_database_and_livez_still_200(self):
        with mock.patch("visits.health.connection.cursor", side_effect=OperationalError("connection refused\nmore")):
            r = self.client.get("/healthz")
            self.assertEqual(self.client.get("/livez").status_code, 200)
        self.assertEqual(r.status_code, 503)
        self.assertEqual(json.loads(r.content), {"status": "unavailable", "database": "connection refused"})


class SettingsTest(TestCase):
    def test_database_url_and_postgres_variables(self):
        env = {"DATABASE_URL": "postgres://shop:p%40ss@db.example:5433/shop", "POSTGRES_CONNECT_TIMEOUT": "5"}
        with mock.patch.dict(os.environ, env, clear=True):
            db = project_settings.database()
        self.assertEqual(
            (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]),
            ("django.db.backends.postgresql", "shop", "shop", "p@ss", "db.example", "5433"),
        )
        self.assertEqual(db["OPTIONS"], {"connect_timeout": 5})
        env = {"POSTGRES_HOST": "web-postgres", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "d"}
        with mock.patch.dict(os.environ, env, clear=True):
            db = project_settings.database()
        self.assertEqual((db["HOST"], db["PORT"], db["NAME"], db["USER"]), ("web-postgres", "5432", "d", "app"))
        with mock.patch.dict(os.environ, {}, clear=True):
            self.assertEqual(project_settings.database()["ENGINE"], "django.db.backends.sqlite3")
