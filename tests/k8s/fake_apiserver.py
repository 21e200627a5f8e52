#!/usr/bin/env python3
"""A fake Kubernetes API server for the tests: stateful, standard library only.

    fake_apiserver.py [--token T] [--tls-cert C --tls-key K [--client-ca CA]] [--port P]
                      [--kube-version 1.33.0] [--rollout-seconds 1.0] [--job-seconds 1.0]
                      [--namespace-seconds 1.0] [--legacy-discovery]

prints "listening PORT" once it accepts requests on 127.0.0.1:PORT.

What it speaks (the wire format of a real kube-apiserver, as kubectl 1.27-1.33, client-go,
kube-rs and the official Python client read it):
  - discovery: /api, /api/v1, /apis, /apis/G, /apis/G/V in the legacy format, and the
    aggregated format (apidiscovery.k8s.io/v2 and v2beta1) when the client's Accept asks for
    it (not with --legacy-discovery); /version; /healthz /livez /readyz.
  - OpenAPI only as far as clients need it: /openapi/v3 (a root and one small document per
    group-version) and /openapi/v2 (JSON, or the gnostic protobuf kubectl 1.27/1.28 ask for),
    whose PATCH operations declare the fieldValidation parameter, so kubectl leaves
    validation to the server and never needs schemas (no --validate=false).
  - built-in kinds (core, apps, batch, networking.k8s.io, rbac, autoscaling/v2, policy/v1,
    storage.k8s.io, apiextensions.k8s.io) and the kinds of every Established CRD.
  - get, list (labelSelector, fieldSelector on metadata.name/metadata.namespace, limit and
    continue), watch (resourceVersion, timeoutSeconds, sendInitialEvents + bookmarks),
    Table and PartialObjectMetadata output, create, update, delete (finalizers, namespaces
    that stay Terminating for a moment), deletecollection, PATCH as apply-patch+yaml
    (server-side apply; JSON bodies, as kubectl, client-go and kube-rs send), merge-patch,
    strategic-merge-patch (a subset), json-patch; dryRun=All on every write; the status and
    scale subresources. Request bodies are JSON, or protobuf for Namespace, ConfigMap,
    Secret and ServiceAccount (kubectl's typed `create` commands send protobuf).
  - server-side apply: managedFields in the FieldsV1 format (Apply and Update entries,
    subresources), conflicts (409, reason Conflict, causes FieldManagerConflict) unless
    force=true, fields an applier dropped are removed unless someone else owns them,
    associative lists merged by key (containers, env, ports, volumes, volumeMounts, ...);
    managedFields sent with an update replace the stored ones (kubectl's client-side to
    server-side apply migration).
  - server-set and defaulted fields, validation (422 Invalid), NotFound/AlreadyExists,
    optimistic concurrency (409 on a stale resourceVersion).
  - status that changes over time: Deployments/StatefulSets/DaemonSets roll out, Jobs
    complete (or fail), CRDs become Established, Nodes become Ready, Namespaces terminate
    and get their default ServiceAccount and kube-root-ca.crt ConfigMap.
  - auth: a bearer token (--token) and/or TLS client certificates signed by --client-ca.
    Without valid credentials the API answers 401 (a request without any credentials may
    still read /version and the health endpoints, as anonymous can on a real cluster).
    With TLS the same port also answers plain HTTP, for the test hooks only. kubectl and
    client-go send a kubeconfig's credentials only over TLS.

Test hooks, under /__fake/, without credentials (plain HTTP, even when the API is TLS):
    GET  /__fake/log          every API request so far: [{"at" (seconds since start),
                              "method", "path", "query", "status", "dry_run",
                              "content_type", "user_agent", "user", "field_manager"}]
    POST /__fake/reset        forget every object and the log (back to the initial state)
    POST /__fake/fail         {"kind": "Job"|"Deployment", "namespace", "name", "reason",
                              "message"}: that object (now or once created) fails
    POST /__fake/nodes        {"name", "labels", "roles": ["control-plane"], "ready": true,
                              "address", "kubeletVersion", "taints"}: registers or updates a
                              Node as a kubelet would
    GET  /__fake/api/...      the API itself (GET only), without credentials and unlogged
An object fails as well when it carries the annotation fake.timonel/fail: "<reason>"
(optionally fake.timonel/fail-message): a Job ends with condition Failed, a Deployment
with Progressing=False.
"""

import argparse
import base64
import copy
import hashlib
import heapq
import json
import random
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

START = time.time()
LOCK = threading.RLock()
CHANGED = threading.Condition(LOCK)
CONF = {"token": None, "client_ca": False, "version": "1.33.0", "rollout": 1.0, "job": 1.0,
        "establish": 0.2, "namespace_grace": 1.0, "legacy_discovery": False, "port": 0,
        "ca_pem": "", "tls": False}
ANNOTATION_FAIL = "fake.timonel/fail"
ANNOTATION_FAIL_MESSAGE = "fake.timonel/fail-message"


class State:
    def __init__(self):
        self.rv = 0
        self.objects = {}  # (group, plural) -> {(namespace, name): object}
        self.events = []  # (rv, group, plural, namespace, type, object)
        self.log = []
        self.timers = []  # heap of (when, seq, fn)
        self.seq = 0
        self.fails = {}  # (kind, namespace, name) -> (reason, message)
        self.next_ip = 10
        self.next_node_port = 30000


S = State()


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_time(t):
    try:
        return time.mktime(time.strptime(t, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    except (TypeError, ValueError):
        return time.time()


# ---------------------------------------------------------------- errors


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def body(self):
        b = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message, "reason": self.reason}
        if self.details is not None:
            b["details"] = self.details
        b["code"] = self.code
        return b


def qualified(info):
    return info["plural"] + ("." + info["group"] if info["group"] else "")


def kind_qualified(info):
    return info["kind"] + ("." + info["group"] if info["group"] else "")


def not_found(info, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(info), name),
                    {"name": name, "group": info["group"], "kind": info["plural"]} if info["group"]
                    else {"name": name, "kind": info["plural"]})


def ns_not_found(ns):
    return ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                    {"name": ns, "kind": "namespaces"})


def unknown_resource():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def gofmt(v):
    """A value as Go's %#v would print it in validation messages (close enough)."""
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, dict) and all(isinstance(x, str) for x in v.values()):
        return "map[string]string{%s}" % ", ".join(
            "%s:%s" % (json.dumps(k), json.dumps(x)) for k, x in sorted(v.items()))
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


class Errs:
    """Field errors, as the apiserver's field.ErrorList."""

    def __init__(self):
        self.items = []  # (cause reason, field, message)

    def required(self, field, detail=""):
        self.items.append(("FieldValueRequired", field,
                           "Required value" + (": " + detail if detail else "")))

    def invalid(self, field, value, detail):
        self.items.append(("FieldValueInvalid", field,
                           "Invalid value: %s: %s" % (gofmt(value), detail)))

    def unsupported(self, field, value, supported):
        self.items.append(("FieldValueNotSupported", field,
                           "Unsupported value: %s: supported values: %s"
                           % (gofmt(value), ", ".join(json.dumps(s) for s in supported))))

    def duplicate(self, field, value):
        self.items.append(("FieldValueDuplicate", field, "Duplicate value: %s" % gofmt(value)))

    def forbidden(self, field, detail):
        self.items.append(("FieldValueForbidden", field, "Forbidden: " + detail))

    def raise_if_any(self, info, name):
        if not self.items:
            return
        texts = ["%s: %s" % (f, m) for _, f, m in self.items]
        text = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
        details = {"name": name, "group": info["group"], "kind": info["kind"],
                   "causes": [{"reason": r, "message": m, "field": f} for r, f, m in self.items]}
        if not info["group"]:
            del details["group"]
        raise ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (kind_qualified(info), name, text),
                       details)


# ---------------------------------------------------------------- resources

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet")


def R(group, version, plural, kind, namespaced, short=(), status=True, gen=False, cats=()):
    return {"group": group, "version": version, "plural": plural, "kind": kind,
            "singular": kind.lower(), "namespaced": namespaced, "short": list(short),
            "status": status, "gen": gen, "categories": list(cats), "verbs": ALL_VERBS,
            "crd": None, "scale": kind in SCALABLE}


