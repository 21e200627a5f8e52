#!/usr/bin/python3
"""The control-plane "container images" of the timonel lab's Kubernetes simulation.

The simulated kubelet runs a static Pod by running this file with the container's command
(containers[0].command + args of the manifest), the way a container runtime would run the
image's binary:

  kube-apiserver ...           the cluster's API: tests/k8s/fake_apiserver.py (a copy ships
                               next to this file) serving HTTPS on --bind-address
                               (0.0.0.0):--secure-port (6443) with --tls-cert-file and
                               --tls-private-key-file, accepting client certificates signed by
                               --client-ca-file and bootstrap tokens (Bearer <id>.<secret>, from
                               the kube-system/bootstrap-token-<id> Secrets, as
                               system:bootstrap:<id>); anonymous may read
                               kube-public/cluster-info. Adds the certificates.k8s.io/v1
                               CertificateSigningRequest kind. The objects are kept in
                               <etcd --data-dir>/member/snap/db (JSON), so a restarted
                               apiserver keeps the cluster, and kubeadm reset wipes it.
                               The apiserver waits for the node's etcd manifest as a real one
                               waits for etcd. HA stand-in for etcd replication: when that
                               manifest says --initial-cluster-state=existing (a joined control
                               plane), this apiserver terminates TLS with its own certificate
                               and relays every request to the apiserver of the first member of
                               --initial-cluster (same port), presenting a client certificate
                               with the caller's subject, signed with the cluster CA.
  etcd ...                     listens on the client and peer ports (2379, 2380) and serves
                               http://127.0.0.1:2381/health; creates <data-dir>/member.
  kube-controller-manager ...  https://127.0.0.1:10257/healthz, and the controllers kubeadm
                               clusters depend on, through --kubeconfig: bootstrapsigner
                               (jws-kubeconfig-<id> in kube-public/cluster-info),
                               tokencleaner (expired bootstrap-token Secrets), the garbage
                               collector for Secrets owned by a deleted Secret (kubeadm-certs),
                               and csrapproving + csrsigning for kubelet client certificates
                               (--cluster-signing-cert-file/--cluster-signing-key-file).
  kube-scheduler ...           https://127.0.0.1:10259/livez (the fake schedules Pods itself).
"""

import http.server
import json
import os
import select
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.realpath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import simlib  # noqa: E402

MANIFESTS = "/etc/kubernetes/manifests"
RUN = "/run/kubeadm-sim"


def flags_of(args):
    out = {}
    for a in args:
        if a.startswith("--"):
            k, _, v = a[2:].partition("=")
            out[k] = v
    return out


def log(component, msg):
    simlib.klog("I", "%s.go:1" % component.replace("kube-", ""), msg, sys.stdout)


def manifest_flags(name):
    try:
        pod = simlib.yaml_load(simlib.read_text(os.path.join(MANIFESTS, name + ".yaml"))) or {}
        c = (pod.get("spec") or {}).get("containers") or [{}]
        return flags_of((c[0].get("command") or []) + (c[0].get("args") or []))
    except (OSError, simlib.YAMLError):
        return {}


def version_from_image():
    image = os.environ.get("KUBEADM_SIM_IMAGE", "")
    tag = image.rsplit(":", 1)[1] if ":" in image else ""
    return tag.lstrip("v").split("-")[0] or "1.33.0"


# ---------------------------------------------------------------- small servers

