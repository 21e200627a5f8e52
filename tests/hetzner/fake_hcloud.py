#!/usr/bin/env python3
"""A fake Hetzner Cloud API for the tests: the documented wire format of
https://api.hetzner.cloud/v1 for SSH keys, networks, servers and actions (objects,
meta.pagination, the {"error": {"code", "message", "details"}} envelope, RateLimit-*
headers, actions that run for a while and then succeed or fail), a bearer token, and
faults on demand. Standard library only.

    fake_hcloud.py --token T [--port P] [--lab [--lab-networks] [--lab-node-setup FILE]
                   [--lab-known-hosts FILE]]
        prints "listening PORT" once it accepts requests. With --lab every server is a lab
        container (tests/lab/lab) whose sshd is at the server's public IPv4 (a loopback
        address, 127.0.0.101 on), port 22, root reachable with the server's SSH keys.
        --lab-networks: private networks and load balancers carry traffic (fake_lab.py).
        --lab-node-setup: a shell script started in each new server's container.
        --lab-known-hosts: a rebuilt server's old host key is removed from this file.

Test hooks, outside /v1 and without a token:
    GET  /__fake/log      every /v1 request so far: [{"method", "path", "status"}]
    POST /__fake/omit     ["key", ...]: leave these keys out of every object answered
    POST /__fake/faults   queue faults ("after": true carries the request out, then answers
                          with the fault, as a proxy's 5xx after the API acted):
                          [{"status": 429, "code": "rate_limit_exceeded",
                          "method": "POST", "times": 1, "reset_in": 1}], or an action that
                          ends in error: [{"action": "create_server", "code": "...", "message": "..."}]
"""

import argparse
import fake_lab
import base64
import hashlib
import ipaddress
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
STATE = {"ssh_keys": {}, "networks": {}, "servers": {}, "actions": {}, "firewalls": {},
         "placement_groups": {}, "load_balancers": {}}
LAB = [False]
# --lab-networks, --lab-node-setup, --lab-known-hosts
LAB_OPTS = {"networks": False, "node_setup": None, "known_hosts": None}
KEYS = {}  # server id -> the public keys root gets
LAB_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab", "lab")
ACTION_SECONDS = 1.0
NEXT_ID = [1000]
NEXT_IPV4 = [100]
LOG = []
FAULTS = []
# Keys left out of every object answered (an API that omits a documented key).
OMIT = set()


def omitted(v):
    if isinstance(v, dict):
        return {k: omitted(x) for k, x in v.items() if k not in OMIT}
    if isinstance(v, list):
        return [omitted(x) for x in v]
    return v