BUILTIN = [
    R("", "v1", "namespaces", "Namespace", False, ["ns"]),
    R("", "v1", "configmaps", "ConfigMap", True, ["cm"], status=False),
    R("", "v1", "secrets", "Secret", True, status=False),
    R("", "v1", "services", "Service", True, ["svc"], cats=["all"]),
    R("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"], status=False),
    R("", "v1", "pods", "Pod", True, ["po"], cats=["all"]),
    R("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"]),
    R("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"]),
    R("", "v1", "nodes", "Node", False, ["no"]),
    R("apps", "v1", "deployments", "Deployment", True, ["deploy"], gen=True, cats=["all"]),
    R("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], gen=True, cats=["all"]),
    R("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], gen=True, cats=["all"]),
    R("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], gen=True, cats=["all"]),
    R("batch", "v1", "jobs", "Job", True, gen=True, cats=["all"]),
    R("batch", "v1", "cronjobs", "CronJob", True, ["cj"], gen=True, cats=["all"]),
    R("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"], gen=True),
    R("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, status=False, gen=True),
    R("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"],
      status=False, gen=True),
    R("rbac.authorization.k8s.io", "v1", "roles", "Role", True, status=False),
    R("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, status=False),
    R("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, status=False),
    R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False,
      status=False),
    R("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ["hpa"],
      gen=True, cats=["all"]),
    R("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], gen=True),
    R("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"], status=False),
    R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
      False, ["crd", "crds"], gen=True),
]
CRD_INFO = BUILTIN[-1]
NS_INFO = BUILTIN[0]


def store(group, plural):
    return S.objects.setdefault((group, plural), {})


def is_established(crd):
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


def crd_infos():
    out = []
    for crd in store("apiextensions.k8s.io", "customresourcedefinitions").values():
        if not is_established(crd) or crd["metadata"].get("deletionTimestamp"):
            continue
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        for v in spec.get("versions") or []:
            if not v.get("served", True):
                continue
            info = R(spec.get("group", ""), v["name"], names.get("plural", ""),
                     names.get("kind", ""), spec.get("scope") == "Namespaced",
                     names.get("shortNames") or [],
                     status="status" in ((v.get("subresources") or {})), gen=True,
                     cats=names.get("categories") or [])
            info["singular"] = names.get("singular") or names.get("kind", "").lower()
            info["scale"] = False
            info["crd"] = crd
            info["schema"] = (v.get("schema") or {}).get("openAPIV3Schema")
            out.append(info)
    return out


def all_infos():
    return BUILTIN + crd_infos()


def find_info(group, version, plural):
    for info in all_infos():
        if info["group"] == group and info["version"] == version and info["plural"] == plural:
            return info
    return None


def version_priority(v):
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
    if not m:
        return (0, 0, 0, v)
    stage = {"alpha": 1, "beta": 2, None: 3}[m.group(2)]
    return (1, stage, int(m.group(1)), int(m.group(3) or 0))


def groups():
    """[(group, [versions], preferred)] in a stable order."""
    seen = {}
    for info in all_infos():
        if info["group"]:
            seen.setdefault(info["group"], [])
            if info["version"] not in seen[info["group"]]:
                seen[info["group"]].append(info["version"])
    out = []
    for g, vs in seen.items():
        vs = sorted(vs, key=version_priority, reverse=True)
        out.append((g, vs, vs[0]))
    return out


# ---------------------------------------------------------------- schema knowledge

ASSOC = {"containers": ["name"], "initContainers": ["name"], "ephemeralContainers": ["name"],
         "env": ["name"], "volumes": ["name"], "volumeMounts": ["mountPath"],
         "imagePullSecrets": ["name"], "volumeDevices": ["devicePath"], "hostAliases": ["ip"],
         "conditions": ["type"], "ownerReferences": ["uid"], "resourceClaims": ["name"],
         "schedulingGates": ["name"],
         "topologySpreadConstraints": ["topologyKey", "whenUnsatisfiable"]}
SET = "set"
ATOMIC_MAPS = {"selector", "podSelector", "namespaceSelector", "labelSelector", "roleRef",
               "openAPIV3Schema"}
GRANULAR_MAPS = {"labels", "annotations", "data", "binaryData", "stringData", "nodeSelector",
                 "limits", "requests", "parameters", "rollingUpdate", "matchLabels"}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def list_keys(spath, kind):
    """The keys of an associative list at this field path, SET for a set of scalars, or None
    for an atomic list."""
    if not spath:
        return None
    name = spath[-1]
    if name == "ports":
        if any(c in spath for c in CONTAINER_LISTS):
            return ["containerPort", "protocol"]
        if kind == "Service" and spath == ("spec", "ports"):
            return ["port", "protocol"]
        return None
    if spath == ("metadata", "finalizers"):
        return SET
    return ASSOC.get(name)


def atomic_map(spath):
    return bool(spath) and spath[-1] in ATOMIC_MAPS


KEY_DEFAULTS = {"protocol": "TCP"}


def key_value(item, k):
    return item.get(k, KEY_DEFAULTS.get(k))


def item_key(item, keys):
    """The k: path element of an associative list item. A key field the item leaves out
    counts with its default (ports' protocol is TCP), as the apiserver defaults keys."""
    return json.dumps({k: key_value(item, k) for k in sorted(keys)
                       if k in item or k in KEY_DEFAULTS}, separators=(",", ":"), sort_keys=True)


def keyed(lst, keys):
    return (keys not in (None, SET) and isinstance(lst, list)
            and all(isinstance(i, dict) for i in lst))


ITEM = ("<item>",)
MAP = ("<map>",)


def flatten(val, kind, spath=(), fpath=(), out=None, maps=False):
    """{path: value} for every leaf and list item (and granular maps with maps=True), paths
    being tuples of FieldsV1 path elements (f:name, k:{...}, v:value)."""
    if out is None:
        out = {}
    if isinstance(val, dict) and not atomic_map(spath):
        if not val:
            if fpath:
                out[fpath] = {}
            return out
        if maps and fpath and spath[-1] in GRANULAR_MAPS:
            out[fpath] = MAP
        for k, v in val.items():
            flatten(v, kind, spath + (k,), fpath + ("f:" + k,), out, maps)
        return out
    if isinstance(val, list) and val:
        keys = list_keys(spath, kind)
        if keys == SET and all(not isinstance(i, (dict, list)) for i in val):
            for i in val:
                out[fpath + ("v:" + json.dumps(i),)] = ITEM
            return out
        if keyed(val, keys):
            for item in val:
                pe = fpath + ("k:" + item_key(item, keys),)
                out[pe] = ITEM
                for k, v in item.items():
                    flatten(v, kind, spath + (k,), pe + ("f:" + k,), out, maps)
            return out
    out[fpath] = val
    return out


STRIPPED = [("f:apiVersion",), ("f:kind",), ("f:metadata", "f:name"),
            ("f:metadata", "f:namespace"), ("f:metadata", "f:uid"),
            ("f:metadata", "f:resourceVersion"), ("f:metadata", "f:generation"),
            ("f:metadata", "f:creationTimestamp"), ("f:metadata", "f:managedFields"),
            ("f:metadata", "f:selfLink"), ("f:metadata", "f:deletionTimestamp"),
            ("f:metadata", "f:deletionGracePeriodSeconds"), ("f:metadata", "f:generateName")]


def scoped(paths, info, subresource):
    """Only the paths a write to the main resource (or to status) may own."""
    out = set()
    for p in paths:
        if any(p[:len(s)] == s for s in STRIPPED):
            continue
        is_status = p[:1] == ("f:status",)
        if subresource == "scale":
            if p[:2] == ("f:spec", "f:replicas"):
                out.add(p)
        elif subresource == "status":
            if is_status:
                out.add(p)
        elif not (is_status and info["status"]):
            out.add(p)
    return out


def compare(old, new):
    """(modified, added, removed) between two flattened objects."""
    modified = {p for p in old.keys() & new.keys() if old[p] != new[p]}
    return modified, set(new) - set(old), set(old) - set(new)


def pe_sort_key(pe):
    if pe == ".":
        return (0, "")
    return ({"f": 1, "k": 2, "v": 3, "i": 4}.get(pe[0], 5), pe)


def set_to_fields(paths):
    root = {}
    for p in paths:
        node = root
        for pe in p:
            node = node.setdefault(pe, {})
        node["."] = {}

    def render(node):
        out = {}
        children = {k: v for k, v in node.items() if k != "."}
        if "." in node and not children:
            return {}
        for k in sorted(node, key=pe_sort_key):
            out[k] = {} if k == "." else render(node[k])
        return out

    return {k: render(v) for k, v in sorted(root.items(), key=lambda kv: pe_sort_key(kv[0]))}


def fields_to_set(fields, prefix=()):
    out = set()
    for k, v in (fields or {}).items():
        if k == ".":
            out.add(prefix)
            continue
        p = prefix + (k,)
        if not v:
            out.add(p)
        else:
            out |= fields_to_set(v, p)
    return out


def path_string(p):
    """A field path as structured-merge-diff prints it: .spec.containers[name="web"].image"""
    out = ""
    for pe in p:
        kind, rest = pe[0], pe[2:]
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            d = json.loads(rest)
            out += "[" + ",".join("%s=%s" % (k, json.dumps(d[k]) if isinstance(d[k], str)
                                              else json.dumps(d[k])) for k in sorted(d)) + "]"
        elif kind == "v":
            out += "[=%s]" % rest
        else:
            out += "[%s]" % rest
    return out


# ---------------------------------------------------------------- merging

def strip_nulls(v):
    if isinstance(v, dict):
        return {k: strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [strip_nulls(x) for x in v]
    return v


def apply_merge(live, cfg, kind, spath=()):
    """Merge an applied configuration into the live object (structured-merge-diff style)."""
    if isinstance(cfg, dict) and isinstance(live, dict) and not atomic_map(spath):
        out = copy.deepcopy(live)
        for k, v in cfg.items():
            out[k] = apply_merge(live[k], v, kind, spath + (k,)) if k in live else copy.deepcopy(v)
        return out
    if isinstance(cfg, list) and isinstance(live, list):
        keys = list_keys(spath, kind)
        if keys == SET:
            return list(live) + [x for x in cfg if x not in live]
        if keyed(cfg, keys) and keyed(live, keys):
            cfg_by = {item_key(i, keys): i for i in cfg}
            live_keys = {item_key(i, keys) for i in live}
            out = [apply_merge(i, cfg_by[item_key(i, keys)], kind, spath)
                   if item_key(i, keys) in cfg_by else copy.deepcopy(i) for i in live]
            return out + [copy.deepcopy(i) for i in cfg if item_key(i, keys) not in live_keys]
    return copy.deepcopy(cfg)


def remove_path(obj, path):
    """Removes the node at a FieldsV1 path; drops maps it leaves empty. True if removed."""
    trail = []
    node = obj
    for i, pe in enumerate(path):
        last = i == len(path) - 1
        kind, rest = pe[0], pe[2:]
        if kind == "f":
            if not isinstance(node, dict) or rest not in node:
                return False
            if last:
                del node[rest]
                break
            trail.append((node, rest))
            node = node[rest]
        elif kind in "kv":
            if not isinstance(node, list):
                return False
            want = json.loads(rest)
            idx = None
            for j, item in enumerate(node):
                if kind == "v" and item == want:
                    idx = j
                elif kind == "k" and isinstance(item, dict) and all(
                        key_value(item, k) == x for k, x in want.items()):
                    idx = j
                if idx is not None:
                    break
            if idx is None:
                return False
            if last:
                del node[idx]
                break
            node = node[idx]
            trail.append(None)
        else:
            return False
    for entry in reversed(trail):
        if entry is None:
            break
        parent, key = entry
        if parent[key] in ({}, []) and len(trail) > 1 and parent is not obj:
            del parent[key]
        else:
            break
    return True


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strip_directives(v):
    if isinstance(v, dict):
        return {k: strip_directives(x) for k, x in v.items()
                if not k.startswith("$") and x is not None}
    if isinstance(v, list):
        return [strip_directives(x) for x in v
                if not (isinstance(x, dict) and x.get("$patch") == "delete")]
    return v


def strategic_merge(live, patch, kind, spath=()):
    """A subset of strategic merge patch: merge-patch maps, lists merged by their patch merge
    key, $patch: replace/delete, $deleteFromPrimitiveList, $setElementOrder ignored."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    out = copy.deepcopy(live) if isinstance(live, dict) else {}
    for k, v in patch.items():
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field] if x not in v]
            continue
        if k.startswith("$"):
            continue
        sp = spath + (k,)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            if v.get("$patch") == "delete":
                out.pop(k, None)
            elif atomic_map(sp):
                out[k] = strip_directives(v)
            else:
                out[k] = strategic_merge(out.get(k), v, kind, sp)
        elif isinstance(v, list):
            keys = list_keys(sp, kind)
            cur = out.get(k)
            if keys == SET and isinstance(cur, list):
                out[k] = cur + [x for x in v if x not in cur]
            elif keyed(v, keys) and isinstance(cur, list):
                mk = keys[0]
                if any(i.get("$patch") == "replace" for i in v):
                    out[k] = strip_directives([i for i in v if i.get("$patch") != "replace"])
                    continue
                result = copy.deepcopy(cur)
                for item in v:
                    idx = next((j for j, x in enumerate(result)
                                if isinstance(x, dict) and x.get(mk) == item.get(mk)), None)
                    if item.get("$patch") == "delete":
                        if idx is not None:
                            del result[idx]
                    elif idx is not None:
                        result[idx] = strategic_merge(result[idx], item, kind, sp)
                    else:
                        result.append(strip_directives(item))
                out[k] = result
            else:
                out[k] = strip_directives(v)
        else:
            out[k] = v
    return out


def json_pointer(p):
    if p == "":
        return []
    if not p.startswith("/"):
        raise ApiError(422, "Invalid", "invalid JSON pointer %r" % p)
    return [x.replace("~1", "/").replace("~0", "~") for x in p[1:].split("/")]


def json_patch(doc, ops):
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")

    def parent(path):
        parts = json_pointer(path)
        if not parts:
            raise ApiError(422, "Invalid", "cannot operate on the document root")
        node = doc
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, parts[-1]

    def get(path):
        node = doc
        for part in json_pointer(path):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    for op in ops:
        try:
            o, path = op["op"], op["path"]
            if o in ("add", "replace"):
                node, last = parent(path)
                if isinstance(node, list):
                    if last == "-":
                        node.append(op["value"])
                    elif o == "add":
                        node.insert(int(last), op["value"])
                    else:
                        node[int(last)] = op["value"]
                else:
                    if o == "replace" and last not in node:
                        raise KeyError(last)
                    node[last] = op["value"]
            elif o == "remove":
                node, last = parent(path)
                del node[int(last) if isinstance(node, list) else last]
            elif o == "test":
                if get(path) != op.get("value"):
                    raise ApiError(422, "Invalid", "testing value %s failed" % path)
            elif o in ("move", "copy"):
                value = copy.deepcopy(get(op["from"]))
                if o == "move":
                    node, last = parent(op["from"])
                    del node[int(last) if isinstance(node, list) else last]
                node, last = parent(path)
                if isinstance(node, list):
                    node.insert(len(node) if last == "-" else int(last), value)
                else:
                    node[last] = value
            else:
                raise ApiError(422, "Invalid", "unexpected operation %r" % o)
        except ApiError:
            raise
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in "
                           "our request: %s: %s" % (op, e))
    return doc


# ---------------------------------------------------------------- defaulting

def pull_policy(image):
    last = image.rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_pod_spec(spec):
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for lst in CONTAINER_LISTS:
        for c in spec.get(lst) or []:
            if not isinstance(c, dict):
                continue
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            if isinstance(c.get("image"), str):
                c.setdefault("imagePullPolicy", pull_policy(c["image"]))
            c.setdefault("resources", {})
            for p in c.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
    for v in spec.get("volumes") or []:
        for src in ("configMap", "secret"):
            if isinstance(v, dict) and isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)


def default_template(obj):
    t = (obj.get("spec") or {}).get("template")
    if isinstance(t, dict):
        default_pod_spec(t.get("spec"))


def allocate_ip():
    S.next_ip += 1
    return "10.96.%d.%d" % (S.next_ip // 250, S.next_ip % 250 + 1)


def default_object(info, obj, live):
    kind, spec = info["kind"], obj.get("spec")
    meta = obj["metadata"]
    if kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    elif kind == "Secret":
        if not obj.get("type"):
            obj["type"] = "Opaque"
        sd = obj.pop("stringData", None)
        if isinstance(sd, dict):
            data = obj.setdefault("data", {})
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
    elif kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        st = spec.setdefault("strategy", {})
        if isinstance(st, dict):
            st.setdefault("type", "RollingUpdate")
            if st["type"] == "RollingUpdate":
                ru = st.setdefault("rollingUpdate", {})
                ru.setdefault("maxUnavailable", "25%")
                ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        default_template(obj)
    elif kind == "StatefulSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if isinstance(us, dict) and us.get("type") == "RollingUpdate":
            us.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy",
                        {"whenDeleted": "Retain", "whenScaled": "Retain"})
        for pvc in spec.get("volumeClaimTemplates") or []:
            if isinstance(pvc, dict):
                pvc.setdefault("apiVersion", "v1")
                pvc.setdefault("kind", "PersistentVolumeClaim")
                pvc.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
                pvc.setdefault("status", {"phase": "Pending"})
        default_template(obj)
    elif kind == "DaemonSet" and isinstance(spec, dict):
        us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if isinstance(us, dict) and us.get("type") == "RollingUpdate":
            ru = us.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", 1)
            ru.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        default_template(obj)
    elif kind == "ReplicaSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        default_template(obj)
    elif kind == "Job" and isinstance(spec, dict):
        # completions defaults only with parallelism (a work queue Job has neither set).
        if "completions" not in spec and "parallelism" not in spec:
            spec["completions"] = 1
        spec.setdefault("parallelism", 1)
        # With a per-index limit the Job-wide one is off (MaxInt32), as the apiserver defaults it.
        spec.setdefault("backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
        spec.setdefault("completionMode", "NonIndexed")
        rules = dig(spec, "podFailurePolicy", "rules")
        for rule in rules if isinstance(rules, list) else []:
            conds = rule.get("onPodConditions") if isinstance(rule, dict) else None
            for c in conds if isinstance(conds, list) else []:
                if isinstance(c, dict):
                    c.setdefault("status", "True")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        if not spec.get("manualSelector"):
            uid = meta["uid"]
            spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
            t = spec.get("template")
            if isinstance(t, dict):
                labels = t.setdefault("metadata", {}).setdefault("labels", {})
                for k, v in (("batch.kubernetes.io/controller-uid", uid),
                             ("batch.kubernetes.io/job-name", meta["name"]),
                             ("controller-uid", uid), ("job-name", meta["name"])):
                    labels.setdefault(k, v)
        default_template(obj)
    elif kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec.get("jobTemplate")
        if isinstance(jt, dict) and isinstance(jt.get("spec"), dict):
            js = jt["spec"]
            js.setdefault("backoffLimit", 6)
            t = js.get("template")
            if isinstance(t, dict):
                default_pod_spec(t.get("spec"))
    elif kind == "Pod" and isinstance(spec, dict):
        default_pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        old = (live or {}).get("spec") or {}
        if spec["type"] != "ExternalName":
            if not spec.get("clusterIP"):
                spec["clusterIP"] = old.get("clusterIP") or allocate_ip()
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            if spec["clusterIP"] != "None":
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in old.get("ports") or []
                     if isinstance(p, dict)}
        for p in spec.get("ports") or []:
            if not isinstance(p, dict):
                continue
            p.setdefault("protocol", "TCP")
            if "port" in p:
                p.setdefault("targetPort", p["port"])
            if spec["type"] in ("NodePort", "LoadBalancer") and "nodePort" not in p:
                prev = old_ports.get((p.get("port"), p["protocol"]), {}).get("nodePort")
                if not prev:
                    S.next_node_port += 1
                    prev = S.next_node_port
                p["nodePort"] = prev
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
    elif kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif kind == "CustomResourceDefinition" and isinstance(spec, dict):
        spec.setdefault("conversion", {"strategy": "None"})
    elif kind == "Node":
        obj.setdefault("spec", {})


def initial_status(info, obj):
    kind = info["kind"]
    if kind == "Namespace":
        return {"phase": "Active"}
    if kind in ("Service", "Ingress"):
        return {"loadBalancer": {}}
    if kind == "PersistentVolumeClaim":
        return {"phase": "Pending"}
    if kind == "Pod":
        return {"phase": "Pending", "qosClass": "BestEffort"}
    if kind == "Job":
        return {"startTime": now(), "active": (obj.get("spec") or {}).get("parallelism", 1),
                "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}
    if kind == "CustomResourceDefinition":
        names = (obj.get("spec") or {}).get("names") or {}
        return {"conditions": [cond("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                               cond("Established", "False", "Installing",
                                    "the initial names have been accepted")],
                "acceptedNames": names,
                "storedVersions": [v["name"] for v in (obj.get("spec") or {}).get("versions") or []
                                   if isinstance(v, dict) and v.get("storage")]}
    if info["crd"] is not None:
        return None
    return {}


def cond(type_, status, reason, message, t=None):
    t = t or now()
    return {"type": type_, "status": status, "lastTransitionTime": t, "reason": reason,
            "message": message}


# ---------------------------------------------------------------- validation

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
QNAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
QNAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
             "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric "
                   "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                   "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                   "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
LABEL_NAMED = {"Namespace", "Service"}
PATH_SEGMENT_NAMED = {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


def name_problem(kind, name):
    if kind in PATH_SEGMENT_NAMED:
        if name in (".", "..") or "/" in name or "%" in name:
            return "may not contain '/' or '%' and may not be '.' or '..'"
        return None
    if kind in LABEL_NAMED:
        if len(name) > 63:
            return "must be no more than 63 characters"
        return None if LABEL.match(name) else LABEL_MSG
    if len(name) > 253:
        return "must be no more than 253 characters"
    return None if SUBDOMAIN.match(name) else SUBDOMAIN_MSG


def check_qualified_name(errs, field, key):
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not SUBDOMAIN.match(prefix)):
        errs.invalid(field, key, "prefix part " + SUBDOMAIN_MSG)
    if not name:
        errs.invalid(field, key, "name part must be non-empty")
    elif len(name) > 63:
        errs.invalid(field, key, "name part must be no more than 63 characters")
    elif not QNAME.match(name):
        errs.invalid(field, key, QNAME_MSG)


def check_labels(errs, field, labels):
    if labels is None:
        return
    if not isinstance(labels, dict):
        errs.invalid(field, labels, "must be a map of strings")
        return
    for k, v in labels.items():
        check_qualified_name(errs, field, k)
        if not isinstance(v, str):
            errs.invalid(field, v, "label values must be strings")
        elif len(v) > 63:
            errs.invalid(field, v, "must be no more than 63 characters")
        elif not LABEL_VALUE.match(v):
            errs.invalid(field, v, LABEL_VALUE_MSG)


def dig(v, *keys):
    for k in keys:
        if not isinstance(v, dict):
            return None
        v = v.get(k)
    return v


def selector_matches(selector, labels):
    if not isinstance(selector, dict):
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def check_pod_spec(errs, field, spec, restart_allowed):
    if not isinstance(spec, dict):
        errs.required(field)
        return
    containers = spec.get("containers")
    if not containers:
        errs.required(field + ".containers")
    seen = set()
    for lst in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(lst) or []):
            f = "%s.%s[%d]" % (field, lst, i)
            if not isinstance(c, dict):
                errs.invalid(f, c, "must be an object")
                continue
            name = c.get("name")
            if not name:
                errs.required(f + ".name")
            elif not isinstance(name, str) or not LABEL.match(name) or len(name) > 63:
                errs.invalid(f + ".name", name, LABEL_MSG)
            elif name in seen:
                errs.duplicate(f + ".name", name)
            seen.add(name)
            if not c.get("image"):
                errs.required(f + ".image")
            for j, p in enumerate(c.get("ports") or []):
                cp = p.get("containerPort") if isinstance(p, dict) else None
                if cp is None:
                    errs.required("%s.ports[%d].containerPort" % (f, j))
                elif not isinstance(cp, int) or not 0 < cp < 65536:
                    errs.invalid("%s.ports[%d].containerPort" % (f, j), cp,
                                 "must be between 1 and 65535, inclusive")
            for j, e in enumerate(c.get("env") or []):
                if not isinstance(e, dict) or not e.get("name"):
                    errs.required("%s.env[%d].name" % (f, j))
    rp = spec.get("restartPolicy")
    if restart_allowed and rp not in restart_allowed:
        errs.unsupported(field + ".restartPolicy", rp, restart_allowed)


def check_workload(errs, obj, live, kind):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.required("spec")
        return
    sel = spec.get("selector")
    t = spec.get("template")
    if kind != "Job" and not sel:
        errs.required("spec.selector")
    elif sel is not None and not isinstance(sel, dict):
        errs.invalid("spec.selector", sel, "must be a label selector")
    elif sel is not None and not (sel.get("matchLabels") or sel.get("matchExpressions")):
        errs.invalid("spec.selector", sel, "empty selector is invalid for deployment")
    if not isinstance(t, dict):
        errs.required("spec.template")
        return
    labels = (t.get("metadata") or {}).get("labels")
    check_labels(errs, "spec.template.metadata.labels", labels)
    if isinstance(sel, dict) and (sel.get("matchLabels") or sel.get("matchExpressions")) \
            and not selector_matches(sel, labels):
        errs.invalid("spec.template.metadata.labels", labels or {},
                     "`selector` does not match template `labels`")
    restart = ["OnFailure", "Never"] if kind == "Job" else ["Always"]
    check_pod_spec(errs, "spec.template.spec", t.get("spec"), restart)
    r = spec.get("replicas")
    if r is not None and (not isinstance(r, int) or r < 0):
        errs.invalid("spec.replicas", r, "must be greater than or equal to 0")
    if live is not None:
        old = live.get("spec") or {}
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job") \
                and old.get("selector") != sel and not (kind == "Job" and sel is None):
            errs.invalid("spec.selector", sel, "field is immutable")
        if kind == "Job" and old.get("template") != t:
            errs.invalid("spec.template", t, "field is immutable")


def check_job(errs, spec, template_spec):
    """The Job fields beyond the pod template, with the apiserver's messages (batch
    validation): completion modes, per-index backoff and the pod failure policy."""
    if not isinstance(spec, dict):
        return
    mode = spec.get("completionMode", "NonIndexed")
    if mode not in ("NonIndexed", "Indexed"):
        errs.unsupported("spec.completionMode", mode, ["NonIndexed", "Indexed"])
    for f in ("parallelism", "completions", "backoffLimit", "backoffLimitPerIndex",
              "maxFailedIndexes"):
        v = spec.get(f)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            errs.invalid("spec." + f, v, "must be greater than or equal to 0")
    if mode == "Indexed":
        if spec.get("completions") is None:
            errs.required("spec.completions", "when completion mode is Indexed")
        for f in ("completions", "parallelism"):
            v = spec.get(f)
            if isinstance(v, int) and v > 100000:
                errs.invalid("spec." + f, v,
                             "must be less than or equal to 100000 when completion mode is Indexed")
    per_index = spec.get("backoffLimitPerIndex")
    if per_index is not None and mode != "Indexed":
        errs.invalid("spec.backoffLimitPerIndex", per_index, "requires indexed completion mode")
    if spec.get("maxFailedIndexes") is not None and per_index is None:
        errs.invalid("spec.maxFailedIndexes", spec["maxFailedIndexes"],
                     "requires the backoffLimitPerIndex to be set")
    policy = spec.get("podFailurePolicy")
    if policy is None:
        return
    restart = (template_spec or {}).get("restartPolicy") if isinstance(template_spec, dict) else None
    if restart != "Never":
        errs.invalid("spec.template.spec.restartPolicy", restart,
                     'only "Never" is supported when podFailurePolicy is specified')
    rules = policy.get("rules") if isinstance(policy, dict) else None
    if not isinstance(rules, list):
        errs.required("spec.podFailurePolicy.rules")
        return
    containers = {c.get("name") for c in (template_spec or {}).get("containers") or []
                  if isinstance(c, dict)} if isinstance(template_spec, dict) else set()
    for i, rule in enumerate(rules):
        f = "spec.podFailurePolicy.rules[%d]" % i
        if not isinstance(rule, dict):
            errs.invalid(f, rule, "must be an object")
            continue
        action = rule.get("action")
        actions = ["Count", "FailIndex", "FailJob", "Ignore"]
        if action not in actions:
            errs.unsupported(f + ".action", action, actions)
        elif action == "FailIndex" and per_index is None:
            errs.invalid(f + ".action", action, "requires the backoffLimitPerIndex to be set")
        codes, conditions = rule.get("onExitCodes"), rule.get("onPodConditions")
        if (codes is None) == (conditions is None):
            errs.invalid(f, "Object", "specifying one of OnExitCodes and OnPodConditions is required")
        if isinstance(codes, dict):
            cf = f + ".onExitCodes"
            name = codes.get("containerName")
            if name is not None and name not in containers:
                errs.invalid(cf + ".containerName", name,
                             "must be one of the container or initContainer names in the pod template")
            op = codes.get("operator")
            if op not in ("In", "NotIn"):
                errs.unsupported(cf + ".operator", op, ["In", "NotIn"])
            values = codes.get("values")
            if not isinstance(values, list) or not values:
                errs.required(cf + ".values", "at least one value is required")
                values = []
            for j, v in enumerate(values):
                if not isinstance(v, int) or isinstance(v, bool):
                    errs.invalid("%s.values[%d]" % (cf, j), v, "must be an integer")
                elif op == "In" and v == 0:
                    errs.invalid("%s.values[%d]" % (cf, j), v, "must not be 0 for the In operator")
                elif j > 0 and isinstance(values[j - 1], int) and v == values[j - 1]:
                    errs.duplicate("%s.values[%d]" % (cf, j), v)
                elif j > 0 and isinstance(values[j - 1], int) and v < values[j - 1]:
                    errs.invalid("%s.values[%d]" % (cf, j), v, "must be ordered")
        for j, c in enumerate(conditions if isinstance(conditions, list) else []):
            cf = "%s.onPodConditions[%d]" % (f, j)
            if not isinstance(c, dict) or not c.get("type"):
                errs.required(cf + ".type")
            elif c.get("status", "True") not in ("True", "False", "Unknown"):
                errs.unsupported(cf + ".status", c.get("status"), ["True", "False", "Unknown"])


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(v)]


def check_schema(errs, value, schema, field):
    """A small structural-schema check for custom resources: type, required, enum; unknown
    fields are pruned (as the apiserver does) unless x-kubernetes-preserve-unknown-fields."""
    if not isinstance(schema, dict):
        return value
    t = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    actual = json_type(value)
    wrong = (t == "integer" and actual != "integer") or \
        (t == "number" and actual not in ("integer", "number")) or \
        (t in types and not isinstance(value, types[t]) or (t == "object" and value is None))
    if t and wrong and not (schema.get("x-kubernetes-int-or-string")
                            and actual in ("integer", "string")):
        errs.invalid(field, actual, "%s in body must be of type %s: %s"
                     % (field, t, json.dumps(actual)))
        return value
    if "enum" in schema and value not in schema["enum"]:
        errs.unsupported(field, value, schema["enum"])
    if isinstance(value, dict):
        props = schema.get("properties")
        for r in schema.get("required") or []:
            if r not in value:
                errs.required(field + "." + r if field else r)
        out = {}
        for k, v in value.items():
            if props is not None and k in props:
                out[k] = check_schema(errs, v, props[k], field + "." + k if field else k)
            elif isinstance(schema.get("additionalProperties"), dict):
                out[k] = check_schema(errs, v, schema["additionalProperties"],
                                      field + "." + k if field else k)
            elif props is None or schema.get("x-kubernetes-preserve-unknown-fields") \
                    or schema.get("additionalProperties") is True:
                out[k] = v
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [check_schema(errs, v, schema["items"], "%s[%d]" % (field, i))
                for i, v in enumerate(value)]
    return value


def validate(info, obj, live):
    errs = Errs()
    kind = info["kind"]
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if not name:
        errs.required("metadata.name", "name or generateName is required")
    else:
        problem = name_problem(kind, name)
        if problem:
            errs.invalid("metadata.name", name, problem)
    check_labels(errs, "metadata.labels", meta.get("labels"))
    ann = meta.get("annotations")
    if ann is not None:
        if not isinstance(ann, dict) or not all(isinstance(v, str) for v in ann.values()):
            errs.invalid("metadata.annotations", ann, "annotation values must be strings")
        else:
            for k in ann:
                check_qualified_name(errs, "metadata.annotations", k)
    spec = obj.get("spec")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        check_workload(errs, obj, live, kind)
        if kind == "Job":
            check_job(errs, spec, dig(spec, "template", "spec"))
    elif kind == "CronJob":
        if not isinstance(spec, dict) or not spec.get("schedule"):
            errs.required("spec.schedule")
        jt = dig(spec, "jobTemplate", "spec", "template", "spec")
        check_pod_spec(errs, "spec.jobTemplate.spec.template.spec", jt, ["OnFailure", "Never"])
    elif kind == "Pod":
        check_pod_spec(errs, "spec", spec, ["Always", "OnFailure", "Never"])
    elif kind == "Service":
        spec = spec if isinstance(spec, dict) else {}
        stype = spec.get("type", "ClusterIP")
        if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            errs.unsupported("spec.type", stype,
                             ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"])
        ports = spec.get("ports") or []
        if not ports and stype != "ExternalName" and spec.get("clusterIP") != "None":
            errs.required("spec.ports")
        for i, p in enumerate(ports):
            port = p.get("port") if isinstance(p, dict) else None
            if port is None:
                errs.required("spec.ports[%d].port" % i)
            elif not isinstance(port, int) or not 0 < port < 65536:
                errs.invalid("spec.ports[%d].port" % i, port,
                             "must be between 1 and 65535, inclusive")
            if len(ports) > 1 and isinstance(p, dict) and not p.get("name"):
                errs.required("spec.ports[%d].name" % i)
        if live is not None:
            old_ip = (live.get("spec") or {}).get("clusterIP")
            if old_ip and spec.get("clusterIP") and spec.get("clusterIP") != old_ip:
                errs.invalid("spec.clusterIPs[0]", spec.get("clusterIP"),
                             "may not change once set")
    elif kind in ("ConfigMap", "Secret"):
        for field in ("data", "binaryData"):
            for k in (obj.get(field) or {}):
                if not CONFIG_KEY.match(k) or len(k) > 253:
                    errs.invalid("%s[%s]" % (field, k), k,
                                 "a valid config key must consist of alphanumeric characters, "
                                 "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                                 "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
        if kind == "ConfigMap":
            for k, v in (obj.get("data") or {}).items():
                if not isinstance(v, str):
                    errs.invalid("data[%s]" % k, v, "must be a string")
        else:
            for k, v in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(v, validate=True)
                except (ValueError, TypeError):
                    raise bad_request("Secret in version \"v1\" cannot be handled as a Secret: "
                                      "illegal base64 data at input byte 0")
    elif kind == "Ingress":
        for i, rule in enumerate((spec or {}).get("rules") or []):
            for j, p in enumerate(((rule or {}).get("http") or {}).get("paths") or []):
                f = "spec.rules[%d].http.paths[%d]" % (i, j)
                if not p.get("pathType"):
                    errs.required(f + ".pathType", "pathType must be specified")
                if not p.get("backend"):
                    errs.required(f + ".backend")
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        rr = obj.get("roleRef")
        if not isinstance(rr, dict) or not rr.get("name"):
            errs.required("roleRef.name")
        if not isinstance(rr, dict) or not rr.get("kind"):
            errs.required("roleRef.kind")
        if live is not None and live.get("roleRef") != rr:
            errs.invalid("roleRef", rr, "cannot change roleRef")
    elif kind == "CustomResourceDefinition":
        spec = spec if isinstance(spec, dict) else {}
        names = spec.get("names") or {}
        if not spec.get("group"):
            errs.required("spec.group")
        if not names.get("plural"):
            errs.required("spec.names.plural")
        if not names.get("kind"):
            errs.required("spec.names.kind")
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            errs.unsupported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"])
        if names.get("plural") and spec.get("group") and \
                name != "%s.%s" % (names["plural"], spec["group"]):
            errs.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        versions = spec.get("versions") or []
        if not versions:
            errs.required("spec.versions", "must have exactly one version marked as storage version")
        elif sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
            errs.invalid("spec.versions", versions,
                         "must have exactly one version marked as storage version")
        for i, v in enumerate(versions):
            if isinstance(v, dict) and not (v.get("schema") or {}).get("openAPIV3Schema"):
                errs.required("spec.versions[%d].schema.openAPIV3Schema" % i,
                              "schemas are required")
    if info["crd"] is not None and info.get("schema"):
        for k in list(obj):
            if k in ("apiVersion", "kind", "metadata"):
                continue
            props = info["schema"].get("properties")
            if props is not None and k not in props and not info["schema"].get(
                    "x-kubernetes-preserve-unknown-fields"):
                del obj[k]
            elif props is not None and k in props:
                obj[k] = check_schema(errs, obj[k], props[k], k)
    errs.raise_if_any(info, name)


# ---------------------------------------------------------------- objects

def ordered(obj, info=None):
    """An object with its keys in the apiserver's order (apiVersion, kind, metadata, ...)."""
    out = {}
    for k in ("apiVersion", "kind", "metadata"):
        if k in obj:
            out[k] = obj[k]
    rest = [k for k in obj if k not in out and k != "status"]
    for k in rest:
        out[k] = obj[k]
    if "status" in obj:
        out["status"] = obj["status"]
    meta = out.get("metadata")
    if isinstance(meta, dict):
        order = ["name", "generateName", "namespace", "uid", "resourceVersion", "generation",
                 "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "labels", "annotations", "ownerReferences", "finalizers", "managedFields"]
        m = {k: meta[k] for k in order if k in meta}
        m.update({k: v for k, v in meta.items() if k not in m})
        out["metadata"] = m
    return out


def api_version(info):
    return info["group"] + "/" + info["version"] if info["group"] else info["version"]


def view(info, obj):
    """The object as served at this group-version."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = api_version(info)
    out["kind"] = info["kind"]
    return ordered(out)


def spec_part(obj):
    return {k: v for k, v in obj.items()
            if k not in ("metadata", "status", "apiVersion", "kind")}


def managers_of(obj):
    """[entry with "_set"] from an object's managedFields."""
    out = []
    for e in (obj or {}).get("metadata", {}).get("managedFields") or []:
        e = dict(e)
        e["_set"] = fields_to_set(e.get("fieldsV1"))
        out.append(e)
    return out


def manager_id(e):
    return (e.get("manager"), e.get("operation"), e.get("subresource", ""),
            "" if e.get("operation") == "Apply" else e.get("apiVersion"))


def render_managers(managers, old_managers, writer):
    olds = {manager_id(e): e for e in old_managers}
    out = []
    for e in managers:
        if not e["_set"]:
            continue
        r = {"manager": e["manager"], "operation": e["operation"], "apiVersion": e["apiVersion"],
             "time": e.get("time") or now(), "fieldsType": "FieldsV1",
             "fieldsV1": set_to_fields(e["_set"])}
        if e.get("subresource"):
            r["subresource"] = e["subresource"]
        old = olds.get(manager_id(e))
        if manager_id(e) == writer or old is None or old["_set"] != e["_set"]:
            r["time"] = now()
        else:
            r["time"] = old.get("time") or r["time"]
        out.append(r)
    return out


def record(info, ns, name, type_, obj):
    S.rv += 1
    obj["metadata"]["resourceVersion"] = str(S.rv)
    S.events.append((S.rv, info["group"], info["plural"], ns, type_, copy.deepcopy(obj)))
    CHANGED.notify_all()


def get_obj(info, ns, name):
    return store(info["group"], info["plural"]).get((ns or "", name))


def namespace_obj(ns):
    return store("", "namespaces").get(("", ns))


def commit(info, ns, name, new, managers, live, writer, dry, status=200, old_managers=None):
    """Persists `new` (unless dry) with its managed fields; a no-op leaves everything as it
    was. Returns (http status, object as stored)."""
    meta = new["metadata"]
    meta.pop("managedFields", None)
    meta.pop("resourceVersion", None)
    old_managers = old_managers if old_managers is not None else managers_of(live)
    if live is not None:
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if k in live["metadata"]:
                meta[k] = live["metadata"][k]
            else:
                meta.pop(k, None)
        if info["gen"]:
            meta["generation"] = live["metadata"].get("generation", 1) + (
                1 if spec_part(new) != spec_part(live) else 0)
        else:
            meta.pop("generation", None)
        rendered = render_managers(managers, old_managers, writer)
        old_plain = copy.deepcopy(live)
        old_plain["metadata"].pop("managedFields", None)
        old_plain["metadata"].pop("resourceVersion", None)
        same_sets = [(manager_id(e), e["_set"]) for e in managers if e["_set"]] == \
            [(manager_id(e), e["_set"]) for e in old_managers if e["_set"]]
        if old_plain == new and same_sets:
            return 200, live
        meta["managedFields"] = rendered
        if dry:
            meta["resourceVersion"] = live["metadata"]["resourceVersion"]
            return status, ordered(new)
    else:
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        if info["gen"]:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        meta["managedFields"] = render_managers(managers, [], writer)
        if dry:
            return status, ordered(new)
    new = ordered(new)
    if live is not None and live["metadata"].get("deletionTimestamp") and \
            not meta.get("finalizers") and info["kind"] != "Namespace":
        store(info["group"], info["plural"]).pop((ns or "", name), None)
        record(info, ns, name, "DELETED", new)
        after_delete(info, new)
        return status, new
    store(info["group"], info["plural"])[(ns or "", name)] = new
    record(info, ns, name, "MODIFIED" if live is not None else "ADDED", new)
    react(info, new, live)
    return status, new


def update_managers(info, managers, writer_entry, old_obj, new_obj, subresource=""):
    """Ownership after an Update operation (create, update, non-apply patch)."""
    mod, add, rem = compare(flatten(old_obj or {}, info["kind"], maps=True),
                            flatten(new_obj, info["kind"], maps=True))
    mod = scoped(mod, info, subresource)
    add = scoped(add, info, subresource)
    rem = scoped(rem, info, subresource)
    wid = manager_id(writer_entry)
    mine = None
    for e in managers:
        if manager_id(e) == wid:
            mine = e
        else:
            e["_set"] = e["_set"] - mod - add - rem
    if mine is None:
        mine = dict(writer_entry, _set=set())
        managers.append(mine)
    mine["_set"] = (mine["_set"] - rem) | mod | add
    return [e for e in managers if e["_set"]]


def server_fields(info, obj, ns, name):
    obj["apiVersion"] = api_version(info)
    obj["kind"] = info["kind"]
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    meta["name"] = name
    if info["namespaced"]:
        meta["namespace"] = ns
    else:
        meta.pop("namespace", None)


def check_body_identity(info, body, ns, name):
    if not isinstance(body, dict):
        raise bad_request("the body of the request must be a JSON object")
    kind = body.get("kind")
    if kind and kind != info["kind"]:
        raise bad_request("the kind of the provided object (%s) does not match the kind of the "
                          "resource (%s)" % (kind, info["kind"]))
    meta = body.get("metadata") or {}
    if not isinstance(meta, dict):
        raise bad_request("metadata must be an object")
    if name is not None and meta.get("name") and meta["name"] != name:
        raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                          % (meta["name"], name))
    if info["namespaced"] and ns and meta.get("namespace") and meta["namespace"] != ns:
        raise bad_request("the namespace of the provided object does not match the namespace "
                          "sent on the request")


def require_namespace(info, ns, creating=True):
    if not info["namespaced"]:
        return
    nso = namespace_obj(ns)
    if nso is None:
        raise ns_not_found(ns)
    if creating and nso["metadata"].get("deletionTimestamp"):
        raise ApiError(403, "Forbidden",
                       '%s "%s" is forbidden: unable to create new content in namespace %s '
                       "because it is being terminated" % (qualified(info), "", ns),
                       {"kind": info["plural"]})


def writer_entry(manager, operation, info, subresource=""):
    e = {"manager": manager, "operation": operation, "apiVersion": api_version(info)}
    if subresource:
        e["subresource"] = subresource
    return e


def check_manager(manager):
    if manager is not None and len(manager) > 128:
        raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                       "Too long: may not be more than 128 bytes", {"kind": "PatchOptions"})


