# A test web server for the uri case: binds a free port on 127.0.0.1, writes it to the file
# named by its argument, and exits once no request came for 30 seconds.
import base64, json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from email.utils import parsedate_to_datetime

LAST_MODIFIED = "Wed, 01 Jan 2020 00:00:00 GMT"
flaky = {"n": 0}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", ctype="text/plain", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def echo(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode()
        out = {"method": self.command, "body": body,
               "type": self.headers.get("Content-Type"), "agent": self.headers.get("User-Agent")}
        self.reply(201, json.dumps(out).encode(), "application/json")

    def do_GET(self):
        p = self.path
        if p == "/json":
            self.reply(200, b'{"name": "web", "ok": true}', "application/json",
                       [("X-Request-Id", "r-1"), ("Set-Cookie", "sid=abc; Path=/")])
        elif p == "/redirect":
            self.reply(302, b"", headers=[("Location", "/json")])
        elif p == "/auth":
            want = "Basic " + base64.b64encode(b"admin:s3cret").decode()
            if self.headers.get("Authorization") == want:
                self.reply(200, b"welcome")
            else:
                self.reply(401, b"who?", headers=[("WWW-Authenticate", 'Basic realm="t"')])
        elif p == "/flaky":
            flaky["n"] += 1
            self.reply(200 if flaky["n"] >= 3 else 503, b"try %d" % flaky["n"])
        elif p == "/file.txt":
            ims = self.headers.get("If-Modified-Since")
            if ims and parsedate_to_datetime(ims) >= parsedate_to_datetime(LAST_MODIFIED):
                self.send_response(304)
                self.end_headers()
            else:
                self.reply(200, b"file body\n", headers=[("Last-Modified", LAST_MODIFIED)])
        else:
            self.reply(404, b"not here")

    do_HEAD = do_GET

    def do_POST(self):
        self.echo()

    do_PUT = do_POST


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.timeout = 30
idle = []
server.handle_timeout = lambda: idle.append(True)
while not idle:
    server.handle_request()