RATE_LIMIT = 3600
# The project's bucket: RATE_LIMIT requests, one more each second (as the API documents).
BUCKET = {"tokens": float(RATE_LIMIT), "at": time.time()}
MESSAGES = {
    400: "invalid input",
    401: "unable to authenticate",
    404: "not found",
    409: "uniqueness error",
    423: "resource is locked",
    429: "limit of requests per hour reached",
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


def subnet(s):
    require(s, "type", "network_zone")
    return {"type": s["type"], "ip_range": s.get("ip_range"), "network_zone": s["network_zone"],
            "gateway": "10.0.0.1", "vswitch_id": s.get("vswitch_id")}


def network_action(net, name, body):
    if name == "add_subnet":
        sub = subnet(body)
        if any(x["ip_range"] == sub["ip_range"] for x in net["subnets"]):
            raise ApiError(409, "conflict", "subnet %s already exists" % sub["ip_range"])
        net["subnets"].append(sub)
    elif name == "delete_subnet":
        require(body, "ip_range")
        net["subnets"] = [x for x in net["subnets"] if x["ip_range"] != body["ip_range"]]
    elif name == "change_ip_range":
        require(body, "ip_range")
        net["ip_range"] = body["ip_range"]
    else:
        raise ApiError(404, "not_found", "action '%s' not supported by the fake" % name)
    a = new_action(name, net["id"])
    a["resources"] = [{"id": net["id"], "type": "network"}]
    return 201, {"action": action_view(a)}


def subnet_host(net, n):
    """The n-th address of the network's first subnet (10.0.1.n in 10.0.1.0/24)."""
    first = net["subnets"][0]["ip_range"] if net["subnets"] else net["ip_range"]
    return str(ipaddress.ip_network(first, strict=False)[n])


def free_ip(net):
    """The network's lowest unused address from the subnet's .2 (a deleted server's is reused)."""
    used = {p["ip"] for o in list(STATE["servers"].values()) + list(STATE["load_balancers"].values())
            for p in o["private_net"] if p["network"] == net["id"]}
    return next(subnet_host(net, i) for i in range(2, 250) if subnet_host(net, i) not in used)


def attach(server, nid, ip=None):
    net = STATE["networks"].get(nid)
    if not net:
        raise ApiError(404, "not_found", "network with ID '%s' not found" % nid)
    if any(p["network"] == nid for p in server["private_net"]):
        raise ApiError(409, "server_already_attached", "server is already attached to this network")
    if not net["subnets"]:
        raise ApiError(422, "no_subnet_available", "network has no subnet for the server")
    server["private_net"].append({"network": nid, "ip": ip or free_ip(net),
                                  "alias_ips": [], "mac_address": "86:00:00:00:01:%02x" % len(net["servers"])})
    net["servers"].append(server["id"])


def create_network(body):
    require(body, "name", "ip_range")
    unique_name("networks", body)
    subnets = [subnet(s) for s in body.get("subnets") or []]
    net = {"id": new_id(), "name": body["name"], "ip_range": body["ip_range"], "subnets": subnets,
           "routes": body.get("routes") or [], "servers": [], "load_balancers": [],
           "labels": body.get("labels") or {}, "protection": {"delete": False},
           "expose_routes_to_vswitch": bool(body.get("expose_routes_to_vswitch")),
           "created": now()}
    if LAB_OPTS["networks"]:
        err = fake_lab.create_network(net)
        if err:
            raise ApiError(500, "service_error", err)
    STATE["networks"][net["id"]] = net
    return 201, {"network": net}


def new_action(command, server_id, work=None, fail=None):
    """An action that is `running` for ACTION_SECONDS (and while `work` runs), then ends in
    success, or in error with `fail` = (code, message)."""
    for f in FAULTS:
        if f.get("action") == command and f.get("times", 1) > 0:
            f["times"] = f.get("times", 1) - 1
            fail = (f.get("code", "action_failed"), f.get("message", "the action failed"))
    a = {"id": new_id(), "command": command, "status": "running", "progress": 0,
         "started": now(), "finished": None, "resources": [{"id": server_id, "type": "server"}],
         "error": None, "_done_at": time.time() + ACTION_SECONDS, "_fail": fail, "_begun": time.time()}
    STATE["actions"][a["id"]] = a
    if work:
        a["_done_at"] = None

        def run():
            err = work()
            with LOCK:
                a["_done_at"] = time.time()
                if err:
                    a["_fail"] = ("action_failed", err)
        threading.Thread(target=run, daemon=True).start()
    return a


def action_view(a):
    if a["status"] == "running":
        # Counts up while it runs, as the API's progress does.
        a["progress"] = min(99, int((time.time() - a["_begun"]) * 100 / (ACTION_SECONDS * 2)))
    if a["status"] == "running" and a["_done_at"] is not None and time.time() >= a["_done_at"]:
        a["finished"], a["progress"] = now(), 100
        if a["_fail"]:
            a["status"] = "error"
            a["error"] = {"code": a["_fail"][0], "message": a["_fail"][1]}
        else:
            a["status"] = "success"
            for hook in a.pop("_on_success", []):
                hook()
    return {k: v for k, v in a.items() if not k.startswith("_")}


def lab(*args, hostname=None):
    """Runs tests/lab/lab; the error text on failure."""
    env = dict(os.environ, LAB_HOSTNAME=hostname) if hostname else None
    r = subprocess.run(["bash", LAB_SCRIPT] + list(args), capture_output=True, text=True, env=env)
    return None if r.returncode == 0 else (r.stderr or r.stdout).strip()[-300:]


def container(server):
    return "hcloud-" + server["name"]


# A server deleted and at once created again under its name: the new container waits until
# the old one is removed (both run in their actions' threads).
CONTAINER_LOCKS = {}


def container_lock(server):
    with LOCK:
        return CONTAINER_LOCKS.setdefault(container(server), threading.Lock())


def remove_container(server):
    with container_lock(server):
        return lab("rm", container(server))


def boot(server):
    """A fresh lab container for the server, root reachable with its keys; with
    --lab-networks on its private networks too."""
    with container_lock(server):
        return boot_locked(server)


def boot_locked(server):
    fake_lab.forget_host_key(LAB_OPTS["known_hosts"], server["public_net"]["ipv4"]["ip"])
    # Named as the server, as Hetzner's images do.
    err = lab("host", container(server), "22", server["public_net"]["ipv4"]["ip"],
              hostname=server["name"])
    if err:
        return err
    auth = "\n".join(KEYS.get(server["id"], [])) + "\n"
    r = subprocess.run(["docker", "exec", "-i", container(server), "sh", "-c",
                        "install -d -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys"],
                       input=auth, capture_output=True, text=True)
    if r.returncode != 0:
        return r.stderr[-300:]
    if LAB_OPTS["networks"]:
        for p in server["private_net"]:
            err = fake_lab.join(container(server), STATE["networks"][p["network"]], p["ip"])
            if err:
                return err
    if LAB_OPTS["node_setup"]:
        with open(LAB_OPTS["node_setup"]) as f:
            err = fake_lab.run_in(container(server), f.read())
        if err:
            return err
    return sync_load_balancers()


def lb_backends(lb):
    """{listen port: ["address:port", ...]} of the load balancer's targets as they are now."""
    addresses = []
    for t in lb["targets"]:
        if t["type"] == "label_selector":
            servers = [s for s in STATE["servers"].values()
                       if labels_match(s["labels"], t["label_selector"]["selector"])]
        else:
            servers = [STATE["servers"][t["server"]["id"]]] if t["server"]["id"] in STATE["servers"] else []
        lb_nets = {p["network"] for p in lb["private_net"]}
        for s in servers:
            if s["status"] != "running":
                continue
            if t["use_private_ip"]:
                addresses += [p["ip"] for p in s["private_net"] if p["network"] in lb_nets]
            elif s["public_net"]["ipv4"]:
                addresses.append(s["public_net"]["ipv4"]["ip"])
    return {svc["listen_port"]: ["%s:%s" % (a, svc["destination_port"]) for a in addresses]
            for svc in lb["services"]}


def sync_load_balancers():
    """With --lab-networks, every load balancer's relays see the targets as they are now."""
    if not LAB_OPTS["networks"]:
        return None
    for lb in list(STATE["load_balancers"].values()):
        err = fake_lab.set_targets(lb, lb_backends(lb))
        if err:
            return err
    return None


def set_status(server, status):
    def hook():
        server["status"] = status
        sync_load_balancers()
    return hook


def create_server(body):
    require(body, "name", "server_type", "image")
    unique_name("servers", body)
    keys = []
    for ref in body.get("ssh_keys") or []:
        match = [k for k in STATE["ssh_keys"].values() if ref in (k["id"], k["name"], str(k["id"]))]
        if not match:
            raise ApiError(400, "invalid_input", "ssh key '%s' not found" % ref,
                           {"fields": [{"name": "ssh_keys"}]})
        keys.append(match[0]["public_key"])
    for nid in body.get("networks") or []:
        if nid not in STATE["networks"]:
            raise ApiError(400, "invalid_input", "network %s not found" % nid,
                           {"fields": [{"name": "networks"}]})
    location = body.get("location") or (body.get("datacenter") or "fsn1").split("-")[0]
    loc = {"id": 1, "name": location, "description": "fake", "country": "DE", "city": "Falkenstein",
           "latitude": 50.47612, "longitude": 12.370071, "network_zone": "eu-central"}
    sid = new_id()
    NEXT_IPV4[0] += 1
    ipv4 = "127.0.0.%d" % NEXT_IPV4[0]
    public = body.get("public_net") or {}
    server = {
        "id": sid, "name": body["name"], "status": "initializing", "created": now(),
        "public_net": {
            "ipv4": {"id": new_id(), "ip": ipv4, "blocked": False, "dns_ptr": "static.fake"} if public.get("enable_ipv4", True) else None,
            "ipv6": {"id": new_id(), "ip": "2001:db8:%x::/64" % sid, "blocked": False, "dns_ptr": []} if public.get("enable_ipv6", True) else None,
            "floating_ips": [], "firewalls": [{"id": f.get("firewall"), "status": "applied"} for f in body.get("firewalls") or []]},
        "private_net": [],
        "server_type": {"id": 1, "name": body["server_type"], "description": body["server_type"].upper(),
                        "cores": 2, "memory": 4.0, "disk": 40, "storage_type": "local", "cpu_type": "shared",
                        "architecture": "x86", "deprecated": False, "prices": []},
        "location": loc,
        # Deprecated by the API in favour of location; still sent, as the API does.
        "datacenter": {"id": 1, "name": (body.get("datacenter") or location + "-dc14"), "description": "fake",
                       "location": loc},
        "image": {"id": 114690387, "type": "system", "status": "available", "name": body["image"],
                  "description": body["image"], "os_flavor": "debian", "os_version": "12",
                  "architecture": "x86", "labels": {}},
        "labels": body.get("labels") or {}, "placement_group": None,
        "protection": {"delete": False, "rebuild": False}, "rescue_enabled": False, "locked": False,
        "backup_window": None, "outgoing_traffic": 0, "ingoing_traffic": 0,
        "included_traffic": 21990232555520, "primary_disk_size": 40, "load_balancers": [],
        "volumes": [], "iso": None,
    }
    for nid in body.get("networks") or []:
        attach(server, nid)
    if body.get("placement_group"):
        pg = STATE["placement_groups"].get(body["placement_group"])
        if not pg:
            raise ApiError(400, "invalid_input", "placement group not found", {"fields": [{"name": "placement_group"}]})
        pg["servers"].append(sid)
        server["placement_group"] = {k: pg[k] for k in ("id", "name", "labels", "type", "created", "servers")}
    for f in body.get("firewalls") or []:
        fw = STATE["firewalls"].get(f.get("firewall"))
        if not fw:
            raise ApiError(400, "invalid_input", "firewall not found", {"fields": [{"name": "firewalls"}]})
        fw["applied_to"].append({"type": "server", "server": {"id": sid}})
    STATE["servers"][sid] = server
    KEYS[sid] = keys
    work = (lambda: boot(server)) if LAB[0] else None
    action = new_action("create_server", sid, work)
    start = body.get("start_after_create", True)
    action["_on_success"] = [set_status(server, "running" if start else "off")]
    if LAB[0] and not start:
        action["_on_success"].append(lambda: lab("stop", container(server)))
    return 201, {"server": server, "action": action_view(action), "next_actions": [], "root_password": None}


def server_action(server, name, body):
    sid = server["id"]
    simple = {"poweron": "start_server", "poweroff": "stop_server", "shutdown": "shutdown_server",
              "reboot": "reboot_server", "reset": "reset_server"}
    if name in simple:
        work = None
        if LAB[0]:
            def work():
                if name == "poweron":
                    return lab("start", container(server))
                if name in ("poweroff", "shutdown"):
                    return lab("stop", container(server))
                return lab("stop", container(server)) or lab("start", container(server))
        a = new_action(simple[name], sid, work)
        after = "running" if name in ("poweron", "reboot", "reset") else "off"
        a["_on_success"] = [set_status(server, after)]
        return 201, {"action": action_view(a)}
    if name in ("attach_to_network", "detach_from_network"):
        require(body, "network")
        if name == "attach_to_network":
            attach(server, body["network"], body.get("ip"))
        else:
            server["private_net"] = [p for p in server["private_net"] if p["network"] != body["network"]]
            net = STATE["networks"].get(body["network"])
            if net and sid in net["servers"]:
                net["servers"].remove(sid)
        return 201, {"action": action_view(new_action(name, sid))}
    if name == "rebuild":
        require(body, "image")
        server["image"]["name"] = body["image"]
        a = new_action("rebuild_server", sid, (lambda: boot(server)) if LAB[0] else None)
        a["_on_success"] = [set_status(server, "running")]
        return 201, {"action": action_view(a), "root_password": None}
    if name == "change_type":
        require(body, "server_type")
        if server["status"] != "off":
            raise ApiError(409, "server_not_stopped", "server must be stopped before changing its type")
        server["server_type"]["name"] = body["server_type"]
        if body.get("upgrade_disk"):
            server["primary_disk_size"] = 80
        return 201, {"action": action_view(new_action("change_server_type", sid))}
    raise ApiError(404, "not_found", "action '%s' not supported by the fake" % name)


def check_rules(rules):
    for r in rules or []:
        require(r, "direction", "protocol")
        if r["direction"] not in ("in", "out") or r["protocol"] not in ("tcp", "udp", "icmp", "esp", "gre"):
            raise ApiError(400, "invalid_input", "invalid rule", {"fields": [{"name": "rules"}]})
        if r["protocol"] in ("tcp", "udp") and not r.get("port"):
            raise ApiError(400, "invalid_input", "port is required for tcp and udp rules",
                           {"fields": [{"name": "rules"}]})
    return [{"direction": r["direction"], "protocol": r["protocol"], "port": r.get("port"),
             "source_ips": r.get("source_ips") or [], "destination_ips": r.get("destination_ips") or [],
             "description": r.get("description")} for r in rules or []]


def firewall_action(fw, command):
    a = new_action(command, fw["id"])
    a["resources"] = [{"id": fw["id"], "type": "firewall"}]
    return action_view(a)


def create_firewall(body):
    require(body, "name")
    unique_name("firewalls", body)
    fw = {"id": new_id(), "name": body["name"], "labels": body.get("labels") or {},
          "created": now(), "rules": check_rules(body.get("rules")), "applied_to": []}
    STATE["firewalls"][fw["id"]] = fw
    actions = [firewall_action(fw, "set_firewall_rules")]
    for res in body.get("apply_to") or []:
        fw["applied_to"].append(res)
        actions.append(firewall_action(fw, "apply_firewall"))
    return 201, {"firewall": fw, "actions": actions}


def firewalls_action(fw, name, body):
    if name == "set_rules":
        fw["rules"] = check_rules(body.get("rules"))
        return 201, {"actions": [firewall_action(fw, "set_firewall_rules")]}
    if name in ("apply_to_resources", "remove_from_resources"):
        for res in body.get("apply_to") or body.get("remove_from") or []:
            if name == "apply_to_resources":
                if res in fw["applied_to"]:
                    raise ApiError(409, "firewall_already_applied", "firewall already applied to resource")
                fw["applied_to"].append(res)
            elif res in fw["applied_to"]:
                fw["applied_to"].remove(res)
        return 201, {"actions": [firewall_action(fw, "apply_firewall" if name == "apply_to_resources" else "remove_firewall")]}
    raise ApiError(404, "not_found", "action '%s' not supported by the fake" % name)


def create_placement_group(body):
    require(body, "name", "type")
    unique_name("placement_groups", body)
    if body["type"] != "spread":
        raise ApiError(400, "invalid_input", "type must be spread", {"fields": [{"name": "type"}]})
    pg = {"id": new_id(), "name": body["name"], "labels": body.get("labels") or {}, "type": "spread",
          "created": now(), "servers": []}
    STATE["placement_groups"][pg["id"]] = pg
    return 201, {"placement_group": pg, "action": None}


def lb_service(s):
    require(s, "protocol", "listen_port")
    return {"protocol": s["protocol"], "listen_port": s["listen_port"],
            "destination_port": s.get("destination_port") or s["listen_port"],
            "proxyprotocol": bool(s.get("proxyprotocol")),
            "health_check": s.get("health_check") or {"protocol": "tcp", "port": s.get("destination_port") or s["listen_port"],
                                                      "interval": 15, "timeout": 10, "retries": 3},
            "http": None}


def lb_target(t):
    require(t, "type")
    if t["type"] == "label_selector":
        require(t.get("label_selector") or {}, "selector")
    elif t["type"] == "server":
        if (t.get("server") or {}).get("id") not in STATE["servers"]:
            raise ApiError(400, "invalid_input", "server not found", {"fields": [{"name": "targets"}]})
    return {"type": t["type"], "label_selector": t.get("label_selector"), "server": t.get("server"),
            "use_private_ip": bool(t.get("use_private_ip"))}


def lb_attach(lb, nid, ip=None):
    net = STATE["networks"].get(nid)
    if not net:
        raise ApiError(404, "not_found", "network with ID '%s' not found" % nid)
    if any(p["network"] == nid for p in lb["private_net"]):
        raise ApiError(409, "load_balancer_already_attached", "load balancer is already attached to this network")
    lb["private_net"].append({"network": nid, "ip": ip or subnet_host(net, 200 + len(lb["private_net"]))})


def create_load_balancer(body):
    require(body, "name", "load_balancer_type")
    unique_name("load_balancers", body)
    if not body.get("location") and not body.get("network_zone"):
        raise ApiError(400, "invalid_input", "location or network_zone is required",
                       {"fields": [{"name": "location"}]})
    NEXT_IPV4[0] += 1
    lb = {"id": new_id(), "name": body["name"], "created": now(), "labels": body.get("labels") or {},
          "public_net": {"enabled": body.get("public_interface", True),
                         "ipv4": {"ip": "127.0.0.%d" % NEXT_IPV4[0], "dns_ptr": "static.fake"},
                         "ipv6": {"ip": "2001:db8:ffff::1", "dns_ptr": "static.fake"}},
          "private_net": [],
          "location": {"id": 1, "name": body.get("location") or "fsn1", "network_zone": body.get("network_zone") or "eu-central"},
          "load_balancer_type": {"id": 1, "name": body["load_balancer_type"], "max_connections": 10000,
                                 "max_services": 5, "max_targets": 25},
          "protection": {"delete": False},
          "algorithm": body.get("algorithm") or {"type": "round_robin"},
          "services": [lb_service(x) for x in body.get("services") or []],
          "targets": [lb_target(x) for x in body.get("targets") or []],
          "outgoing_traffic": 0, "ingoing_traffic": 0, "included_traffic": 21990232555520}
    if body.get("network"):
        lb_attach(lb, body["network"])
    STATE["load_balancers"][lb["id"]] = lb
    if LAB_OPTS["networks"]:
        err = fake_lab.start_load_balancer(lb, STATE["networks"]) or fake_lab.set_targets(lb, lb_backends(lb))
        if err:
            raise ApiError(500, "service_error", "lab load balancer: " + err)
    a = new_action("create_load_balancer", lb["id"])
    a["resources"] = [{"id": lb["id"], "type": "load_balancer"}]
    return 201, {"load_balancer": lb, "action": action_view(a)}


def load_balancer_action(lb, name, body):
    if name == "add_service":
        svc = lb_service(body)
        if any(x["listen_port"] == svc["listen_port"] for x in lb["services"]):
            raise ApiError(409, "source_port_already_used", "listen port %s is already used" % svc["listen_port"])
        lb["services"].append(svc)
    elif name == "update_service":
        require(body, "listen_port")
        svc = [x for x in lb["services"] if x["listen_port"] == body["listen_port"]]
        if not svc:
            raise ApiError(404, "not_found", "service on port %s not found" % body["listen_port"])
        svc[0].update({k: v for k, v in body.items() if k in ("protocol", "destination_port", "proxyprotocol", "health_check")})
    elif name == "delete_service":
        require(body, "listen_port")
        lb["services"] = [x for x in lb["services"] if x["listen_port"] != body["listen_port"]]
    elif name == "add_target":
        t = lb_target(body)
        if t in lb["targets"]:
            raise ApiError(409, "target_already_defined", "target is already defined")
        lb["targets"].append(t)
    elif name == "remove_target":
        t = lb_target(body)
        lb["targets"] = [x for x in lb["targets"] if x != t]
    elif name == "attach_to_network":
        require(body, "network")
        lb_attach(lb, body["network"], body.get("ip"))
    else:
        raise ApiError(404, "not_found", "action '%s' not supported by the fake" % name)
    if LAB_OPTS["networks"]:
        restart = name in ("add_service", "delete_service", "attach_to_network")
        err = (restart and fake_lab.start_load_balancer(lb, STATE["networks"])) or \
            fake_lab.set_targets(lb, lb_backends(lb))
        if err:
            raise ApiError(500, "service_error", "lab load balancer: " + err)
    a = new_action(name, lb["id"])
    a["resources"] = [{"id": lb["id"], "type": "load_balancer"}]
    return 201, {"action": action_view(a)}


CREATE = {"ssh_keys": create_ssh_key, "networks": create_network, "servers": create_server,
          "firewalls": create_firewall, "placement_groups": create_placement_group,
          "load_balancers": create_load_balancer}
SINGULAR = {"ssh_keys": "ssh_key", "networks": "network", "servers": "server", "actions": "action",
            "firewalls": "firewall", "placement_groups": "placement_group",
            "load_balancers": "load_balancer"}


def route(method, path, query, body):
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[0] != "v1" or parts[1] not in STATE or (parts[1] == "actions" and len(parts) < 3):
        raise ApiError(404, "not_found", "not found")
    kind, rest = parts[1], parts[2:]
    store, one = STATE[kind], SINGULAR[kind]
    if not rest:
        if method == "GET":
            items = sorted(store.values(), key=lambda o: o["id"])
            if "status" in query:
                items = [o for o in items if o.get("status") in query["status"]]
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
    if kind == "actions":
        return 200, {"action": action_view(obj)}
    if kind == "servers" and len(rest) == 3 and rest[1] == "actions" and method == "POST":
        return server_action(obj, rest[2], body)
    if kind == "networks" and len(rest) == 3 and rest[1] == "actions" and method == "POST":
        return network_action(obj, rest[2], body)
    if kind == "firewalls" and len(rest) == 3 and rest[1] == "actions" and method == "POST":
        return firewalls_action(obj, rest[2], body)
    if kind == "load_balancers" and len(rest) == 3 and rest[1] == "actions" and method == "POST":
        return load_balancer_action(obj, rest[2], body)
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
        if kind == "firewalls" and obj["applied_to"]:
            raise ApiError(422, "resource_in_use", "firewall is still applied to resources")
        if kind == "placement_groups" and obj["servers"]:
            raise ApiError(422, "resource_in_use", "placement group still has servers")
        del store[obj["id"]]
        if kind == "servers":
            for fw in STATE["firewalls"].values():
                fw["applied_to"] = [r for r in fw["applied_to"] if r.get("server", {}).get("id") != obj["id"]]
            for pg in STATE["placement_groups"].values():
                if obj["id"] in pg["servers"]:
                    pg["servers"].remove(obj["id"])
            for net in STATE["networks"].values():
                if obj["id"] in net["servers"]:
                    net["servers"].remove(obj["id"])
            sync_load_balancers()
            work = (lambda: remove_container(obj)) if LAB[0] else None
            return 200, {"action": action_view(new_action("delete_server", obj["id"], work))}
        if LAB_OPTS["networks"] and kind == "networks":
            fake_lab.delete_network(obj)
        if LAB_OPTS["networks"] and kind == "load_balancers":
            fake_lab.delete_load_balancer(obj)
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
        if url.path == "/__fake/omit" and self.command == "POST":
            with LOCK:
                OMIT.update(json.loads(raw or b"[]"))
            return self.send(204, None)
        if url.path == "/__fake/faults" and self.command == "POST":
            with LOCK:
                FAULTS.extend(json.loads(raw or b"[]"))
            return self.send(204, None)
        with LOCK:
            t = time.time()
            BUCKET["tokens"] = min(float(RATE_LIMIT), BUCKET["tokens"] + (t - BUCKET["at"]))
            BUCKET["at"] = t
            limited = BUCKET["tokens"] < 1
            if not limited:
                BUCKET["tokens"] -= 1
            headers = {"RateLimit-Limit": RATE_LIMIT, "RateLimit-Remaining": int(BUCKET["tokens"]),
                       "RateLimit-Reset": int(t + RATE_LIMIT - BUCKET["tokens"]) + 1}
            try:
                if self.headers.get("Authorization") != "Bearer " + self.token:
                    raise ApiError(401, "unauthorized", "unable to authenticate")
                if limited:
                    raise ApiError(429, "rate_limit_exceeded", MESSAGES[429])
                late = None
                for f in FAULTS:
                    if "action" in f:
                        continue
                    if f.get("method", self.command) == self.command and f.get("times", 1) > 0:
                        f["times"] = f.get("times", 1) - 1
                        if f["status"] == 429:
                            headers["RateLimit-Remaining"] = 0
                            headers["RateLimit-Reset"] = int(time.time()) + f.get("reset_in", 1)
                        fault = ApiError(f["status"], f.get("code", "unavailable"),
                                         f.get("message", MESSAGES.get(f["status"], "fault")))
                        if not f.get("after"):
                            raise fault
                        late = fault
                        break
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    raise ApiError(400, "json_error", "invalid JSON in request body")
                status, payload = route(self.command, url.path, parse_qs(url.query), body)
                if late:
                    # The request was carried out, but its answer is lost (a 5xx from a proxy).
                    raise late
            except ApiError as e:
                status, payload = e.status, {"error": {"code": e.code, "message": e.message,
                                                       "details": e.details}}
            LOG.append({"method": self.command, "path": url.path, "status": status})
            if OMIT:
                payload = omitted(payload)
        self.send(status, payload, headers)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lab", action="store_true", help="servers are lab containers")
    ap.add_argument("--lab-networks", action="store_true",
                    help="networks and load balancers carry traffic between lab containers")
    ap.add_argument("--lab-node-setup", help="a shell script started in each new server's container")
    ap.add_argument("--lab-known-hosts", help="remove a rebuilt server's old host key from this file")
    ap.add_argument("--rate-limit", type=int, default=3600, help="the bucket's size")
    ap.add_argument("--first-ipv4", type=int, default=101, help="servers get 127.0.0.N on from here")
    a = ap.parse_args()
    NEXT_IPV4[0] = a.first_ipv4 - 1
    global RATE_LIMIT
    RATE_LIMIT = a.rate_limit
    BUCKET["tokens"] = float(a.rate_limit)
    Handler.token = a.token
    LAB[0] = a.lab
    LAB_OPTS.update(networks=a.lab_networks, node_setup=a.lab_node_setup, known_hosts=a.lab_known_hosts)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print("listening", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