def op_create(info, ns, body, q, ua, dry):
    check_body_identity(info, body, ns, None)
    meta = body.setdefault("metadata", {})
    name = meta.get("name")
    if not name and meta.get("generateName"):
        name = meta["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789")
                                              for _ in range(5))
    if not name:
        errs = Errs()
        errs.required("metadata.name", "name or generateName is required")
        errs.raise_if_any(info, "")
    if info["namespaced"]:
        require_namespace(info, ns)
    if get_obj(info, ns, name) is not None:
        raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(info), name),
                       {"name": name, "group": info["group"], "kind": info["plural"]})
    obj = copy.deepcopy(body)
    server_fields(info, obj, ns, name)
    for k in ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
              "managedFields", "selfLink"):
        meta = obj["metadata"]
        meta.pop(k, None)
    obj["metadata"]["uid"] = str(uuid.uuid4())
    obj["metadata"]["creationTimestamp"] = now()
    if info["status"]:
        st = initial_status(info, obj)
        if st is None:
            obj.pop("status", None)
        else:
            obj["status"] = st
    default_object(info, obj, None)
    validate(info, obj, None)
    manager = q.get("fieldManager") or ua_manager(ua)
    check_manager(manager)
    managers = update_managers(info, [], writer_entry(manager, "Update", info), {}, obj)
    return commit(info, ns, name, obj, managers, None,
                  manager_id(writer_entry(manager, "Update", info)), dry, status=201)


