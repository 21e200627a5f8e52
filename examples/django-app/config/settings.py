"""Settings, all from the environment (twelve-factor): the same image runs everywhere.

SECRET_KEY          required
DJANGO_DEBUG        "1"/"true" to turn debug on (default off)
ALLOWED_HOSTS       comma-separated host names (default "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS comma-separated origins, e.g. "https://shop.example.com"
DATABASE_URL        postgres://USER:PASSWORD@HOST:PORT/NAME, or else
POSTGRES_HOST, POSTGRES_PORT (5432), POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD;
                    with neither, a SQLite file next to manage.py (local development)
POSTGRES_CONNECT_TIMEOUT seconds (default 3), so a health check answers fast when the
                    database is away
"""
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is not set: give the application a long random SECRET_KEY in its environment")

DEBUG = os.environ.get("DJANGO_DEBUG", "").lower() in ("1", "true", "yes", "on")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "visits",
]

MIDDLEWARE = [
    # First: probes answer before the host check (a kubelet asks by the pod's IP address).
    "visits.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {},
    }
]


def database():
    timeout = int(os.environ.get("POSTGRES_CONNECT_TIMEOUT", "3"))
    url = os.environ.get("DATABASE_URL")
    if url:
        u = urlparse(url)
        if u.scheme not in ("postgres", "postgresql"):
            raise ImproperlyConfigured(f"DATABASE_URL must start with postgres://, not {u.scheme}://")
        conf = {
            "NAME": unquote(u.path.lstrip("/")),
            "USER": unquote(u.username or ""),
            "PASSWORD": unquote(u.password or ""),
            "HOST": u.hostname or "",
            "PORT": str(u.port or 5432),
        }
    elif os.environ.get("POSTGRES_HOST"):
        conf = {
            "NAME": os.environ.get("POSTGRES_DB", "app"),
            "USER": os.environ.get("POSTGRES_USER", "app"),
            "PASSWORD": os.environ.get("POSTGRES_PASSWORD", ""),
            "HOST": os.environ["POSTGRES_HOST"],
            "PORT": os.environ.get("POSTGRES_PORT", "5432"),
        }
    else:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
    conf.update(
        ENGINE="django.db.backends.postgresql",
        CONN_MAX_AGE=60,
        CONN_HEALTH_CHECKS=True,
        OPTIONS={"connect_timeout": timeout},
    )
    return conf


DATABASES = {"default": database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Behind the ingress controller, which terminates TLS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
