"""The lab side of fake_hcloud.py's --lab-networks mode: what makes the fake's private networks
and load balancers carry traffic between lab containers.

- A Hetzner network is a Docker network with the same IP range (labelled timonel-lab, so
  `tests/lab/lab down` removes it); a server's container joins it at the server's private IP.
  Docker refuses two networks with overlapping ranges: one such lab at a time per range.
- A load balancer is a lab container running tests/lab/k8s/lb.py for each service, published
  at the load balancer's public IPv4 (a loopback address) and joined to its networks at its
  private IP. Its targets are written to a file per service that lb.py reads for each new
  connection, so servers coming and going never restart it.
"""

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
LB_SCRIPT = os.path.join(HERE, "..", "lab", "k8s", "lb.py")
IMAGE = "timonel-lab:bookworm"
LAB_NET = "timonel-lab"


def docker(*args, stdin=None):
    """Runs docker; the error text on failure, None on success."""
    r = subprocess.run(["docker", *args], capture_output=True, text=True, input=stdin)
    return None if r.returncode == 0 else (r.stderr or r.stdout).strip()[-300:]


def network_name(net):
    return "hcloud-net-" + net["name"]


def create_network(net):
    name = network_name(net)
    # A network of an earlier lab: removed with `tests/lab/lab down`, or here when unused.
    docker("network", "rm", name)
    err = docker("network", "create", "--label", "timonel-lab=1", "--subnet", net["ip_range"], name)
    if err and "overlaps" in err:
        err += " (another lab's network has this range: `tests/lab/site down` removes it, or give this one another range)"
    return None if err is None else "lab network %s (%s): %s" % (name, net["ip_range"], err)


def delete_network(net):
    docker("network", "rm", network_name(net))


def join(container, net, ip):
    """Connects a container to a network at a given address."""
    return docker("network", "connect", "--ip", ip, network_name(net), container)


def lb_container(lb):
    return "hcloud-lb-" + lb["name"]


def start_load_balancer(lb, networks):
    """The load balancer's container: one lb.py per service, each reading its targets from
    /etc/lb/<listen port>."""
    name = lb_container(lb)
    docker("rm", "-f", name)
    ports = [str(s["listen_port"]) for s in lb["services"]]
    publish = []
    for p in ports:
        publish += ["--publish", "%s:%s:%s" % (lb["public_net"]["ipv4"]["ip"], p, p)]
    script = "mkdir -p /etc/lb; for p in %s; do python3 /usr/local/bin/lb.py $p @/etc/lb/$p & done; wait" % " ".join(ports)
    err = docker("create", "--name", name, "--hostname", name, "--label", "timonel-lab=1",
                 "--network", LAB_NET, *publish, IMAGE, "sh", "-c", script)
    err = err or docker("cp", LB_SCRIPT, name + ":/usr/local/bin/lb.py")
    for p in lb["private_net"]:
        err = err or join(name, networks[p["network"]], p["ip"])
    return err or docker("start", name)


def set_targets(lb, backends):
    """backends: {listen port: ["host:port", ...]}, written where the relays read them."""
    name = lb_container(lb)
    for port, hosts in backends.items():
        text = "".join(h + "\n" for h in hosts)
        err = docker("exec", "-i", name, "sh", "-c",
                     "mkdir -p /etc/lb && cat > /etc/lb/%s.new && mv /etc/lb/%s.new /etc/lb/%s" % (port, port, port),
                     stdin=text)
        if err:
            return err
    return None


def delete_load_balancer(lb):
    docker("rm", "-f", lb_container(lb))


def run_in(container, script):
    """Starts a setup script in a new server's container (detached: it may serve forever)."""
    return docker("exec", "-d", container, "sh", "-c", script)


def forget_host_key(known_hosts, address):
    """A rebuilt server has new host keys: drop the old ones, as its owner would."""
    if known_hosts and os.path.exists(known_hosts):
        subprocess.run(["ssh-keygen", "-f", known_hosts, "-R", address], capture_output=True)