def ua_manager(ua):
    return (ua or "unknown").split("/", 1)[0] or "unknown"


def check_precondition(info, body, live, name):
    rv = ((body or {}).get("metadata") or {}).get("resourceVersion")
    if rv and rv != live["metadata"]["resourceVersion"]:
        raise ApiError(409, "Conflict",
                       'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                       "please apply your changes to the latest version and try again"
                       % (qualified(info), name),
                       {"name": name, "group": info["group"], "kind": info["plural"]})


def op_update(info, ns, name, new, live, q, ua, dry, subresource="", precondition_body=None):
    """The common tail of PUT and of the non-apply patches: `new` is the whole object."""
    check_precondition(info, precondition_body if precondition_body is not None else new, live,
                       name)
    check_body_identity(info, new, ns, name)
    new = copy.deepcopy(new)
    # Managed fields sent with an update replace the stored ones (kubectl uses that to move
    # client-side-apply ownership to server-side apply); [{}] clears them.
    sent = (new.get("metadata") or {}).get("managedFields") if isinstance(new.get("metadata"),
                                                                          dict) else None
    basis = managers_of(live)
    if sent and not subresource and isinstance(sent, list):
        basis = [] if sent == [{}] else managers_of(new)
    server_fields(info, new, ns, name)
    if subresource == "status":
        obj = copy.deepcopy(live)
        obj["status"] = new.get("status")
        if obj["status"] is None:
            obj.pop("status")
        new = obj
    elif info["status"]:
        if "status" in live:
            new["status"] = copy.deepcopy(live["status"])
        else:
            new.pop("status", None)
    default_object(info, new, live)
    old_fin = set(live["metadata"].get("finalizers") or [])
    if live["metadata"].get("deletionTimestamp"):
        added = set(new["metadata"].get("finalizers") or []) - old_fin
        if added:
            raise ApiError(422, "Invalid", '%s "%s" is invalid: metadata.finalizers: Forbidden: '
                           "no new finalizers can be added if the object is being deleted"
                           % (kind_qualified(info), name))
    validate(info, new, live)
    manager = q.get("fieldManager") or ua_manager(ua)
    check_manager(manager)
    w = writer_entry(manager, "Update", info, subresource)
    old_plain = copy.deepcopy(live)
    old_plain["metadata"].pop("managedFields", None)
    new["metadata"].pop("managedFields", None)
    old_managers = managers_of(live)
    managers = update_managers(info, basis, w, old_plain, new, subresource)
    return commit(info, ns, name, new, managers, live, manager_id(w), dry,
                  old_managers=old_managers)


