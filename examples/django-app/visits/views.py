import socket

from django.http import HttpResponse

from .models import Visit


def index(request):
    Visit.objects.create(path=request.path[:200], user_agent=request.headers.get("User-Agent", "")[:300])
    count = Visit.objects.count()
    return HttpResponse(
        f"<!doctype html><title>timonel demo</title>"
        f"<h1>Hello from Django</h1><p>visit {count}, served by {socket.gethostname()}</p>\n"
    )
