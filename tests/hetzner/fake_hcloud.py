#!/usr/bin/env python3
"""A fake Hetzner Cloud API for the tests: the documented wire format of
https://api.hetzner.cloud/v1 for SSH keys and networks (objects, meta.pagination, the
{"error": {"code", "message", "details"}} envelope, RateLimit-* headers), a bearer token,
and faults on demand. Standard library only.

    fake_hcloud.py --token T [--port P]     prints "listening PORT" once it accepts requests

Test hooks, outside /v1 and without a token:
    GET  /__fake/log      every /v1 request so far: [{"method", "path", "status"}]
    POST /__fake/faults   queue faults: [{"status": 429, "code": "rate_limit_exceeded",
                          "method": "POST", "times": 1, "reset_in": 1}]
"""

import argparse
import base64
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
STATE = {"ssh_keys": {}, "networks": {}}
NEXT_ID = [1000]
LOG = []
FAULTS = []
RATE_LIMIT = 3600
MESSAGES = {
    400: "invalid input",
    401: "unable to authenticate",
    404: "not found",
    409: "uniqueness error",
    423: "resource is locked",
    429: "limit of 3600 requests per hour reached",
    500: "internal server error",
    503: "service unavailable",
}


class ApiError(Exception):
    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


def new_id():
    NEXT_ID[0] += 1
    return NEXT_ID[0]


def fingerprint(public_key):
    parts = public_key.split()
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except Exception:
        raise ApiError(400, "invalid_input", "invalid input in field 'public_key'",
                       {"fields": [{"name": "public_key", "messages": ["invalid public key"]}]})
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def labels_match(labels, selector):
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if term.startswith("!"):
            if term[1:] in labels:
                return False
        elif "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k.rstrip("=")) != v:
                return False
        elif term not in labels:
            return False
    return True


def require(body, *fields):
    missing = [f for f in fields if body.get(f) in (None, "")]
    if missing:
        raise ApiError(400, "invalid_input", "invalid input in field '%s'" % missing[0],
                       {"fields": [{"name": f, "messages": ["Missing data for required field."]} for f in missing]})


def unique_name(kind, body, skip=None):
    for obj in STATE[kind].values():
        if obj["name"] == body.get("name") and obj["id"] != skip:
            raise ApiError(409, "uniqueness_error", "name is already used",
                           {"fields": [{"name": "name"}]})


def create_ssh_key(body):
    require(body, "name", "public_key")
    fp = fingerprint(body["public_key"])
    unique_name("ssh_keys", body)
    if any(k["fingerprint"] == fp for k in STATE["ssh_keys"].values()):
        raise ApiError(409, "uniqueness_error", "SSH key with the same fingerprint already exists",
                       {"fields": [{"name": "public_key"}]})
    key = {"id": new_id(), "name": body["name"], "fingerprint": fp,
           "public_key": body["public_key"].strip(), "labels": body.get("labels") or {},
           "created": now()}
    STATE["ssh_keys"][key["id"]] = key
    return 201, {"ssh_key": key}


def create_network(body):
    require(body, "name", "ip_range")
    unique_name("networks", body)
    subnets = []
    for s in body.get("subnets") or []:
        require(s, "type", "network_zone")
        subnets.append({"type": s["type"], "ip_range": s.get("ip_range"),
                        "network_zone": s["network_zone"], "gateway": "10.0.0.1",
                        "vswitch_id": s.get("vswitch_id")})
    net = {"id": new_id(), "name": body["name"], "ip_range": body["ip_range"], "subnets": subnets,
           "routes": body.get("routes") or [], "servers": [], "load_balancers": [],
           "labels": body.get("labels") or {}, "protection": {"delete": False},
           "expose_routes_to_vswitch": bool(body.get("expose_routes_to_vswitch")),
           "created": now()}
    STATE["networks"][net["id"]] = net
    return 201, {"network": net}


CREATE = {"ssh_keys": create_ssh_key, "networks": create_network}
SINGULAR = {"ssh_keys": "ssh_key", "networks": "network"}


def route(method, path, query, body):
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[0] != "v1" or parts[1] not in STATE:
        raise ApiError(404, "not_found", "not found")
    kind, rest = parts[1], parts[2:]
    store, one = STATE[kind], SINGULAR[kind]
    if not rest:
        if method == "GET":
            items = sorted(store.values(), key=lambda o: o["id"])
            if "name" in query:
                items = [o for o in items if o["name"] == query["name"][0]]
            if "fingerprint" in query:
                items = [o for o in items if o.get("fingerprint") == query["fingerprint"][0]]
            if "label_selector" in query:
                items = [o for o in items if labels_match(o["labels"], query["label_selector"][0])]
            page = max(1, int(query.get("page", ["1"])[0]))
            per_page = min(50, max(1, int(query.get("per_page", ["25"])[0])))
            last = max(1, -(-len(items) // per_page))
            return 200, {kind: items[(page - 1) * per_page:page * per_page], "meta": {"pagination": {
                "page": page, "per_page": per_page, "previous_page": page - 1 if page > 1 else None,
                "next_page": page + 1 if page < last else None, "last_page": last,
                "total_entries": len(items)}}}
        if method == "POST":
            return CREATE[kind](body)
        raise ApiError(405, "method_not_allowed", "method not allowed")
    try:
        obj = store[int(rest[0])]
    except (ValueError, KeyError):
        raise ApiError(404, "not_found", "%s with ID '%s' not found" % (one, rest[0]))
    if method == "GET":
        return 200, {one: obj}
    if method == "PUT":
        if "name" in body:
            unique_name(kind, body, skip=obj["id"])
            obj["name"] = body["name"]
        if "labels" in body:
            obj["labels"] = body["labels"] or {}
        return 200, {one: obj}
    if method == "DELETE":
        del store[obj["id"]]
        return 204, None
    raise ApiError(405, "method_not_allowed", "method not allowed")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    token = ""

    def log_message(self, *args):
        pass

    def send(self, status, payload, headers=None):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if url.path == "/__fake/log":
            with LOCK:
                return self.send(200, LOG)
        if url.path == "/__fake/faults" and self.command == "POST":
            with LOCK:
                FAULTS.extend(json.loads(raw or b"[]"))
            return self.send(204, None)
        reset = int(time.time()) + 1
        headers = {"RateLimit-Limit": RATE_LIMIT, "RateLimit-Remaining": RATE_LIMIT - 1,
                   "RateLimit-Reset": reset}
        with LOCK:
            try:
                if self.headers.get("Authorization") != "Bearer " + self.token:
                    raise ApiError(401, "unauthorized", "unable to authenticate")
                for f in FAULTS:
                    if f.get("method", self.command) == self.command and f.get("times", 1) > 0:
                        f["times"] = f.get("times", 1) - 1
                        if f["status"] == 429:
                            headers["RateLimit-Remaining"] = 0
                            headers["RateLimit-Reset"] = int(time.time()) + f.get("reset_in", 1)
                        raise ApiError(f["status"], f.get("code", "unavailable"),
                                       f.get("message", MESSAGES.get(f["status"], "fault")))
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    raise ApiError(400, "json_error", "invalid JSON in request body")
                status, payload = route(self.command, url.path, parse_qs(url.query), body)
            except ApiError as e:
                status, payload = e.status, {"error": {"code": e.code, "message": e.message,
                                                       "details": e.details}}
            LOG.append({"method": self.command, "path": url.path, "status": status})
        self.send(status, payload, headers)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    Handler.token = a.token
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print("listening", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