def conflict_error(conflicts):
    """409 as the apiserver reports apply conflicts. conflicts: [(entry, path)]"""
    def who(e):
        s = json.dumps(e["manager"])
        if e.get("subresource"):
            s += " with subresource %s" % json.dumps(e["subresource"])
        if e["operation"] == "Update":
            s += " using " + e["apiVersion"]
        return s

    causes = [{"reason": "FieldManagerConflict", "message": "conflict with " + who(e),
               "field": path_string(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        msg = "Apply failed with 1 conflict: conflict with %s: %s" % (who(e), path_string(p))
    else:
        by = {}
        for e, p in conflicts:
            by.setdefault(json.dumps({"manager": e["manager"], "operation": e["operation"]}),
                          (e, []))[1].append(p)
        lines = []
        for k in sorted(by):
            e, paths = by[k]
            lines.append("conflicts with %s:" % who(e))
            lines += ["- " + path_string(p) for p in paths]
        msg = "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(lines))
    return ApiError(409, "Conflict", msg, {"causes": causes})


def sort_paths(paths):
    return sorted(paths, key=lambda p: [pe_sort_key(pe) for pe in p])


def op_apply(info, ns, name, body, q, dry, subresource=""):
    manager = q.get("fieldManager")
    if not manager:
        raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                       "Required value: is required for apply patch",
                       {"kind": "PatchOptions", "group": "meta.k8s.io",
                        "causes": [{"reason": "FieldValueRequired",
                                    "message": "Required value: is required for apply patch",
                                    "field": "fieldManager"}]})
    check_manager(manager)
    force = q.get("force") in ("true", "1", "True")
    check_body_identity(info, body, ns, name)
    if not body.get("apiVersion") or not body.get("kind"):
        raise bad_request("invalid object: apiVersion and kind must be set in an apply patch")
    live = get_obj(info, ns, name)
    if live is None:
        if subresource:
            raise not_found(info, name)
        require_namespace(info, ns)
    else:
        check_precondition(info, body, live, name)
    cfg = strip_nulls(copy.deepcopy(body))
    if subresource == "status":
        cfg = {"status": cfg.get("status") or {}}
    elif info["status"]:
        cfg.pop("status", None)
    cfg_set = scoped(flatten(cfg, info["kind"]), info, subresource)

    if live is not None:
        base = copy.deepcopy(live)
        base["metadata"].pop("managedFields", None)
        base["metadata"].pop("resourceVersion", None)
    else:
        base = {"metadata": {"name": name}}
        if info["status"]:
            st = initial_status(info, {"spec": cfg.get("spec")})
            if st is not None:
                base["status"] = st
    merged = apply_merge(base, cfg, info["kind"])
    server_fields(info, merged, ns, name)
    if live is None:
        merged["metadata"]["uid"] = str(uuid.uuid4())
        merged["metadata"]["creationTimestamp"] = now()

    old_managers = managers_of(live)
    managers = copy.deepcopy(old_managers)
    me = writer_entry(manager, "Apply", info, subresource)
    mid = manager_id(me)
    mine = next((e for e in managers if manager_id(e) == mid), None)
    last = mine["_set"] if mine else set()
    others = set()
    for e in managers:
        if manager_id(e) != mid:
            others |= e["_set"]
    keep = others | cfg_set
    for p in sorted(last - keep, key=len):
        if any(len(k) > len(p) and k[:len(p)] == p for k in keep):
            continue
        remove_path(merged, p)
    default_object(info, merged, live)
    validate(info, merged, live)

    old_flat = flatten(base if live is not None else {}, info["kind"])
    mod, add, rem = compare(old_flat, flatten(merged, info["kind"]))
    changed = scoped(mod | add, info, subresource)
    rem = scoped(rem, info, subresource)
    conflicts = []
    for e in managers:
        if manager_id(e) == mid:
            continue
        for p in sort_paths(e["_set"] & changed):
            conflicts.append((e, p))
    if conflicts and not force:
        raise conflict_error(conflicts)
    for e in managers:
        if manager_id(e) != mid:
            e["_set"] = e["_set"] - changed - rem
    if mine is None:
        mine = dict(me)
        managers.append(mine)
    mine["apiVersion"] = api_version(info)
    mine["_set"] = cfg_set
    managers = [e for e in managers if e["_set"]]
    return commit(info, ns, name, merged, managers, live, mid, dry,
                  status=201 if live is None else 200, old_managers=old_managers)


def after_delete(info, obj):
    if info["kind"] == "CustomResourceDefinition":
        spec = obj.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural")
        group = spec.get("group")
        objs = S.objects.pop((group, plural), {})
        for (ns, name), o in objs.items():
            S.rv += 1
            o["metadata"]["resourceVersion"] = str(S.rv)
            S.events.append((S.rv, group, plural, ns, "DELETED", copy.deepcopy(o)))
        CHANGED.notify_all()


def delete_obj(info, ns, name, dry, precondition=None):
    live = get_obj(info, ns, name)
    if live is None:
        raise not_found(info, name)
    if precondition and precondition.get("uid") and precondition["uid"] != live["metadata"]["uid"]:
        raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, UID in "
                       "object meta: %s" % (precondition["uid"], live["metadata"]["uid"]))
    if info["kind"] == "Namespace":
        if name in ("default", "kube-system", "kube-public"):
            raise ApiError(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may '
                           "not be deleted" % name, {"name": name, "kind": "namespaces"})
        if live["metadata"].get("deletionTimestamp"):
            raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on namespaces "%s": '
                           "The system is ensuring all content is removed from this namespace.  "
                           "Upon completion, this namespace will automatically be purged by the "
                           "system." % name, {"name": name, "kind": "namespaces"})
        obj = copy.deepcopy(live)
        obj["metadata"]["deletionTimestamp"] = now()
        obj["status"] = {"phase": "Terminating"}
        if dry:
            return 200, obj
        store("", "namespaces")[("", name)] = obj
        record(info, ns, name, "MODIFIED", obj)
        later(CONF["namespace_grace"], lambda: finish_namespace(name))
        return 200, obj
    if live["metadata"].get("finalizers"):
        obj = copy.deepcopy(live)
        if not obj["metadata"].get("deletionTimestamp"):
            obj["metadata"]["deletionTimestamp"] = now()
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            if not dry:
                store(info["group"], info["plural"])[(ns or "", name)] = obj
                record(info, ns, name, "MODIFIED", obj)
        return 200, obj
    if dry:
        return 200, success_status(info, live)
    store(info["group"], info["plural"]).pop((ns or "", name), None)
    obj = copy.deepcopy(live)
    record(info, ns, name, "DELETED", obj)
    after_delete(info, obj)
    return 200, success_status(info, obj) if info["kind"] != "Pod" else obj


def success_status(info, obj):
    d = {"name": obj["metadata"]["name"], "group": info["group"], "kind": info["plural"],
         "uid": obj["metadata"]["uid"]}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": d}


def finish_namespace(name):
    nso = namespace_obj(name)
    if nso is None or not nso["metadata"].get("deletionTimestamp"):
        return
    remaining = 0
    for info in all_infos():
        if not info["namespaced"]:
            continue
        objs = store(info["group"], info["plural"])
        for (ns, n) in list(objs):
            if ns != name:
                continue
            o = objs[(ns, n)]
            if o["metadata"].get("finalizers"):
                remaining += 1
                if not o["metadata"].get("deletionTimestamp"):
                    o = copy.deepcopy(o)
                    o["metadata"]["deletionTimestamp"] = now()
                    objs[(ns, n)] = o
                    record(info, ns, n, "MODIFIED", o)
                continue
            del objs[(ns, n)]
            record(info, ns, n, "DELETED", copy.deepcopy(o))
    if remaining:
        later(0.2, lambda: finish_namespace(name))
        return
    store("", "namespaces").pop(("", name), None)
    record(NS_INFO, None, name, "DELETED", copy.deepcopy(nso))


# ---------------------------------------------------------------- controllers

def later(delay, fn):
    S.seq += 1
    heapq.heappush(S.timers, (time.time() + delay, S.seq, fn))


def controller_loop():
    while True:
        time.sleep(0.02)
        with LOCK:
            while S.timers and S.timers[0][0] <= time.time():
                _, _, fn = heapq.heappop(S.timers)
                try:
                    fn()
                except Exception as e:  # a controller bug must not stop the others
                    sys.stderr.write("fake apiserver controller: %r\n" % e)


def controller_write(info, ns, name, mutate, generation=None, manager="kube-controller-manager"):
    live = get_obj(info, ns, name)
    if live is None:
        return
    if generation is not None and live["metadata"].get("generation") != generation:
        return
    obj = copy.deepcopy(live)
    obj["metadata"].pop("managedFields", None)
    mutate(obj)
    old_plain = copy.deepcopy(live)
    old_plain["metadata"].pop("managedFields", None)
    if obj == old_plain:
        return
    old_managers = managers_of(live)
    w = writer_entry(manager, "Update", info, "status")
    managers = update_managers(info, copy.deepcopy(old_managers), w, old_plain, obj, "status")
    commit(info, ns, name, obj, managers, live, manager_id(w), False, old_managers=old_managers)


def fail_reason(obj, kind):
    meta = obj["metadata"]
    ann = meta.get("annotations") or {}
    if ANNOTATION_FAIL in ann:
        return ann[ANNOTATION_FAIL] or "Failed", ann.get(ANNOTATION_FAIL_MESSAGE)
    return S.fails.get((kind, meta.get("namespace") or "", meta["name"]), (None, None))


def set_condition(status, c):
    conds = status.setdefault("conditions", [])
    for i, old in enumerate(conds):
        if old.get("type") == c["type"]:
            if old.get("status") == c["status"]:
                c["lastTransitionTime"] = old.get("lastTransitionTime", c["lastTransitionTime"])
            if "lastUpdateTime" in old or "lastUpdateTime" in c:
                c.setdefault("lastUpdateTime", now())
            conds[i] = c
            return
    conds.append(c)


def drop_zeros(st, *keys):
    for k in keys:
        if not st.get(k):
            st.pop(k, None)


def rs_name(obj):
    t = json.dumps((obj.get("spec") or {}).get("template"), sort_keys=True)
    h = hashlib.sha256(t.encode()).hexdigest()
    return "%s-%s" % (obj["metadata"]["name"], "".join(
        "bcdfghjklmnpqrstvwxz2456789"[int(h[i:i + 2], 16) % 27] for i in range(0, 20, 2)))


def react(info, obj, live):
    """Schedules what the controllers would do after a write."""
    kind = info["kind"]
    meta = obj["metadata"]
    ns, name = meta.get("namespace"), meta["name"]
    gen = meta.get("generation")
    changed_spec = live is None or meta.get("generation") != live["metadata"].get("generation")
    ann_changed = live is not None and (meta.get("annotations") or {}).get(ANNOTATION_FAIL) != \
        (live["metadata"].get("annotations") or {}).get(ANNOTATION_FAIL)
    if kind == "Deployment" and (changed_spec or ann_changed):
        schedule_deployment(info, ns, name, gen)
    elif kind in ("StatefulSet", "DaemonSet", "ReplicaSet") and changed_spec:
        schedule_workload(info, ns, name, gen)
    elif kind == "Job" and live is None:
        schedule_job(info, ns, name)
    elif kind == "Job" and ann_changed:
        later(0.05, lambda: job_done(info, ns, name))
    elif kind == "CustomResourceDefinition" and live is None:
        later(CONF["establish"], lambda: establish_crd(name))
    elif kind == "Namespace" and live is None:
        later(0.05, lambda: namespace_defaults(name))
    elif kind == "Node" and not any(c.get("type") == "Ready" for c in
                                    (obj.get("status") or {}).get("conditions") or []):
        later(0.3, lambda: node_ready(name))
    elif kind == "Pod" and live is None:
        later(0.3, lambda: pod_running(info, ns, name))


def schedule_deployment(info, ns, name, gen):
    rollout = CONF["rollout"]

    def progressing():
        def m(o):
            spec, st = o.get("spec") or {}, o.setdefault("status", {})
            want = spec.get("replicas", 1)
            avail = st.get("availableReplicas", 0)
            st["observedGeneration"] = gen
            if avail and want:  # a running Deployment changes: one new Pod surges
                st["replicas"], st["updatedReplicas"] = want + 1, 1
            else:
                st["replicas"], st["updatedReplicas"] = want, want
            st["unavailableReplicas"] = max(0, st["replicas"] - avail)
            drop_zeros(st, "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                       "unavailableReplicas")
            if not any(c.get("type") == "Available" for c in st.get("conditions") or []):
                set_condition(st, dict(cond("Available", "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability."),
                                       lastUpdateTime=now()))
            set_condition(st, dict(cond("Progressing", "True", "ReplicaSetUpdated",
                                        'ReplicaSet "%s" is progressing.' % rs_name(o)),
                                   lastUpdateTime=now()))
        controller_write(info, ns, name, m, gen)

    def done():
        def m(o):
            spec, st = o.get("spec") or {}, o.setdefault("status", {})
            want = spec.get("replicas", 1)
            reason, message = fail_reason(o, "Deployment")
            st["observedGeneration"] = gen
            if reason:
                set_condition(st, dict(cond("Progressing", "False", reason, message or
                                            'ReplicaSet "%s" has timed out progressing.'
                                            % rs_name(o)), lastUpdateTime=now()))
                return
            for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
                st[k] = want
            st.pop("unavailableReplicas", None)
            drop_zeros(st, "replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
            set_condition(st, dict(cond("Available", "True", "MinimumReplicasAvailable",
                                        "Deployment has minimum availability."),
                                   lastUpdateTime=now()))
            set_condition(st, dict(cond("Progressing", "True", "NewReplicaSetAvailable",
                                        'ReplicaSet "%s" has successfully progressed.'
                                        % rs_name(o)), lastUpdateTime=now()))
        controller_write(info, ns, name, m, gen)

    later(min(0.1, rollout / 4), progressing)
    later(rollout, done)


def schedule_workload(info, ns, name, gen):
    kind = info["kind"]

    def step(final):
        def m(o):
            spec, st = o.get("spec") or {}, o.setdefault("status", {})
            st["observedGeneration"] = gen
            if kind == "DaemonSet":
                # DaemonSet pods tolerate the not-ready taints: every schedulable node counts
                want = sum(1 for n in store("", "nodes").values()
                           if not (n.get("spec") or {}).get("unschedulable"))
                st["desiredNumberScheduled"] = want
                st["currentNumberScheduled"] = want
                st["numberMisscheduled"] = 0
                st["numberReady"] = want if final else 0
                st["updatedNumberScheduled"] = want if final else 0
                st["numberAvailable"] = want if final else 0
                if not final and want:
                    st["numberUnavailable"] = want
                else:
                    st.pop("numberUnavailable", None)
                return
            want = spec.get("replicas", 1)
            rev = rs_name(o)
            st["replicas"] = want
            st.setdefault("availableReplicas", 0)
            if kind == "StatefulSet":
                st["updateRevision"] = rev
                st["collisionCount"] = 0
            if final:
                for k in ("readyReplicas", "availableReplicas"):
                    st[k] = want
                if kind == "StatefulSet":
                    st["updatedReplicas"] = st["currentReplicas"] = want
                    st["currentRevision"] = rev
                else:
                    st["fullyLabeledReplicas"] = want
            drop_zeros(st, "readyReplicas", "updatedReplicas", "currentReplicas",
                       "fullyLabeledReplicas")
        controller_write(info, ns, name, m, gen)

    later(min(0.1, CONF["rollout"] / 4), lambda: step(False))
    later(CONF["rollout"], lambda: step(True))


def schedule_job(info, ns, name):
    later(CONF["job"], lambda: job_done(info, ns, name))


def job_done(info, ns, name):
    def m(o):
        st = o.setdefault("status", {})
        if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in st.get("conditions") or []):
            return
        spec = o.get("spec") or {}
        reason, message = fail_reason(o, "Job")
        t = now()
        st.pop("active", None)
        st["ready"] = 0
        st["terminating"] = 0
        if reason:
            st["failed"] = spec.get("backoffLimit", 6) + 1
            message = message or ("Job has reached the specified backoff limit"
                                  if reason == "BackoffLimitExceeded"
                                  else "the Job failed (%s)" % reason)
            set_condition(st, cond("FailureTarget", "True", reason, message, t))
            set_condition(st, dict(cond("Failed", "True", reason, message, t), lastProbeTime=t))
        else:
            st["succeeded"] = spec.get("completions") or 1
            if spec.get("completionMode") == "Indexed":
                n = st["succeeded"]
                st["completedIndexes"] = "0" if n == 1 else "0-%d" % (n - 1)
            st["completionTime"] = t
            set_condition(st, cond("SuccessCriteriaMet", "True", "CompletionsReached",
                                   "Reached expected number of succeeded pods", t))
            set_condition(st, dict(cond("Complete", "True", "CompletionsReached",
                                        "Reached expected number of succeeded pods", t),
                                   lastProbeTime=t))
    controller_write(info, ns, name, m)


def establish_crd(name):
    def m(o):
        st = o.setdefault("status", {})
        set_condition(st, cond("Established", "True", "InitialNamesAccepted",
                               "the initial names have been accepted"))
    controller_write(CRD_INFO, None, name, m, manager="kube-apiserver")


def namespace_defaults(ns):
    nso = namespace_obj(ns)
    if nso is None or nso["metadata"].get("deletionTimestamp"):
        return
    sa_info = next(i for i in BUILTIN if i["plural"] == "serviceaccounts")
    cm_info = next(i for i in BUILTIN if i["plural"] == "configmaps")
    system_create(sa_info, ns, {"metadata": {"name": "default"}})
    system_create(cm_info, ns, {"metadata": {"name": "kube-root-ca.crt", "annotations": {
        "kubernetes.io/description": "Contains a CA bundle that can be used to verify the "
        "kube-apiserver when using internal endpoints such as the internal service IP or "
        "kubernetes.default.svc. No other usage is guaranteed across distributions of "
        "Kubernetes clusters."}}, "data": {"ca.crt": CONF["ca_pem"] or "-----BEGIN CERTIFICATE-----\n"
                                           "fake\n-----END CERTIFICATE-----\n"}},
                  manager="kube-controller-manager")


def system_create(info, ns, body, manager="kube-controller-manager"):
    if get_obj(info, ns, body["metadata"]["name"]) is not None:
        return
    try:
        op_create(info, ns, body, {"fieldManager": manager}, manager, False)
    except ApiError as e:
        sys.stderr.write("fake apiserver: %s\n" % e.message)


def node_is_ready(n):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (n.get("status") or {}).get("conditions") or [])


