//! ansible.utils' IP tests (`ip`, `ipv4`, `ipv6`, `ipv4_address`, `in_network`, `private`,
//! `public`, `subnet_of`, ...), as the collection computes them with Python's ipaddress.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use minijinja::{Environment, Value};

use super::ipaddr::{in_net, is_multicast, pow2, text};

/// Python's `ipaddress` reading of a value for the tests: an address, or a network (host
/// bits allowed).
fn py_addr(v: &Value) -> Option<IpAddr> {
    IpAddr::from_str(text(v).trim()).ok()
}

fn py_net(v: &Value) -> Option<IpNet> {
    let s = text(v);
    let s = s.trim();
    IpNet::from_str(s)
        .ok()
        .map(|n| n.trunc())
        .or_else(|| IpAddr::from_str(s).ok().map(IpNet::from))
}

/// Python's `ipaddress` `is_private` (the IANA special-purpose registries).
fn py_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            !in_net(ip, "100.64.0.0/10")
                && (a.is_private()
                    || [
                        "0.0.0.0/8",
                        "127.0.0.0/8",
                        "169.254.0.0/16",
                        "192.0.0.0/29",
                        "192.0.0.170/31",
                        "192.0.2.0/24",
                        "198.18.0.0/15",
                        "198.51.100.0/24",
                        "203.0.113.0/24",
                        "240.0.0.0/4",
                        "255.255.255.255/32",
                    ]
                    .iter()
                    .any(|n| in_net(ip, n)))
        }
        IpAddr::V6(_) => [
            "::1/128",
            "::/128",
            "::ffff:0:0/96",
            "100::/64",
            "2001::/23",
            "2001:db8::/32",
            "2001:10::/28",
            "fc00::/7",
            "fe80::/10",
        ]
        .iter()
        .any(|n| in_net(ip, n)),
    }
}

pub fn register(env: &mut Environment<'static>) {
    use super::fqcn::utils_test as t;
    t(env, "ip", |v: Value| py_net(&v).is_some());
    t(env, "ipv4", |v: Value| {
        py_net(&v).is_some_and(|n| n.addr().is_ipv4())
    });
    t(env, "ipv6", |v: Value| {
        py_net(&v).is_some_and(|n| n.addr().is_ipv6())
    });
    t(env, "ip_address", |v: Value| py_addr(&v).is_some());
    t(env, "ipv4_address", |v: Value| {
        py_addr(&v).is_some_and(|a| a.is_ipv4())
    });
    t(env, "ipv6_address", |v: Value| {
        py_addr(&v).is_some_and(|a| a.is_ipv6())
    });
    t(env, "loopback", |v: Value| {
        py_addr(&v).is_some_and(|a| a.is_loopback())
    });
    t(env, "multicast", |v: Value| {
        py_addr(&v).is_some_and(is_multicast)
    });
    t(env, "unspecified", |v: Value| {
        py_addr(&v).is_some_and(|a| a.is_unspecified())
    });
    t(env, "private", |v: Value| {
        py_addr(&v).is_some_and(py_private)
    });
    t(env, "public", |v: Value| {
        py_addr(&v).is_some_and(|a| !py_private(a) && !in_net(a, "100.64.0.0/10"))
    });
    t(env, "reserved", |v: Value| {
        py_addr(&v).is_some_and(|a| in_net(a, "240.0.0.0/4") || (a.is_ipv6() && in_net(a, "::/8")))
    });
    t(env, "in_network", |v: Value, n: Value| {
        match (py_addr(&v), py_net(&n)) {
            (Some(a), Some(n)) => n.contains(&a),
            _ => false,
        }
    });
    t(env, "in_any_network", |v: Value, nets: Value| {
        let Some(a) = py_addr(&v) else { return false };
        nets.try_iter()
            .map(|mut i| i.any(|n| py_net(&n).is_some_and(|n| n.contains(&a))))
            .unwrap_or(false)
    });
    t(env, "in_one_network", |v: Value, nets: Value| {
        let Some(a) = py_addr(&v) else { return false };
        nets.try_iter()
            .map(|i| {
                i.filter(|n| py_net(n).is_some_and(|n| n.contains(&a)))
                    .count()
                    == 1
            })
            .unwrap_or(false)
    });
    t(env, "subnet_of", |v: Value, n: Value| {
        match (py_net(&v), py_net(&n)) {
            (Some(a), Some(b)) => b.contains(&a),
            _ => false,
        }
    });
    t(env, "supernet_of", |v: Value, n: Value| {
        match (py_net(&v), py_net(&n)) {
            (Some(a), Some(b)) => a.contains(&b),
            _ => false,
        }
    });
    t(env, "ipv4_netmask", |v: Value| match py_addr(&v) {
        Some(IpAddr::V4(a)) => pow2((!u32::from(a)) as u128 + 1),
        _ => false,
    });
    t(env, "ipv4_hostmask", |v: Value| match py_addr(&v) {
        Some(IpAddr::V4(a)) => pow2(u32::from(a) as u128 + 1),
        _ => false,
    });
}
