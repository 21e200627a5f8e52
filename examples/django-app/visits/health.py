"""Probe endpoints, answered before any other middleware (no host check, no session):

/livez    the process answers: 200 (a liveness probe; never depends on the database, so an
          outage of the database does not restart every pod)
/healthz  ready to serve: the database answers and no migration is pending: 200, else 503
          with the reason (a readiness probe: a pod of a new release waits for its
          migrations Job)
"""
import json

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse


def _answer(code, **body):
    return HttpResponse(json.dumps(body), status=code, content_type="application/json")


def healthz():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as e:
        # Django closes a connection that failed at the end of the request (and checks a
        # kept one before reuse: CONN_HEALTH_CHECKS), so the next probe connects anew.
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return _answer(503, status="unavailable", database=first_line)
    if pending:
        names = [f"{m.app_label}.{m.name}" for m, _backwards in pending]
        return _answer(503, status="migrations pending", database="ok", pending=names)
    return _answer(200, status="ok", database="ok")


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/livez":
            return _answer(200, status="ok")
        if request.path == "/healthz":
            return healthz()
        return self.get_response(request)