def node_ready(name):
    info = next(i for i in BUILTIN if i["plural"] == "nodes")

    def m(o):
        ann = o["metadata"].get("annotations") or {}
        st = o.setdefault("status", {})
        if any(c.get("type") == "Ready" for c in st.get("conditions") or []):
            return
        ready = "False" if ann.get("fake.timonel/not-ready") else "True"
        set_condition(st, dict(cond("Ready", ready, "KubeletReady" if ready == "True"
                                    else "KubeletNotReady", "kubelet is posting ready status"
                                    if ready == "True" else "container runtime network not ready"),
                               lastHeartbeatTime=now()))
        st.setdefault("nodeInfo", {"kubeletVersion": "v" + CONF["version"],
                                   "containerRuntimeVersion": "containerd://1.7.24",
                                   "architecture": "amd64", "operatingSystem": "linux",
                                   "osImage": "Debian GNU/Linux 12 (bookworm)"})
    controller_write(info, None, name, m, manager="kubelet")
    for ds in list(store("apps", "daemonsets").values()):
        meta = ds["metadata"]
        schedule_workload(next(i for i in BUILTIN if i["plural"] == "daemonsets"),
                          meta["namespace"], meta["name"], meta.get("generation"))


def pod_running(info, ns, name):
    def m(o):
        st = o.setdefault("status", {})
        st["phase"] = "Running"
        st["startTime"] = st.get("startTime") or now()
        st["podIP"] = "10.244.0.%d" % random.randint(2, 250)
        for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled"):
            set_condition(st, dict(cond(t, "True", None, None), lastProbeTime=None))
            st["conditions"][-1].pop("reason")
            st["conditions"][-1].pop("message")
    controller_write(info, ns, name, m, manager="kubelet")


def hook_node(body):
    info = next(i for i in BUILTIN if i["plural"] == "nodes")
    name = body["name"]
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
              "beta.kubernetes.io/arch": "amd64"}
    for r in body.get("roles") or []:
        labels["node-role.kubernetes.io/" + r] = ""
    labels.update(body.get("labels") or {})
    ready = body.get("ready", True)
    t = now()
    status = {"conditions": [dict(cond("Ready", "True" if ready else "False",
                                       "KubeletReady" if ready else "KubeletNotReady",
                                       "kubelet is posting ready status" if ready else
                                       "container runtime network not ready: NetworkReady=false",
                                       t), lastHeartbeatTime=t)],
              "addresses": [{"type": "InternalIP", "address": body.get("address", "10.0.0.2")},
                            {"type": "Hostname", "address": name}],
              "nodeInfo": {"kubeletVersion": body.get("kubeletVersion", "v" + CONF["version"]),
                           "containerRuntimeVersion": "containerd://1.7.24",
                           "architecture": "amd64", "operatingSystem": "linux",
                           "osImage": "Debian GNU/Linux 12 (bookworm)"},
              "capacity": {"cpu": "2", "memory": "4026524Ki", "pods": "110"},
              "allocatable": {"cpu": "2", "memory": "3924124Ki", "pods": "110"}}
    if get_obj(info, None, name) is None:
        body_obj = {"metadata": {"name": name, "labels": labels}, "spec": {}}
        if body.get("taints"):
            body_obj["spec"]["taints"] = body["taints"]
        op_create(info, None, body_obj, {"fieldManager": "kubelet"}, "kubelet", False)

    def m(o):
        o["metadata"].setdefault("labels", {}).update(labels)
        if body.get("taints") is not None:
            o.setdefault("spec", {})["taints"] = body["taints"]
        o["status"] = status
    controller_write(info, None, name, m, manager="kubelet")
    obj = view(info, get_obj(info, None, name))
    for ds in list(store("apps", "daemonsets").values()):
        meta = ds["metadata"]
        schedule_workload(next(i for i in BUILTIN if i["plural"] == "daemonsets"),
                          meta["namespace"], meta["name"], meta.get("generation"))
    return obj


def hook_fail(body):
    kind = body.get("kind", "Job")
    key = (kind, body.get("namespace") or "", body["name"])
    S.fails[key] = (body.get("reason") or "BackoffLimitExceeded", body.get("message"))
    info = next((i for i in BUILTIN if i["kind"] == kind), None)
    if info is None:
        raise bad_request("unknown kind %s" % kind)
    live = get_obj(info, key[1], key[2])
    if live is not None:
        if kind == "Job":
            later(0.05, lambda: job_done(info, key[1], key[2]))
        elif kind == "Deployment":
            schedule_deployment(info, key[1], key[2], live["metadata"].get("generation"))


def initial_state():
    S.__init__()
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        op_create(NS_INFO, None, {"metadata": {"name": ns}}, {"fieldManager": "kube-apiserver"},
                  "kube-apiserver", False)
        namespace_defaults(ns)
    svc = next(i for i in BUILTIN if i["plural"] == "services")
    op_create(svc, "default", {"metadata": {"name": "kubernetes", "labels": {
        "component": "apiserver", "provider": "kubernetes"}}, "spec": {
        "clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443,
                                             "targetPort": 6443}]}},
              {"fieldManager": "kube-apiserver"}, "kube-apiserver", False)
    S.timers = []


# ---------------------------------------------------------------- reading

def parse_selector(sel):
    """[(key, op, values)] from a label selector string."""
    out = []
    s = (sel or "").strip()
    pos = 0
    term = re.compile(r"\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|"
                      r"\s+(in|notin)\s*\(([^)]*)\))?\s*(,|$)")
    while pos < len(s):
        m = term.match(s, pos)
        if not m or m.end() == pos:
            raise bad_request("unable to parse requirement: found '%s', expected: identifier"
                              % s[pos:pos + 10])
        neg, key, op, val, setop, vals, _ = m.groups()
        if neg:
            if op or setop:
                raise bad_request("unable to parse requirement: %s" % s)
            out.append((key, "!", None))
        elif op:
            out.append((key, "!=" if op == "!=" else "=", val))
        elif setop:
            out.append((key, setop, [v.strip() for v in vals.split(",") if v.strip()]))
        else:
            out.append((key, "exists", None))
        pos = m.end()
    return out


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, v in reqs:
        if op == "=" and labels.get(key) != v:
            return False
        if op == "!=" and labels.get(key) == v:
            return False
        if op == "in" and labels.get(key) not in v:
            return False
        if op == "notin" and key in labels and labels[key] in v:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "!" and key in labels:
            return False
    return True


def parse_field_selector(sel, info):
    out = []
    for t in filter(None, (x.strip() for x in (sel or "").split(","))):
        m = re.match(r"^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$", t)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (sel, t))
        field, op, val = m.groups()
        if field not in ("metadata.name", "metadata.namespace"):
            raise bad_request('"%s" is not a known field selector: only "metadata.name", '
                              '"metadata.namespace"' % field)
        out.append((field, op != "!=", val))
    return out


def fields_match(reqs, obj):
    for field, eq, val in reqs:
        actual = obj["metadata"].get(field.split(".", 1)[1]) or ""
        if (actual == val) != eq:
            return False
    return True


def matching(info, ns, q):
    reqs = parse_selector(q.get("labelSelector"))
    freqs = parse_field_selector(q.get("fieldSelector"), info)
    objs = store(info["group"], info["plural"])
    out = []
    for (ons, name) in sorted(objs):
        if ns and ons != ns:
            continue
        o = objs[(ons, name)]
        if labels_match(reqs, o["metadata"].get("labels")) and fields_match(freqs, o):
            out.append(o)
    return out


def op_list(info, ns, q, accept):
    items = matching(info, ns, q)
    limit = int(q.get("limit") or 0)
    start = 0
    cont = q.get("continue")
    if cont:
        try:
            start = int(base64.urlsafe_b64decode(cont.encode()).decode())
        except ValueError:
            raise ApiError(400, "BadRequest", "continue key is not valid")
    meta = {"resourceVersion": str(S.rv)}
    page = items[start:]
    if limit and len(page) > limit:
        page = page[:limit]
        meta["continue"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        meta["remainingItemCount"] = len(items) - start - limit
    if "as=Table" in accept:
        return table(info, page, meta, q)
    if "as=PartialObjectMetadataList" in accept:
        return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                "metadata": meta, "items": [partial(o) for o in page]}
    typed = info["crd"] is None
    out_items = []
    for o in page:
        v = view(info, o)
        if typed:
            v.pop("apiVersion")
            v.pop("kind")
        out_items.append(v)
    return {"kind": info["kind"] + "List", "apiVersion": api_version(info), "metadata": meta,
            "items": out_items}


def scale_view(o):
    meta = o["metadata"]
    sel = (o.get("spec") or {}).get("selector") or {}
    terms = ["%s=%s" % kv for kv in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin"}.get(e.get("operator"))
        if op:
            terms.append("%s %s (%s)" % (e["key"], op, ",".join(e.get("values") or [])))
        elif e.get("operator") == "Exists":
            terms.append(e["key"])
        else:
            terms.append("!" + e["key"])
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": (o.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (o.get("status") or {}).get("replicas", 0),
                       "selector": ",".join(terms)}}


def partial(o):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": ordered(o)["metadata"]}


