#!/usr/bin/env python3
"""Checks the fake Hetzner API with a client nobody here wrote: the official `hcloud`
package creates, finds, updates, pages through and deletes SSH keys and networks, and sees
the API's own error codes. Exits non-zero at the first difference.

    official_client.py ENDPOINT TOKEN
"""
import base64
import sys

from hcloud import APIException, Client
from hcloud.networks.domain import NetworkSubnet

endpoint, token = sys.argv[1], sys.argv[2]
c = Client(token=token, api_endpoint=endpoint)


def key(i):
    blob = b"\0\0\0\x0bssh-ed25519\0\0\0 " + bytes([i]) * 32
    return "ssh-ed25519 " + base64.b64encode(blob).decode() + " key-%d" % i


k = c.ssh_keys.create(name="official", public_key=key(1), labels={"env": "test"})
assert k.name == "official" and k.labels == {"env": "test"}, k
assert len(k.fingerprint.split(":")) == 16, k.fingerprint
assert c.ssh_keys.get_by_name("official").id == k.id
k.update(labels={"env": "prod"})
assert c.ssh_keys.get_by_id(k.id).labels == {"env": "prod"}
assert [x.id for x in c.ssh_keys.get_all(label_selector="env=prod")] == [k.id]

# More than one page (the fake serves at most 50 per page).
for i in range(2, 62):
    c.ssh_keys.create(name="bulk-%d" % i, public_key=key(i))
assert len(c.ssh_keys.get_all()) == 61

try:
    c.ssh_keys.create(name="again", public_key=key(1))
    sys.exit("a duplicate public key was accepted")
except APIException as e:
    assert e.code == "uniqueness_error", e.code

n = c.networks.create(
    name="official-net",
    ip_range="10.0.0.0/16",
    subnets=[NetworkSubnet(ip_range="10.0.1.0/24", network_zone="eu-central", type="cloud")],
    labels={"cluster": "k8s"},
)
assert (n.name, n.ip_range) == ("official-net", "10.0.0.0/16"), n
assert [s.ip_range for s in n.subnets] == ["10.0.1.0/24"]
assert [x.name for x in c.networks.get_all(label_selector="cluster=k8s")] == ["official-net"]

from hcloud.images import Image
from hcloud.server_types import ServerType
from hcloud.locations import Location

created = c.servers.create(name="official-srv", server_type=ServerType(name="cx22"),
                           image=Image(name="debian-12"), location=Location(name="fsn1"),
                           ssh_keys=[c.ssh_keys.get_by_name("official")], networks=[n],
                           labels={"role": "worker"})
created.action.wait_until_finished(max_retries=20)
srv = c.servers.get_by_name("official-srv")
assert srv.status == "running", srv.status
assert srv.server_type.name == "cx22" and srv.image.name == "debian-12", srv
assert srv.location.name == "fsn1"
assert srv.public_net.ipv4.ip.startswith("127.0.0."), srv.public_net.ipv4.ip
assert [p.ip for p in srv.private_net] == ["10.0.1.2"], srv.private_net
assert [x.name for x in c.servers.get_all(label_selector="role=worker")] == ["official-srv"]
srv.power_off().wait_until_finished(max_retries=20)
assert c.servers.get_by_id(srv.id).status == "off"
srv.delete().wait_until_finished(max_retries=20)
assert c.servers.get_all() == []

n.delete()
for x in c.ssh_keys.get_all():
    x.delete()
assert c.networks.get_all() == [] and c.ssh_keys.get_all() == []

try:
    Client(token="wrong", api_endpoint=endpoint).ssh_keys.get_all()
    sys.exit("a wrong token was accepted")
except APIException as e:
    assert e.code == "unauthorized", e.code
print("official client: ok")
