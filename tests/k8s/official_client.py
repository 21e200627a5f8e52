#!/usr/bin/env python3
"""Checks the fake Kubernetes API (fake_apiserver.py) with the official Python client
(`pip install kubernetes`): typed and dynamic clients, server-side apply, selectors, watch,
dry-run, conflicts, errors, Jobs and CRDs. Prints "official client: ok" or exits non-zero
naming the first mismatch.

    official_client.py KUBECONFIG
"""

import json
import os
import sys
import tempfile
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

NS = "official"


def check(cond, what, got=None):
    if not cond:
        sys.exit("official client: %s%s" % (what, "" if got is None else " (got %r)" % (got,)))


def api_error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        return e.status, json.loads(e.body)
    sys.exit("official client: %s did not fail" % fn.__name__)


def deployment(name, tier, image, replicas):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS, "labels": {"tier": tier}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image,
                                                           "ports": [{"containerPort": 8000}]}]}}}}


def conditions(obj):
    return {c.type: c.status for c in (obj.status.conditions or [])}


def main():
    api = config.new_client_from_config(config_file=sys.argv[1])
    core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)

    version = client.VersionApi(api).get_code()
    check(version.git_version.startswith("v1."), "/version", version.git_version)

    ns = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=NS, labels={"team": "ops"})))
    check(ns.status.phase == "Active", "a new namespace is Active", ns.status.phase)
    check(ns.metadata.labels.get("kubernetes.io/metadata.name") == NS,
          "the namespace's name label", ns.metadata.labels)
    check(ns.metadata.uid and ns.metadata.resource_version, "uid and resourceVersion")
    status, body = api_error(core.create_namespace,
                             client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    check(status == 409 and body["reason"] == "AlreadyExists", "create twice: 409 AlreadyExists",
          body)
    status, body = api_error(core.create_namespaced_config_map, "nope",
                             client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x")))
    check(status == 404 and body["message"] == 'namespaces "nope" not found',
          "create in a missing namespace", body)

    # Server-side apply: the dynamic client (discovery, then PATCH apply-patch+yaml) ...
    with tempfile.TemporaryDirectory() as tmp:
        dyn = DynamicClient(api, cache_file=os.path.join(tmp, "discovery.json"))
        deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
        web = dyn.server_side_apply(deployments, body=deployment("web", "web", "shop:1.0", 2),
                                    namespace=NS, field_manager="official-client")
        managers = [(m.manager, m.operation) for m in web.metadata.managedFields]
        check(("official-client", "Apply") in managers, "managedFields after apply", managers)
        check(web.metadata.generation == 1, "generation after create", web.metadata.generation)

        # ... and the typed client with the apply content type.
        api_dep = apps.patch_namespaced_deployment(
            "api", NS, deployment("api", "api", "shop:1.0", 1), field_manager="official-client",
            _content_type="application/apply-patch+yaml")
        check(api_dep.spec.strategy.type == "RollingUpdate", "defaulted strategy",
              api_dep.spec.strategy)
        check(api_dep.spec.template.spec.containers[0].ports[0].protocol == "TCP",
              "defaulted port protocol")

        read = apps.read_namespaced_deployment("web", NS)
        check(read.spec.replicas == 2 and read.spec.template.spec.containers[0].image == "shop:1.0",
              "read back", read.spec)
        check(read.spec.revision_history_limit == 10 and read.spec.progress_deadline_seconds == 600,
              "defaults")

        def names(**kw):
            return sorted(d.metadata.name for d in apps.list_namespaced_deployment(NS, **kw).items)

        check(names(label_selector="tier=web") == ["web"], "tier=web", names(label_selector="tier=web"))
        check(names(label_selector="tier!=web") == ["api"], "tier!=web")
        check(names(label_selector="tier in (web,api)") == ["api", "web"], "tier in (web,api)")
        check(names(label_selector="tier notin (web)") == ["api"], "tier notin (web)")
        check(names(label_selector="tier") == ["api", "web"], "tier exists")
        check(names(label_selector="!tier") == [], "!tier")
        check(names(field_selector="metadata.name=api") == ["api"], "field selector")
        everywhere = apps.list_deployment_for_all_namespaces(label_selector="tier=web")
        check([d.metadata.name for d in everywhere.items] == ["web"], "list across namespaces")

        # Status rolls out; a watch sees it.
        available = False
        w = watch.Watch()
        for event in w.stream(apps.list_namespaced_deployment, NS, field_selector="metadata.name=web",
                              timeout_seconds=15):
            obj = event["object"]
            if conditions(obj).get("Available") == "True" and obj.status.ready_replicas == 2:
                available = True
                w.stop()
        check(available, "the deployment becomes Available within the watch")

        # A dry run returns the would-be object and changes nothing.
        rv = apps.read_namespaced_deployment("web", NS).metadata.resource_version
        dry = dyn.server_side_apply(deployments, body=deployment("web", "web", "shop:2.0", 2),
                                    namespace=NS, field_manager="official-client", dry_run="All")
        check(dry.spec.template.spec.containers[0].image == "shop:2.0", "dry-run result")
        after = apps.read_namespaced_deployment("web", NS)
        check(after.spec.template.spec.containers[0].image == "shop:1.0"
              and after.metadata.resource_version == rv, "dry-run persisted nothing")

        # Another manager changing an owned field conflicts; force takes it over.
        try:
            dyn.server_side_apply(deployments, body=deployment("web", "web", "shop:1.0", 5),
                                  namespace=NS, field_manager="other")
            sys.exit("official client: the conflicting apply succeeded")
        except ApiException as e:
            body = json.loads(e.body)
            check(e.status == 409 and body["reason"] == "Conflict", "409 Conflict", body)
            cause = body["details"]["causes"][0]
            check(cause["reason"] == "FieldManagerConflict" and cause["field"] == ".spec.replicas"
                  and cause["message"] == 'conflict with "official-client"', "conflict cause", cause)
        forced = dyn.server_side_apply(deployments, body=deployment("web", "web", "shop:1.0", 5),
                                       namespace=NS, field_manager="other", force_conflicts=True)
        check(forced.spec.replicas == 5, "forced apply", forced.spec.replicas)

        # A Job completes, another fails on request.
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "migrate", "namespace": NS},
               "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                   {"name": "m", "image": "shop:1.0", "command": ["true"]}]}}}}
        batch.create_namespaced_job(NS, job)
        bad = json.loads(json.dumps(job))
        bad["metadata"] = {"name": "broken", "namespace": NS,
                           "annotations": {"fake.timonel/fail": "BackoffLimitExceeded"}}
        batch.create_namespaced_job(NS, bad)
        deadline = time.time() + 15
        while time.time() < deadline:
            done = conditions(batch.read_namespaced_job_status("migrate", NS))
            failed = conditions(batch.read_namespaced_job_status("broken", NS))
            if done.get("Complete") == "True" and failed.get("Failed") == "True":
                break
            time.sleep(0.2)
        check(done.get("Complete") == "True", "job migrate completes", done)
        check(failed.get("Failed") == "True", "job broken fails", failed)
        check(batch.read_namespaced_job("migrate", NS).status.succeeded == 1, "succeeded count")

        # A CRD, then an object of its kind through the dynamic client.
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "backups.ops.example.com"},
               "spec": {"group": "ops.example.com", "scope": "Namespaced",
                        "names": {"plural": "backups", "singular": "backup", "kind": "Backup"},
                        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                            "openAPIV3Schema": {"type": "object", "properties": {"spec": {
                                "type": "object", "properties": {"schedule": {"type": "string"}}}}}}}]}}
        crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1",
                                 kind="CustomResourceDefinition")
        dyn.create(crds, body=crd)
        deadline = time.time() + 10
        while time.time() < deadline:
            got = dyn.get(crds, name="backups.ops.example.com")
            if any(c.type == "Established" and c.status == "True" for c in got.status.conditions):
                break
            time.sleep(0.1)
        backups = dyn.resources.get(api_version="ops.example.com/v1", kind="Backup")
        dyn.create(backups, namespace=NS, body={
            "apiVersion": "ops.example.com/v1", "kind": "Backup",
            "metadata": {"name": "nightly"}, "spec": {"schedule": "0 3 * * *", "junk": 1}})
        listed = dyn.get(backups, namespace=NS)
        check([b.metadata.name for b in listed.items] == ["nightly"], "custom objects listed")
        check(listed.items[0].spec.to_dict() == {"schedule": "0 3 * * *"},
              "unknown fields pruned", listed.items[0].spec.to_dict())

    # Delete: gone at once; reading it is a 404.
    apps.delete_namespaced_deployment("api", NS)
    status, body = api_error(apps.read_namespaced_deployment, "api", NS)
    check(status == 404 and body["message"] == 'deployments.apps "api" not found',
          "read after delete", body)
    core.delete_namespace(NS)
    deadline = time.time() + 10
    while time.time() < deadline:
        if NS not in [n.metadata.name for n in core.list_namespace().items]:
            break
        time.sleep(0.1)
    check(NS not in [n.metadata.name for n in core.list_namespace().items], "namespace removed")
    print("official client: ok")


if __name__ == "__main__":
    main()