def age(ts):
    s = max(0, int(time.time() - parse_time(ts)))
    if s < 120:
        return "%ds" % s
    if s < 600:
        return "%dm%ds" % (s // 60, s % 60) if s % 60 else "%dm" % (s // 60)
    if s < 3 * 3600:
        return "%dm" % (s // 60)
    if s < 48 * 3600:
        return "%dh" % (s // 3600)
    return "%dd" % (s // 86400)


def columns(info):
    k = info["kind"]
    c = [("Name", "string", "name")]
    if k == "Deployment":
        c += [("Ready", "string", ""), ("Up-to-date", "integer", ""), ("Available", "integer", "")]
    elif k == "Namespace":
        c += [("Status", "string", "")]
    elif k == "Job":
        c += [("Status", "string", ""), ("Completions", "string", ""), ("Duration", "string", "")]
    elif k == "Service":
        c += [("Type", "string", ""), ("Cluster-IP", "string", ""), ("External-IP", "string", ""),
              ("Port(s)", "string", "")]
    elif k == "Ingress":
        c += [("Class", "string", ""), ("Hosts", "string", ""), ("Address", "string", ""),
              ("Ports", "string", "")]
    elif k in ("ConfigMap",):
        c += [("Data", "integer", "")]
    elif k == "Secret":
        c += [("Type", "string", ""), ("Data", "integer", "")]
    elif k == "Node":
        c += [("Status", "string", ""), ("Roles", "string", "")]
    elif k == "Pod":
        c += [("Ready", "string", ""), ("Status", "string", ""), ("Restarts", "string", "")]
    c += [("Age", "string", "")]
    if k == "Node":
        c += [("Version", "string", "")]
    return c


def cells(info, o):
    k, spec, st = info["kind"], o.get("spec") or {}, o.get("status") or {}
    out = [o["metadata"]["name"]]
    if k == "Deployment":
        out += ["%d/%d" % (st.get("readyReplicas", 0), spec.get("replicas", 1)),
                st.get("updatedReplicas", 0), st.get("availableReplicas", 0)]
    elif k == "Namespace":
        out += [st.get("phase", "Active")]
    elif k == "Job":
        conds = {c["type"]: c["status"] for c in st.get("conditions") or []}
        state = "Complete" if conds.get("Complete") == "True" else (
            "Failed" if conds.get("Failed") == "True" else "Running")
        out += [state, "%d/%d" % (st.get("succeeded", 0), spec.get("completions", 1)),
                "%ds" % max(0, int(parse_time(st.get("completionTime") or now())
                                   - parse_time(st.get("startTime") or now())))]
    elif k == "Service":
        ports = ",".join("%s%s/%s" % (p.get("port"), ":%s" % p["nodePort"] if p.get("nodePort")
                                      else "", p.get("protocol", "TCP"))
                         for p in spec.get("ports") or [])
        out += [spec.get("type", "ClusterIP"), spec.get("clusterIP", "<none>"),
                "<pending>" if spec.get("type") == "LoadBalancer" else "<none>", ports or "<none>"]
    elif k == "Ingress":
        hosts = [r.get("host") for r in spec.get("rules") or [] if r.get("host")]
        out += [spec.get("ingressClassName") or "<none>", ",".join(hosts) or "*", "",
                "80, 443" if spec.get("tls") else "80"]
    elif k == "ConfigMap":
        out += [len(o.get("data") or {}) + len(o.get("binaryData") or {})]
    elif k == "Secret":
        out += [o.get("type", "Opaque"), len(o.get("data") or {})]
    elif k == "Node":
        roles = sorted(l.split("/", 1)[1] for l in o["metadata"].get("labels") or {}
                       if l.startswith("node-role.kubernetes.io/"))
        out += ["Ready" if node_is_ready(o) else "NotReady", ",".join(roles) or "<none>"]
    elif k == "Pod":
        n = len(spec.get("containers") or [])
        ready = n if st.get("phase") == "Running" else 0
        out += ["%d/%d" % (ready, n), st.get("phase", "Pending"), "0"]
    out.append(age(o["metadata"].get("creationTimestamp")))
    if k == "Node":
        out.append(((st.get("nodeInfo") or {}).get("kubeletVersion")) or "")
    return out


def table(info, objs, meta, q):
    include = q.get("includeObject", "PartialObjectMetadata")
    rows = []
    for o in objs:
        row = {"cells": cells(info, o)}
        if include == "Object":
            row["object"] = view(info, o)
        elif include != "None":
            row["object"] = partial(o)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": [{"name": n, "type": t, "format": f, "description": n,
                                   "priority": 0} for n, t, f in columns(info)],
            "rows": rows}


# ---------------------------------------------------------------- discovery and openapi

def resource_list(group, version):
    out = []
    for info in all_infos():
        if info["group"] != group or info["version"] != version:
            continue
        r = {"name": info["plural"], "singularName": info["singular"],
             "namespaced": info["namespaced"], "kind": info["kind"], "verbs": info["verbs"]}
        if info["short"]:
            r["shortNames"] = info["short"]
        if info["categories"]:
            r["categories"] = info["categories"]
        r["storageVersionHash"] = base64.b64encode(hashlib.sha256(
            (group + version + info["kind"]).encode()).digest()[:8]).decode()
        out.append(r)
        if info["status"]:
            out.append({"name": info["plural"] + "/status", "singularName": "",
                        "namespaced": info["namespaced"], "kind": info["kind"],
                        "verbs": ["get", "patch", "update"]})
        if info["scale"]:
            out.append({"name": info["plural"] + "/scale", "singularName": "",
                        "namespaced": info["namespaced"], "group": "autoscaling",
                        "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
    return out


def aggregated(legacy_core, accept):
    version = "v2" if "v=v2;" in accept or accept.endswith("v=v2") else "v2beta1"
    items = []
    group_list = [("", ["v1"], "v1")] if legacy_core else groups()
    for g, vs, _ in group_list:
        versions = []
        for v in vs:
            res = []
            for info in all_infos():
                if info["group"] != g or info["version"] != v:
                    continue
                rk = {"group": g, "version": v, "kind": info["kind"]}
                r = {"resource": info["plural"], "responseKind": rk,
                     "scope": "Namespaced" if info["namespaced"] else "Cluster",
                     "singularResource": info["singular"], "verbs": info["verbs"]}
                if info["short"]:
                    r["shortNames"] = info["short"]
                if info["categories"]:
                    r["categories"] = info["categories"]
                subs = []
                if info["status"]:
                    subs.append({"subresource": "status", "responseKind": rk,
                                 "verbs": ["get", "patch", "update"]})
                if info["scale"]:
                    subs.append({"subresource": "scale", "responseKind": {
                        "group": "autoscaling", "version": "v1", "kind": "Scale"},
                        "verbs": ["get", "patch", "update"]})
                if subs:
                    r["subresources"] = subs
                res.append(r)
            versions.append({"version": v, "resources": res, "freshness": "Current"})
        meta = {"creationTimestamp": None}
        if g:
            meta["name"] = g
        items.append({"metadata": meta, "versions": versions})
    return version, {"kind": "APIGroupDiscoveryList",
                     "apiVersion": "apidiscovery.k8s.io/" + version, "metadata": {},
                     "items": items}


def openapi_paths():
    paths = {}
    gvs = [("", "v1")] + [(g, v) for g, vs, _ in groups() for v in vs]
    for g, v in gvs:
        key = "api/v1" if not g else "apis/%s/%s" % (g, v)
        doc = openapi_doc(g, v)
        h = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()
        paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, h)}
    return {"paths": paths}


def openapi_doc(group, version):
    paths = {}
    schemas = {"io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
        "type": "object", "description": "Patch is provided to give a concrete name and type "
        "to the Kubernetes PATCH request body."}}
    query = [{"name": n, "in": "query", "description": n, "schema": {"type": t,
                                                                     "uniqueItems": True}}
             for n, t in (("dryRun", "string"), ("fieldManager", "string"),
                          ("fieldValidation", "string"), ("force", "boolean"))]
    for info in all_infos():
        if info["group"] != group or info["version"] != version:
            continue
        gvk = {"group": group, "version": version, "kind": info["kind"]}
        sname = "io.k8s.api.%s.%s.%s" % (group.split(".")[0] or "core", version, info["kind"])
        if info["crd"] is not None:
            sname = "%s.%s.%s" % (".".join(reversed(group.split("."))), version, info["kind"])
        schemas[sname] = {"type": "object", "description": info["kind"],
                          "x-kubernetes-group-version-kind": [gvk],
                          "properties": {"apiVersion": {"type": "string"},
                                         "kind": {"type": "string"},
                                         "metadata": {"type": "object"}},
                          "x-kubernetes-preserve-unknown-fields": True}
        ref = {"$ref": "#/components/schemas/" + sname}
        base = ("/api/v1" if not group else "/apis/%s/%s" % (group, version))
        coll = base + ("/namespaces/{namespace}/" if info["namespaced"] else "/") + info["plural"]
        item = coll + "/{name}"
        ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}

        def op(action, verb):
            return {"description": "%s the specified %s" % (verb, info["kind"]),
                    "operationId": verb + info["kind"], "responses": ok,
                    "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}

        patch = op("patch", "patch")
        patch["parameters"] = query
        # No strategic-merge-patch here: kubectl (client-side apply) would then build its
        # patches from these schema-less documents (and warn); without it, kubectl uses the
        # patch strategies compiled into it, as with an apiserver that lacks OpenAPI v3.
        patch["requestBody"] = {"content": {ct: {"schema": {
            "$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
            for ct in ("application/apply-patch+yaml", "application/json-patch+json",
                       "application/merge-patch+json")},
            "required": True}
        put = op("put", "replace")
        put["parameters"] = query[:3]
        paths[item] = {"get": op("get", "read"), "put": put, "patch": patch,
                       "delete": op("delete", "delete"),
                       "parameters": [{"name": "name", "in": "path", "required": True,
                                       "schema": {"type": "string"}}]}
        post = op("post", "create")
        post["parameters"] = query[:3]
        paths[coll] = {"get": op("list", "list"), "post": post}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v" + CONF["version"]},
            "paths": paths, "components": {"schemas": schemas}}


def pb_varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb(num, value):
    """One protobuf field: a string, a nested message (bytes) or a bool."""
    if isinstance(value, bool):
        return pb_varint(num << 3) + pb_varint(int(value))
    if isinstance(value, str):
        value = value.encode()
    return pb_varint(num << 3 | 2) + pb_varint(len(value)) + value


def openapi_v2_operations():
    """[(path, gvk, query parameter names)] for every PATCH endpoint."""
    out = []
    for info in all_infos():
        base = "/api/v1" if not info["group"] else "/apis/%s/%s" % (info["group"], info["version"])
        path = base + ("/namespaces/{namespace}/" if info["namespaced"] else "/") \
            + info["plural"] + "/{name}"
        gvk = {"group": info["group"], "kind": info["kind"], "version": info["version"]}
        out.append((path, gvk, ["dryRun", "fieldManager", "fieldValidation", "force"]))
    return out


def openapi_v2_protobuf():
    """The OpenAPI v2 document as the gnostic openapi_v2.Document protobuf that kubectl
    1.27 and 1.28 read to learn that the server validates fields (fieldValidation)."""
    paths = b""
    for path, gvk, params in openapi_v2_operations():
        op = pb(5, "patch" + gvk["kind"])
        for name in params:
            query = pb(2, "query") + pb(4, name) + pb(6, "string") + pb(20, True)
            op += pb(8, pb(1, pb(2, pb(3, query))))  # ParametersItem.parameter.non_body.query
        ext_yaml = "group: %s\nkind: %s\nversion: %s\n" % (
            json.dumps(gvk["group"]), gvk["kind"], gvk["version"])
        op += pb(13, pb(1, "x-kubernetes-group-version-kind") + pb(2, pb(2, ext_yaml)))
        paths += pb(2, pb(1, path) + pb(2, pb(8, op)))  # NamedPathItem{name, PathItem.patch}
    info = pb(1, "Kubernetes") + pb(2, "v" + CONF["version"])
    return pb(1, "2.0") + pb(2, info) + pb(8, paths)


def openapi_v2_json():
    paths = {}
    for path, gvk, params in openapi_v2_operations():
        paths[path] = {"patch": {
            "operationId": "patch" + gvk["kind"], "x-kubernetes-group-version-kind": gvk,
            "x-kubernetes-action": "patch",
            "parameters": [{"name": n, "in": "query", "type": "string", "uniqueItems": True}
                           for n in params],
            "responses": {"200": {"description": "OK"}}}}
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v" + CONF["version"]},
            "paths": paths}


# Protobuf request bodies. kubectl's typed commands (kubectl create namespace|configmap|
# secret|serviceaccount, ...) send application/vnd.kubernetes.protobuf; the fake decodes
# those four kinds (field numbers from k8s.io/api core/v1 and apimachinery meta/v1
# generated.proto) and answers 415 for the others.
PB_SCHEMAS = {
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"),
                   5: ("uid", "s"), 6: ("resourceVersion", "s"), 7: ("generation", "i"),
                   11: ("labels", "ms"), 12: ("annotations", "ms"),
                   13: ("ownerReferences", "r:OwnerReference"), 14: ("finalizers", "rs")},
    "OwnerReference": {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s"),
                       6: ("controller", "b"), 7: ("blockOwnerDeletion", "b")},
    "Namespace": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "rs")},
    "ConfigMap": {1: ("metadata", "m:ObjectMeta"), 2: ("data", "ms"), 3: ("binaryData", "mb"),
                  4: ("immutable", "b")},
    "Secret": {1: ("metadata", "m:ObjectMeta"), 2: ("data", "mb"), 3: ("type", "s"),
               4: ("stringData", "ms"), 5: ("immutable", "b")},
    "ServiceAccount": {1: ("metadata", "m:ObjectMeta"), 2: ("secrets", "r:ObjectReference"),
                       3: ("imagePullSecrets", "r:LocalObjectReference"),
                       4: ("automountServiceAccountToken", "b")},
    "LocalObjectReference": {1: ("name", "s")},
    "ObjectReference": {1: ("kind", "s"), 2: ("namespace", "s"), 3: ("name", "s"), 4: ("uid", "s"),
                        5: ("apiVersion", "s"), 6: ("resourceVersion", "s"), 7: ("fieldPath", "s")},
    "Unknown": {1: ("typeMeta", "m:TypeMeta"), 2: ("raw", "bytes"),
                3: ("contentEncoding", "s"), 4: ("contentType", "s")},
    "TypeMeta": {1: ("apiVersion", "s"), 2: ("kind", "s")},
    "MapEntry": {1: ("key", "bytes"), 2: ("value", "bytes")},
}


def pb_fields(data):
    """[(field number, wire type, value)] of one protobuf message."""
    out, i = [], 0

    def varint():
        nonlocal i
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(data):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            out.append((num, wt, varint()))
        elif wt == 2:
            n = varint()
            out.append((num, wt, data[i:i + n]))
            i += n
        elif wt == 1:
            out.append((num, wt, data[i:i + 8]))
            i += 8
        elif wt == 5:
            out.append((num, wt, data[i:i + 4]))
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
    return out


def pb_decode(data, schema):
    out = {}
    for num, wt, v in pb_fields(data):
        if num not in PB_SCHEMAS[schema]:
            continue
        name, t = PB_SCHEMAS[schema][num]
        if t == "s":
            out[name] = v.decode()
        elif t == "bytes":
            out[name] = v
        elif t in ("i", "b"):
            out[name] = bool(v) if t == "b" else v
        elif t == "rs":
            out.setdefault(name, []).append(v.decode())
        elif t in ("ms", "mb"):
            e = pb_decode(v, "MapEntry")
            value = e.get("value", b"")
            out.setdefault(name, {})[e.get("key", b"").decode()] = (
                value.decode() if t == "ms" else base64.b64encode(value).decode())
        elif t.startswith("m:"):
            out[name] = pb_decode(v, t[2:])
        elif t.startswith("r:"):
            out.setdefault(name, []).append(pb_decode(v, t[2:]))
    return out


def decode_protobuf(raw):
    if not raw.startswith(b"k8s\x00"):
        raise bad_request("a protobuf body must start with the k8s magic number")
    unknown = pb_decode(raw[4:], "Unknown")
    tm = unknown.get("typeMeta") or {}
    kind = tm.get("kind")
    if kind not in PB_SCHEMAS or kind in ("ObjectMeta", "Unknown", "TypeMeta", "MapEntry"):
        raise ApiError(415, "UnsupportedMediaType", "the fake API server decodes protobuf bodies "
                       "only for Namespace, ConfigMap, Secret and ServiceAccount, not %s: send "
                       "application/json" % kind)
    obj = {"apiVersion": tm.get("apiVersion"), "kind": kind}
    obj.update(pb_decode(unknown.get("raw", b""), kind))
    return obj


def version_info():
    major, minor, patch = (CONF["version"].split(".") + ["0", "0"])[:3]
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "minCompatibilityMajor": major, "minCompatibilityMinor": str(max(0, int(minor) - 1)),
            "gitVersion": "v" + CONF["version"], "gitCommit": "0" * 40, "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
            "platform": "linux/amd64"}


# ---------------------------------------------------------------- http

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_ctx = None

    def finish_request(self, request, client_address):
        conn = request
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every response back for 40 ms
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_ctx is not None:
            try:
                request.settimeout(10)
                first = request.recv(1, socket.MSG_PEEK)
                if first == b"\x16":
                    conn = self.ssl_ctx.wrap_socket(request, server_side=True)
                conn.settimeout(None)
            except (OSError, ssl.SSLError):
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            if conn is not request:
                try:
                    conn.close()
                except OSError:
                    pass


