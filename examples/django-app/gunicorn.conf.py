"""gunicorn reads this file from its working directory (/app). Environment variables:
PORT (8000), WEB_CONCURRENCY (workers, 2), GUNICORN_CMD_ARGS (anything else)."""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
# Kubernetes stops a pod with SIGTERM, then waits terminationGracePeriodSeconds (30).
graceful_timeout = 25
timeout = 30