class QuietHandler(http.server.BaseHTTPRequestHandler):
    routes = {}

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = urlparse(self.path).path
        body = self.routes.get(path)
        if body is None:
            self.send_response(404)
            body = "404 page not found\n"
        else:
            self.send_response(200)
        data = body.encode()
        self.send_header("Content-Type", "text/plain; charset=utf-8"
                         if not body.startswith("{") else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_http(addr, port, routes, tls_cn=None):
    handler = type("H", (QuietHandler,), {"routes": routes})
    srv = ThreadingServer((addr, port), handler)
    if tls_cn:
        d = tempfile.mkdtemp(prefix="sim-serving-")
        cert, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
        simlib.self_signed(cert, key, tls_cn, dns=["localhost"], ips=["127.0.0.1"])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def listen_only(addr, port):
    """A port that accepts connections and closes them (a stand-in for a gRPC service)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)

    def loop():
        while True:
            try:
                c, _ = s.accept()
                c.close()
            except OSError:
                return
    threading.Thread(target=loop, daemon=True).start()
    return s


def url_hostport(u):
    p = urlparse(u)
    return p.hostname, p.port


def forever():
    while True:
        time.sleep(3600)


# ---------------------------------------------------------------- etcd

def etcd(f):
    data = f.get("data-dir", "/var/lib/etcd")
    os.makedirs(os.path.join(data, "member", "snap"), mode=0o700, exist_ok=True)
    os.makedirs(os.path.join(data, "member", "wal"), mode=0o700, exist_ok=True)
    for key in ("listen-client-urls", "listen-peer-urls"):
        for u in filter(None, f.get(key, "").split(",")):
            host, port = url_hostport(u)
            listen_only(host or "0.0.0.0", port)
    for u in filter(None, f.get("listen-metrics-urls", "http://127.0.0.1:2381").split(",")):
        host, port = url_hostport(u)
        serve_http(host or "127.0.0.1", port, {"/health": '{"health":"true","reason":""}',
                                               "/readyz": "ok", "/livez": "ok"})
    log("etcd", "serving client traffic (simulated): %s" % f.get("listen-client-urls"))
    forever()


# ---------------------------------------------------------------- kube-scheduler

def scheduler(f):
    serve_http(f.get("bind-address", "127.0.0.1"), int(f.get("secure-port", "10259")),
               {"/healthz": "ok", "/livez": "ok", "/readyz": "ok"}, tls_cn="kube-scheduler")
    log("kube-scheduler", "Serving securely on %s:%s" % (f.get("bind-address", "127.0.0.1"),
                                                          f.get("secure-port", "10259")))
    forever()


# ---------------------------------------------------------------- kube-controller-manager

class Controllers:
    def __init__(self, f):
        self.f = f
        self.kubeconfig = f.get("kubeconfig", "/etc/kubernetes/controller-manager.conf")
        self.ca_cert = f.get("cluster-signing-cert-file", "/etc/kubernetes/pki/ca.crt")
        self.ca_key = f.get("cluster-signing-key-file", "/etc/kubernetes/pki/ca.key")
        self.api = None
        self.last_error = None

    def client(self):
        if self.api is None:
            self.api = simlib.Api.from_kubeconfig(self.kubeconfig, timeout=5,
                                                  user_agent="kube-controller-manager/sim")
        return self.api

    def run(self):
        while True:
            try:
                api = self.client()
                secrets = api.get("/api/v1/namespaces/kube-system/secrets").get("items") or []
                self.token_cleaner(api, secrets)
                self.bootstrap_signer(api, secrets)
                self.garbage_collector(api)
                self.csr(api)
                self.last_error = None
            except (simlib.ApiError, simlib.DialError, simlib.KubeconfigError, OSError) as e:
                if str(e) != self.last_error:
                    simlib.klog("E", "controllermanager.go:1", str(e), sys.stdout)
                    self.last_error = str(e)
                self.api = None
            time.sleep(0.5)

    @staticmethod
    def tokens(secrets):
        out = {}
        for s in secrets:
            if s.get("type") != "bootstrap.kubernetes.io/token":
                continue
            d = simlib.token_secret_data(s)
            if d.get("token-id") and s["metadata"]["name"] == "bootstrap-token-" + d["token-id"]:
                out[d["token-id"]] = (s, d)
        return out

    def token_cleaner(self, api, secrets):
        for tid, (s, d) in self.tokens(secrets).items():
            if simlib.token_expired(d):
                try:
                    api.delete("/api/v1/namespaces/kube-system/secrets/" + s["metadata"]["name"])
                    log("tokencleaner", "Deleting expired secret kube-system/%s"
                        % s["metadata"]["name"])
                except simlib.ApiError as e:
                    if e.status != 404:
                        raise
                secrets.remove(s)

    def bootstrap_signer(self, api, secrets):
        cm = api.get_or_none("/api/v1/namespaces/kube-public/configmaps/cluster-info")
        if not cm:
            return
        data = dict(cm.get("data") or {})
        content = data.get("kubeconfig")
        if not content:
            return
        want = {k: v for k, v in data.items() if not k.startswith("jws-kubeconfig-")}
        for tid, (s, d) in self.tokens(secrets).items():
            if d.get("usage-bootstrap-signing") != "true" or simlib.token_expired(d):
                continue
            want["jws-kubeconfig-" + tid] = simlib.jws_detached(content, tid, d.get("token-secret", ""))
        if want != data:
            cm["data"] = want
            try:
                api.put("/api/v1/namespaces/kube-public/configmaps/cluster-info", cm)
            except simlib.ApiError as e:
                if e.status != 409:
                    raise

    def garbage_collector(self, api):
        secrets = api.get("/api/v1/namespaces/kube-system/secrets").get("items") or []
        uids = {s["metadata"].get("uid") for s in secrets}
        for s in secrets:
            refs = [r for r in s["metadata"].get("ownerReferences") or [] if r.get("kind") == "Secret"]
            if refs and not any(r.get("uid") in uids for r in refs):
                try:
                    api.delete("/api/v1/namespaces/kube-system/secrets/" + s["metadata"]["name"])
                    log("garbagecollector", "Deleting object kube-system/%s: its owner is gone"
                        % s["metadata"]["name"])
                except simlib.ApiError as e:
                    if e.status != 404:
                        raise

    def csr(self, api):
        base = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
        try:
            items = api.get(base).get("items") or []
        except simlib.ApiError as e:
            if e.status == 404:
                return
            raise
        for c in items:
            st = c.get("status") or {}
            if st.get("certificate"):
                continue
            spec = c.get("spec") or {}
            if spec.get("signerName") != "kubernetes.io/kube-apiserver-client-kubelet":
                continue
            try:
                req = simlib.unb64(spec.get("request", "")).decode()
                subj = simlib.csr_subject(req)
            except (ValueError, simlib.OpenSSLError):
                continue
            if subj["O"] != ["system:nodes"] or not subj["CN"].startswith("system:node:"):
                continue
            try:
                cert = simlib.sign_csr(req, self.ca_cert, self.ca_key, ("client",))
            except simlib.OpenSSLError as e:
                simlib.klog("E", "certificate_controller.go:1", str(e), sys.stdout)
                continue
            t = simlib.rfc3339()
            c["status"] = {"conditions": [{
                "type": "Approved", "status": "True", "reason": "AutoApproved",
                "message": "Auto approving kubelet client certificate after SubjectAccessReview.",
                "lastUpdateTime": t, "lastTransitionTime": t}],
                "certificate": simlib.b64(cert)}
            try:
                api.put(base + "/" + c["metadata"]["name"] + "/status", c)
                log("csrsigning", "signed %s for %s" % (c["metadata"]["name"], subj["CN"]))
            except simlib.ApiError as e:
                if e.status not in (404, 409):
                    raise


def controller_manager(f):
    serve_http(f.get("bind-address", "127.0.0.1"), int(f.get("secure-port", "10257")),
               {"/healthz": "ok", "/livez": "ok", "/readyz": "ok"},
               tls_cn="kube-controller-manager")
    log("kube-controller-manager", "Serving securely on %s:%s"
        % (f.get("bind-address", "127.0.0.1"), f.get("secure-port", "10257")))
    Controllers(f).run()


# ---------------------------------------------------------------- kube-apiserver

def forward(bind, port, target, f):
    """The apiserver of a joined control plane: TLS with this node's own serving certificate,
    then every request goes to the first member's apiserver. A client certificate is replaced
    by one with the same subject, signed with the cluster CA (this node has ca.key, as every
    control plane does); bearer tokens pass through. Plain HTTP (the fake's /__fake/ hooks) is
    forwarded as is."""
    ca_file = f.get("client-ca-file", "/etc/kubernetes/pki/ca.crt")
    ca_key = os.path.join(os.path.dirname(ca_file), "ca.key")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(f["tls-cert-file"], f["tls-private-key-file"])
    server_ctx.load_verify_locations(ca_file)
    server_ctx.verify_mode = ssl.CERT_OPTIONAL
    server_ctx.set_alpn_protocols(["http/1.1"])
    certs = {}
    certs_dir = tempfile.mkdtemp(prefix="sim-apiserver-")
    lock = threading.Lock()

    def upstream_ctx(peer):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca_file)
        ctx.check_hostname = False
        ctx.set_alpn_protocols(["http/1.1"])
        if not peer:
            return ctx
        cn, orgs = "", []
        for rdn in peer.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    cn = v
                elif k == "organizationName":
                    orgs.append(v)
        key = (cn, tuple(orgs))
        with lock:
            if key not in certs:
                n = len(certs)
                kf = os.path.join(certs_dir, "%d.key" % n)
                cf = os.path.join(certs_dir, "%d.crt" % n)
                simlib.write_file(kf, simlib.openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                                                     "ec_paramgen_curve:P-256"))
                csr = simlib.openssl("req", "-new", "-key", kf, "-subj", simlib.subject(cn, orgs))
                simlib.write_file(cf, simlib.sign_csr(csr, ca_file, ca_key, ("client",), days=1))
                certs[key] = (cf, kf)
            cf, kf = certs[key]
        ctx.load_cert_chain(cf, kf)
        return ctx

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port))
    s.listen(128)
    log("kube-apiserver", "HA simulation: serving %s:%d for the apiserver of the first etcd "
        "member, %s:%d" % (bind, port, target, port))

    def relay(a, b):
        """Both directions in one thread: an SSL socket must not be read and written from
        two threads at once."""
        for x in (a, b):
            x.setblocking(False)
        peer = {a: b, b: a}

        def send_all(dst, data):
            while data:
                try:
                    data = data[dst.send(data):]
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    select.select([dst], [dst], [], 10)

        try:
            while True:
                ready = [x for x in (a, b) if isinstance(x, ssl.SSLSocket) and x.pending()]
                if not ready:
                    ready, _, _ = select.select([a, b], [], [], 3600)
                    if not ready:
                        return
                for src in ready:
                    try:
                        data = src.recv(65536)
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                        continue
                    if not data:
                        return
                    send_all(peer[src], data)
        except (OSError, ssl.SSLError):
            return

    def conn(c):
        up = None
        try:
            c.settimeout(10)
            first = c.recv(1, socket.MSG_PEEK)
            raw_up = socket.create_connection((target, port), timeout=10)
            if first == b"\x16":
                c = server_ctx.wrap_socket(c, server_side=True)
                up = upstream_ctx(c.getpeercert()).wrap_socket(raw_up, server_hostname=target)
            else:
                up = raw_up
            c.settimeout(None)
            up.settimeout(None)
        except (OSError, ssl.SSLError, simlib.OpenSSLError) as e:
            log("kube-apiserver", "connection dropped: %s" % e)
            c.close()
            if up:
                up.close()
            return
        relay(c, up)
        for x in (c, up):
            try:
                x.close()
            except (OSError, ssl.SSLError):
                pass

    while True:
        c, _ = s.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()


def apiserver(f):
    port = int(f.get("secure-port", "6443"))
    bind = f.get("bind-address", "0.0.0.0")
    # like a kube-apiserver that cannot reach etcd yet: wait for the node's etcd (kubeadm join
    # --control-plane writes the etcd manifest after the apiserver's)
    deadline = time.time() + 120
    etcd_flags = manifest_flags("etcd")
    while not etcd_flags and time.time() < deadline:
        time.sleep(0.2)
        etcd_flags = manifest_flags("etcd")
    if not etcd_flags:
        simlib.klog("E", "run.go:72", '"command failed" err="context deadline exceeded: no etcd '
                    'on this node (%s/etcd.yaml)"' % MANIFESTS, sys.stdout)
        sys.exit(1)
    if etcd_flags.get("initial-cluster-state") == "existing":
        me = etcd_flags.get("name")
        members = [m.split("=", 1) for m in etcd_flags.get("initial-cluster", "").split(",") if "=" in m]
        first = next((u for n, u in members if n != me), None)
        if first:
            forward(bind, port, url_hostport(first)[0], f)
            return
    data_dir = etcd_flags.get("data-dir", "/var/lib/etcd")
    db = os.path.join(data_dir, "member", "snap", "db")
    sys.path.insert(0, HERE)
    import fake_apiserver as fake

    class BoundServer(fake.Server):
        def __init__(self, addr, handler):
            super().__init__((bind, addr[1]), handler)

    fake.Server = BoundServer
    if not any(i["plural"] == "certificatesigningrequests" for i in fake.BUILTIN):
        fake.BUILTIN.insert(len(fake.BUILTIN) - 1, fake.R(
            "certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest",
            False, ["csr"]))

    def bootstrap_user(tid, secret):
        with fake.LOCK:
            s = fake.store("", "secrets").get(("kube-system", "bootstrap-token-" + tid))
            if not s or s.get("type") != "bootstrap.kubernetes.io/token":
                return None
            d = simlib.token_secret_data(s)
        if d.get("token-id") != tid or d.get("token-secret") != secret:
            return None
        if d.get("usage-bootstrap-authentication") != "true" or simlib.token_expired(d):
            return None
        return "system:bootstrap:" + tid

    orig_auth = fake.Handler.authenticate

    def authenticate(self):
        auth = (self.headers.get("Authorization") or "").strip()
        if auth.startswith("Bearer "):
            m = simlib.TOKEN_RE.match(auth[7:].strip())
            if m:
                return bootstrap_user(m.group(1), m.group(2)) or False
        user = orig_auth(self)
        if user is None and self.command == "GET" and urlparse(self.path).path.rstrip("/") == \
                "/api/v1/namespaces/kube-public/configmaps/cluster-info":
            return "system:anonymous"
        return user

    fake.Handler.authenticate = authenticate

    loaded = {"done": False}
    orig_initial = fake.initial_state

    def initial_state():
        orig_initial()
        if loaded["done"]:
            return
        loaded["done"] = True
        try:
            with open(db) as fh:
                snap = json.load(fh)
        except (OSError, ValueError):
            return
        fake.S.objects = {}
        for g, p, ns, name, obj in snap.get("objects", []):
            fake.S.objects.setdefault((g, p), {})[(ns, name)] = obj
        fake.S.rv = int(snap.get("rv", 0))
        for k in ("next_ip", "next_node_port"):
            if k in snap:
                setattr(fake.S, k, snap[k])
        log("kube-apiserver", "restored %d objects from %s" % (
            sum(len(v) for v in fake.S.objects.values()), db))

    fake.initial_state = initial_state

    def saver():
        last = None
        while True:
            time.sleep(0.3)
            with fake.LOCK:
                if fake.S.rv == last:
                    continue
                last = fake.S.rv
                snap = {"rv": fake.S.rv, "next_ip": getattr(fake.S, "next_ip", 10),
                        "next_node_port": getattr(fake.S, "next_node_port", 30000),
                        "objects": [[g, p, ns, name, obj] for (g, p), objs in
                                    fake.S.objects.items() for (ns, name), obj in objs.items()]}
                text = json.dumps(snap)
            try:
                simlib.write_file(db, text, 0o600)
            except OSError as e:
                simlib.klog("E", "storage.go:1", "saving %s: %s" % (db, e), sys.stdout)

    threading.Thread(target=saver, daemon=True).start()
    sys.argv = ["kube-apiserver", "--port", str(port), "--tls-cert", f["tls-cert-file"],
                "--tls-key", f["tls-private-key-file"], "--client-ca", f["client-ca-file"],
                "--kube-version", version_from_image()]
    fake.main()


def main(argv):
    if not argv:
        sys.stderr.write("usage: images.py COMMAND [FLAGS...]\n")
        return 2
    name = os.path.basename(argv[0])
    f = flags_of(argv[1:])
    {"kube-apiserver": apiserver, "etcd": etcd, "kube-controller-manager": controller_manager,
     "kube-scheduler": scheduler}[name](f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