def parse_path(path):
    """(group, version, namespace, plural, name, subresource) or None."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    ns = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (
            group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")):
        ns, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    return (group, version, ns, rest[0], rest[1] if len(rest) > 1 else None,
            rest[2] if len(rest) > 2 else None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, payload, content_type="application/json"):
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, status, text):
        self.send_bytes(status, text.encode(), "text/plain; charset=utf-8")

    def send_bytes(self, status, data, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def is_tls(self):
        return isinstance(self.connection, ssl.SSLSocket)

    def authenticate(self):
        """A user name, None without credentials, or False with bad ones."""
        auth = self.headers.get("Authorization")
        if auth:
            if CONF["token"] and auth == "Bearer " + CONF["token"]:
                return "token-user"
            return False
        if self.is_tls() and CONF["client_ca"]:
            cert = self.connection.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            return v
                return "cert-user"
        if not CONF["token"] and not CONF["client_ca"]:
            return "anonymous"
        return None

    def handle_any(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = url.path.rstrip("/") or "/"  # the official Python client asks for /version/
        if path.startswith("/__fake/"):
            return self.hooks(path, url, raw)
        if CONF["tls"] and not self.is_tls():
            return self.send_text(400, "Client sent an HTTP request to an HTTPS server.\n")
        q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        accept = self.headers.get("Accept") or ""
        dry = q.get("dryRun") == "All"
        entry = {"at": round(time.time() - START, 3), "method": self.command, "path": path,
                 "query": url.query, "status": 0,
                 "dry_run": dry, "content_type": ct,
                 "user_agent": self.headers.get("User-Agent") or ""}
        user = self.authenticate()
        entry["user"] = user or None
        public = path in ("/version", "/healthz", "/livez", "/readyz")
        if user is False or (user is None and not public):
            err = ApiError(401, "Unauthorized", "Unauthorized")
            entry["status"] = 401
            with LOCK:
                S.log.append(entry)
            return self.send_json(401, err.body())
        if self.command == "GET" and q.get("watch") in ("true", "1"):
            return self.watch(path, q, entry)
        with LOCK:
            try:
                status, payload, ctype = self.route(path, q, raw, ct, accept, entry)
            except ApiError as e:
                status, payload, ctype = e.code, e.body(), "application/json"
            entry["status"] = status
            S.log.append(entry)
        if isinstance(payload, str):
            return self.send_text(status, payload)
        if isinstance(payload, bytes):
            return self.send_bytes(status, payload, ctype)
        self.send_json(status, payload, ctype)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def hooks(self, path, url, raw):
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return self.send_json(400, {"error": "invalid JSON"})
        with LOCK:
            if path == "/__fake/log":
                return self.send_json(200, S.log)
            if path == "/__fake/reset" and self.command == "POST":
                initial_state()
                return self.send_json(200, {})
            if path == "/__fake/fail" and self.command == "POST":
                try:
                    hook_fail(body)
                except ApiError as e:
                    return self.send_json(e.code, e.body())
                return self.send_json(200, {})
            if path == "/__fake/nodes" and self.command == "POST":
                try:
                    return self.send_json(200, hook_node(body))
                except ApiError as e:
                    return self.send_json(e.code, e.body())
            if self.command == "GET" and (path.startswith("/__fake/api/")
                                          or path.startswith("/__fake/apis/")):
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                try:
                    status, payload, ctype = self.route(path[len("/__fake"):], q, b"", "",
                                                        "application/json", {})
                except ApiError as e:
                    status, payload, ctype = e.code, e.body(), "application/json"
                return self.send_json(status, payload, ctype)
        self.send_json(404, {"error": "no such hook"})

    def route(self, path, q, raw, ct, accept, entry):
        """(status, payload, content type) for an API request; raises ApiError."""
        js = "application/json"
        if self.command == "GET":
            if path in ("/healthz", "/livez", "/readyz"):
                return 200, "ok", "text/plain"
            if path == "/version":
                return 200, version_info(), js
            if path in ("/api", "/apis") and "apidiscovery.k8s.io" in accept \
                    and not CONF["legacy_discovery"]:
                v, body = aggregated(path == "/api", accept)
                return 200, body, "application/json;g=apidiscovery.k8s.io;v=%s;" \
                                  "as=APIGroupDiscoveryList" % v
            if path == "/api":
                return 200, {"kind": "APIVersions", "versions": ["v1"],
                             "serverAddressByClientCIDRs": [{
                                 "clientCIDR": "0.0.0.0/0",
                                 "serverAddress": "127.0.0.1:%d" % CONF["port"]}]}, js
            if path == "/apis":
                return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    {"name": g, "versions": [{"groupVersion": g + "/" + v, "version": v}
                                             for v in vs],
                     "preferredVersion": {"groupVersion": g + "/" + p, "version": p}}
                    for g, vs, p in groups()]}, js
            if path == "/openapi/v3":
                return 200, openapi_paths(), js
            if path == "/openapi/v2":
                if "protobuf" in accept:
                    return 200, openapi_v2_protobuf(), \
                        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
                return 200, openapi_v2_json(), js
            m = re.match(r"^/openapi/v3/(api/v1|apis/([^/]+)/([^/]+))$", path)
            if m:
                g, v = (m.group(2) or "", m.group(3) or "v1")
                if g and not any(x == g and v in vs for x, vs, _ in groups()):
                    raise unknown_resource()
                return 200, openapi_doc(g, v), js
            parts = path.strip("/").split("/")
            if parts == ["api", "v1"] or (len(parts) == 3 and parts[0] == "apis"):
                g, v = ("", "v1") if parts[0] == "api" else (parts[1], parts[2])
                if g and not any(x == g and v in vs for x, vs, _ in groups()):
                    raise unknown_resource()
                return 200, {"kind": "APIResourceList", "apiVersion": "v1",
                             "groupVersion": v if not g else g + "/" + v,
                             "resources": resource_list(g, v)}, js
            if len(parts) == 2 and parts[0] == "apis":
                for g, vs, p in groups():
                    if g == parts[1]:
                        return 200, {"kind": "APIGroup", "apiVersion": "v1", "name": g,
                                     "versions": [{"groupVersion": g + "/" + v, "version": v}
                                                  for v in vs],
                                     "preferredVersion": {"groupVersion": g + "/" + p,
                                                          "version": p}}, js
                raise unknown_resource()
        parsed = parse_path(path)
        if parsed is None:
            raise unknown_resource()
        group, version, ns, plural, name, sub = parsed
        info = find_info(group, version, plural)
        if info is None:
            raise unknown_resource()
        if ns is not None and not info["namespaced"]:
            raise unknown_resource()
        if sub not in (None, "status", "scale") or (sub == "status" and not info["status"]) \
                or (sub == "scale" and not info["scale"]):
            raise unknown_resource()
        body = None
        if raw and ct == "application/vnd.kubernetes.protobuf":
            try:
                body = decode_protobuf(raw)
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                raise bad_request("cannot decode the protobuf body: %s" % e)
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise bad_request("the fake API server only reads JSON bodies (kubectl, "
                                  "client-go and kube-rs send JSON, even for "
                                  "application/apply-patch+yaml)")
        ua = self.headers.get("User-Agent") or ""
        if isinstance(body, dict) and self.command == "DELETE":
            if "All" in (body.get("dryRun") or []):
                entry["dry_run"] = True
        dry = entry.get("dry_run", False)
        if q.get("dryRun") not in (None, "", "All"):
            raise bad_request('dryRun: Unsupported value: "%s": supported values: "All"'
                              % q["dryRun"])
        if self.command != "GET" and (self.command in ("POST", "PUT", "PATCH")):
            entry["field_manager"] = q.get("fieldManager")
        if q.get("force") in ("true", "1") and not (
                self.command == "PATCH" and ct == "application/apply-patch+yaml"):
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: force: '
                           "Invalid value: true: may not be specified for non-apply patch")
        if info["namespaced"] and ns is None and (name is not None or self.command != "GET"):
            raise unknown_resource()

        if sub == "scale":
            return self.scale(info, ns, name, body, q, ct, ua, dry)
        if self.command == "GET":
            if name is None:
                return 200, op_list(info, ns, q, accept), js
            obj = get_obj(info, ns, name)
            if obj is None:
                raise not_found(info, name)
            if "as=Table" in accept:
                return 200, table(info, [obj], {"resourceVersion": obj["metadata"]
                                                ["resourceVersion"]}, q), js
            if "as=PartialObjectMetadata" in accept:
                return 200, partial(obj), js
            return 200, view(info, obj), js
        if self.command == "POST":
            if name is not None:
                raise ApiError(405, "MethodNotAllowed",
                               "the server does not allow this method on the requested resource")
            status, obj = op_create(info, ns, body if isinstance(body, dict) else {}, q, ua, dry)
            return status, view(info, obj), js
        if self.command == "DELETE":
            if name is None:
                items = matching(info, ns, q)
                for o in items:
                    delete_obj(info, o["metadata"].get("namespace"), o["metadata"]["name"], dry)
                return 200, {"kind": info["kind"] + "List", "apiVersion": api_version(info),
                             "metadata": {"resourceVersion": str(S.rv)},
                             "items": [view(info, o) for o in items]}, js
            pre = (body or {}).get("preconditions") if isinstance(body, dict) else None
            status, obj = delete_obj(info, ns, name, dry, pre)
            return status, (obj if obj.get("kind") == "Status" else view(info, obj)), js
        if name is None:
            raise ApiError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource")
        if self.command == "PUT":
            live = get_obj(info, ns, name)
            if live is None:
                raise not_found(info, name)
            status, obj = op_update(info, ns, name, body if isinstance(body, dict) else {}, live,
                                    q, ua, dry, sub or "")
            return status, view(info, obj), js
        if self.command == "PATCH":
            if ct == "application/apply-patch+yaml":
                status, obj = op_apply(info, ns, name, body if isinstance(body, dict) else {}, q,
                                       dry, sub or "")
                return status, view(info, obj), js
            live = get_obj(info, ns, name)
            if live is None:
                raise not_found(info, name)
            base = copy.deepcopy(live)
            if ct == "application/merge-patch+json":
                new = merge_patch(base, body)
            elif ct == "application/strategic-merge-patch+json":
                if info["crd"] is not None:
                    raise ApiError(415, "UnsupportedMediaType", "the body of the request was in "
                                   "an unknown format - accepted media types include: "
                                   "application/json-patch+json, application/merge-patch+json, "
                                   "application/apply-patch+yaml")
                new = strategic_merge(base, body, info["kind"])
            elif ct == "application/json-patch+json":
                new = json_patch(base, body)
            else:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an "
                               "unknown format - accepted media types include: "
                               "application/json-patch+json, application/merge-patch+json, "
                               "application/apply-patch+yaml, "
                               "application/strategic-merge-patch+json")
            if not isinstance(new, dict):
                raise bad_request("the patch did not produce an object")
            pre = body if isinstance(body, dict) else {}
            status, obj = op_update(info, ns, name, new, live, q, ua, dry, sub or "",
                                    precondition_body=pre)
            return status, view(info, obj), js
        raise ApiError(405, "MethodNotAllowed",
                       "the server does not allow this method on the requested resource")

    def scale(self, info, ns, name, body, q, ct, ua, dry):
        live = get_obj(info, ns, name)
        if live is None:
            raise not_found(info, name)
        current = scale_view(live)
        if self.command == "GET":
            return 200, current, "application/json"
        if self.command == "PUT":
            wanted = body
        elif self.command == "PATCH" and ct == "application/json-patch+json":
            wanted = json_patch(current, body)
        elif self.command == "PATCH":
            wanted = merge_patch(current, body)
        else:
            raise ApiError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource")
        replicas = dig(wanted, "spec", "replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            errs = Errs()
            errs.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
            errs.raise_if_any({"group": "autoscaling", "kind": "Scale"}, name)
        new = copy.deepcopy(live)
        new["metadata"].pop("managedFields", None)
        new.setdefault("spec", {})["replicas"] = replicas
        status, obj = op_update(info, ns, name, new, live, q, ua, dry, "scale",
                                precondition_body=wanted if isinstance(wanted, dict) else {})
        return status, scale_view(obj), "application/json"

    def watch(self, path, q, entry):
        parsed = parse_path(path)
        with LOCK:
            try:
                if parsed is None:
                    raise unknown_resource()
                group, version, ns, plural, name, sub = parsed
                info = find_info(group, version, plural)
                if info is None or name is not None or sub is not None:
                    raise unknown_resource()
                reqs = parse_selector(q.get("labelSelector"))
                freqs = parse_field_selector(q.get("fieldSelector"), info)
            except ApiError as e:
                entry["status"] = e.code
                S.log.append(entry)
                return self.send_json(e.code, e.body())
            entry["status"] = 200
            S.log.append(entry)
            rv = q.get("resourceVersion") or ""
            initial = q.get("sendInitialEvents") == "true"
            start = S.rv
            pending = []
            if rv in ("", "0") or initial:
                pending = [("ADDED", o) for o in matching(info, ns, q)]
            else:
                try:
                    start = int(rv)
                except ValueError:
                    start = S.rv
            if initial:
                bm = {"kind": info["kind"], "apiVersion": api_version(info),
                      "metadata": {"resourceVersion": str(S.rv),
                                   "annotations": {"k8s.io/initial-events-end": "true"}}}
                pending.append(("BOOKMARK", bm))
            pos = len(S.events)
            while pos > 0 and S.events[pos - 1][0] > start:
                pos -= 1
        timeout = min(float(q.get("timeoutSeconds") or 1800), 1800)
        deadline = time.time() + timeout
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for t, o in pending:
                self.chunk({"type": t, "object": o if t == "BOOKMARK" else view(info, o)})
            while time.time() < deadline:
                with CHANGED:
                    if pos >= len(S.events):
                        CHANGED.wait(min(1.0, max(0.01, deadline - time.time())))
                    new = S.events[pos:]
                    pos = len(S.events)
                for (_, g, p, ens, t, o) in new:
                    if g != info["group"] or p != info["plural"]:
                        continue
                    if ns and ens != ns:
                        continue
                    if not labels_match(reqs, o["metadata"].get("labels")) or \
                            not fields_match(freqs, o):
                        continue
                    self.chunk({"type": t, "object": view(info, o)})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            self.close_connection = True

    def chunk(self, event):
        data = (json.dumps(event, separators=(",", ":")) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--token", help="the bearer token the API accepts")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's key (PEM)")
    ap.add_argument("--client-ca", help="accept client certificates signed by this CA (PEM)")
    ap.add_argument("--kube-version", default=CONF["version"], help="what /version reports")
    ap.add_argument("--rollout-seconds", type=float, default=CONF["rollout"],
                    help="how long a Deployment/StatefulSet/DaemonSet rollout takes")
    ap.add_argument("--job-seconds", type=float, default=CONF["job"],
                    help="how long a Job runs before it completes (or fails)")
    ap.add_argument("--namespace-seconds", type=float, default=CONF["namespace_grace"],
                    help="how long a deleted Namespace stays Terminating before its content "
                    "and then itself are removed")
    ap.add_argument("--legacy-discovery", action="store_true",
                    help="never answer aggregated discovery (clients fall back)")
    a = ap.parse_args()
    CONF.update(token=a.token, version=a.kube_version.lstrip("v"), rollout=a.rollout_seconds,
                job=a.job_seconds, legacy_discovery=a.legacy_discovery,
                namespace_grace=a.namespace_seconds,
                tls=bool(a.tls_cert), client_ca=bool(a.client_ca))
    srv = Server(("127.0.0.1", a.port), Handler)
    CONF["port"] = srv.server_address[1]
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        ctx.set_alpn_protocols(["http/1.1"])
        if a.client_ca:
            ctx.load_verify_locations(a.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
            with open(a.client_ca) as f:
                CONF["ca_pem"] = f.read()
        srv.ssl_ctx = ctx
    with LOCK:
        initial_state()
    threading.Thread(target=controller_loop, daemon=True).start()
    print("listening", CONF["port"], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
