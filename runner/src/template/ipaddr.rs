//! ansible.utils' IP-address filters (`ipaddr` and its queries, `ipv4`, `ipv6`, `ipwrap`,
//! `ipmath`, `nthhost`, `next_nth_usable`, `previous_nth_usable`, `network_in_usable`,
//! `network_in_network`) and tests (`ip`, `ipv4_address`, `in_network`, `private`, ...), as
//! the collection computes them with netaddr and Python's ipaddress.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;
use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, Value};

pub(super) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

pub(super) fn text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// An address with its prefix, as netaddr's IPNetwork: the host bits are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Net {
    ip: IpAddr,
    prefix: u8,
}

impl Net {
    fn bits(&self) -> u8 {
        if self.ip.is_ipv4() {
            32
        } else {
            128
        }
    }
    fn version(&self) -> u8 {
        if self.ip.is_ipv4() {
            4
        } else {
            6
        }
    }
    fn int(&self) -> u128 {
        to_int(self.ip)
    }
    fn mask(&self) -> u128 {
        let all = max_int(self.bits());
        if self.prefix == 0 {
            0
        } else {
            all & !all.checked_shr(self.prefix as u32).unwrap_or(0)
        }
    }
    fn host_mask(&self) -> u128 {
        max_int(self.bits()) & !self.mask()
    }
    fn network(&self) -> u128 {
        self.int() & self.mask()
    }
    fn last(&self) -> u128 {
        self.network() | self.host_mask()
    }
    fn size(&self) -> u128 {
        self.host_mask().saturating_add(1)
    }
    fn addr(&self, n: u128) -> IpAddr {
        from_int(n, self.version())
    }
    /// netaddr has no broadcast address for /31 and /32 (/127, /128).
    fn broadcast(&self) -> Option<IpAddr> {
        (self.size() > 2).then(|| self.addr(self.last()))
    }
    fn cidr(&self) -> String {
        format!("{}/{}", self.addr(self.network()), self.prefix)
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix)
    }
}

fn max_int(bits: u8) -> u128 {
    if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

fn to_int(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_int(n: u128, version: u8) -> IpAddr {
    if version == 4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

/// Whether the value named a network (had a `/`) or an address.
#[derive(Debug, Clone, Copy, PartialEq)]
enum VType {
    Address,
    Network,
}

/// netaddr's reading of an IP string: `a.b.c.d`, `a.b.c.d/24`, `a.b.c.d/255.255.255.0`,
/// IPv6 with or without prefix, or a bare integer.
fn parse(s: &str) -> Option<(Net, VType)> {
    let s = s.trim();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        let n: u128 = s.parse().ok()?;
        let v = if n <= u32::MAX as u128 { 4 } else { 6 };
        let ip = from_int(n, v);
        return Some((
            Net {
                ip,
                prefix: if v == 4 { 32 } else { 128 },
            },
            VType::Address,
        ));
    }
    match s.split_once('/') {
        None => {
            let ip = IpAddr::from_str(s).ok()?;
            let prefix = if ip.is_ipv4() { 32 } else { 128 };
            Some((Net { ip, prefix }, VType::Address))
        }
        Some((a, p)) => {
            let ip = IpAddr::from_str(a).ok()?;
            let bits = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match p.parse::<u8>() {
                Ok(n) if n <= bits => n,
                Ok(_) => return None,
                Err(_) => {
                    // A netmask (or a hostmask, as netaddr also reads it).
                    let m = to_int(IpAddr::from_str(p).ok()?);
                    let ones = m.count_ones() as u8;
                    let net = Net { ip, prefix: ones };
                    if net.mask() == m {
                        ones
                    } else if max_int(bits) & !m == net.mask() {
                        bits - ones
                    } else {
                        return None;
                    }
                }
            };
            Some((Net { ip, prefix }, VType::Network))
        }
    }
}

pub(super) fn in_net(ip: IpAddr, cidr: &str) -> bool {
    IpNet::from_str(cidr).is_ok_and(|n| n.contains(&ip))
}

/// netaddr's (>= 1.0) `is_global`: outside IANA's not-globally-reachable ranges.
fn is_global(ip: IpAddr) -> bool {
    const V4: &[&str] = &[
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "255.255.255.255/32",
    ];
    const V4_EXCEPT: &[&str] = &["192.0.0.9/32", "192.0.0.10/32"];
    const V6: &[&str] = &[
        "::1/128",
        "::/128",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
    ];
    const V6_EXCEPT: &[&str] = &[
        "2001:1::1/128",
        "2001:1::2/128",
        "2001:3::/32",
        "2001:4:112::/48",
        "2001:20::/28",
        "2001:30::/28",
    ];
    let (deny, allow) = if ip.is_ipv4() {
        (V4, V4_EXCEPT)
    } else {
        (V6, V6_EXCEPT)
    };
    !deny.iter().any(|n| in_net(ip, n)) || allow.iter().any(|n| in_net(ip, n))
}

pub(super) fn is_multicast(ip: IpAddr) -> bool {
    ip.is_multicast()
}

pub(super) fn pow2(n: u128) -> bool {
    n != 0 && n & (n - 1) == 0
}

/// The ipaddr filter's result: a string, a number, a bool, or None (no result).
fn query(value: &str, q: &str, version: Option<u8>, alias: &str) -> Result<Value, Error> {
    let Some((v, vtype)) = parse(value) else {
        return Ok(Value::from(false));
    };
    if version.is_some_and(|want| v.version() != want) {
        return Ok(Value::from(false));
    }
    let s = |x: String| Ok(Value::from(x));
    let none = || Ok(Value::from(()));
    let same = || Ok(Value::from(value));
    let ip = v.ip;
    let size = v.size();
    let is_net_addr = v.int() == v.network();
    let (first, last) = if size == 2 {
        (v.network(), v.last())
    } else {
        (v.network() + 1, v.last().saturating_sub(1))
    };
    match q {
        "" => match vtype {
            VType::Address => s(ip.to_string()),
            VType::Network => s(v.to_string()),
        },
        "address" | "ip" => {
            if size == 1 || !is_net_addr || v.broadcast().is_none() || v.version() == 6 {
                s(ip.to_string())
            } else {
                none()
            }
        }
        "address/prefix" | "gateway" | "gw" | "host/prefix" | "hostnet" | "router" => {
            if size > 2 && (is_net_addr || Some(ip) == v.broadcast()) {
                Ok(Value::from(false))
            } else {
                s(v.to_string())
            }
        }
        "bool" => Ok(Value::from(true)),
        "broadcast" => v.broadcast().map_or_else(none, |b| s(b.to_string())),
        "cidr" => s(v.to_string()),
        "first_usable" | "last_usable" | "range_usable" | "next_usable" | "previous_usable"
        | "peer"
            if vtype == VType::Address =>
        {
            Err(err(format!("{alias}: Not a network address")))
        }
        "first_usable" => {
            if size > 1 {
                s(v.addr(first).to_string())
            } else {
                none()
            }
        }
        "last_usable" => {
            if size > 1 {
                s(v.addr(last).to_string())
            } else {
                none()
            }
        }
        "range_usable" => {
            if size > 1 {
                s(format!("{}-{}", v.addr(first), v.addr(last)))
            } else {
                none()
            }
        }
        "next_usable" => match v.int().checked_add(1) {
            Some(n) if size > 1 && n >= first && n <= last => s(v.addr(n).to_string()),
            _ => none(),
        },
        "previous_usable" => match v.int().checked_sub(1) {
            Some(n) if size > 1 && n >= first && n <= last => s(v.addr(n).to_string()),
            _ => none(),
        },
        "peer" => match size {
            2 => s(v.addr(v.int() ^ 1).to_string()),
            4 if v.int() % 4 == 0 => {
                Err(err(format!("{alias}: Network address of /30 has no peer")))
            }
            4 if v.int() % 4 == 3 => Err(err(format!(
                "{alias}: Broadcast address of /30 has no peer"
            ))),
            4 => s(v.addr(v.int() ^ 3).to_string()),
            _ => Err(err(format!("{alias}: Not a point-to-point network"))),
        },
        "host" => {
            if size == 1 || !is_net_addr || v.broadcast().is_none() {
                s(v.to_string())
            } else {
                none()
            }
        }
        "hostmask" | "wildcard" => s(v.addr(v.host_mask()).to_string()),
        "int" => match vtype {
            VType::Address => Ok(Value::from(v.int())),
            VType::Network => s(format!("{}/{}", v.int(), v.prefix)),
        },
        "ip/prefix" => {
            if size == 2 || (size > 1 && !is_net_addr) {
                s(v.to_string())
            } else {
                none()
            }
        }
        "ip_netmask" => {
            if size == 2 || (size > 1 && !is_net_addr) {
                s(format!("{} {}", ip, v.addr(v.mask())))
            } else {
                none()
            }
        }
        "ipv4" | "v4" => match ip {
            IpAddr::V4(_) => same(),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(m) => s(format!("{}/{}", m, v.prefix.saturating_sub(96))),
                None => Ok(Value::from(false)),
            },
        },
        "ipv6" | "v6" => match ip {
            IpAddr::V4(a) => s(format!("{}/{}", a.to_ipv6_mapped(), v.prefix + 96)),
            IpAddr::V6(_) => same(),
        },
        "link-local" => {
            if in_net(ip, "169.254.0.0/16") || in_net(ip, "fe80::/10") {
                same()
            } else {
                none()
            }
        }
        "lo" | "loopback" => {
            if ip.is_loopback() {
                same()
            } else {
                none()
            }
        }
        "multicast" => {
            if is_multicast(ip) {
                same()
            } else {
                none()
            }
        }
        "unicast" => {
            if !is_multicast(ip) {
                same()
            } else {
                none()
            }
        }
        "net" => {
            if size > 1 && is_net_addr {
                s(v.cidr())
            } else {
                none()
            }
        }
        "netmask" => s(v.addr(v.mask()).to_string()),
        "network" | "network_id" => s(v.addr(v.network()).to_string()),
        "network/prefix" | "subnet" => s(v.cidr()),
        "network_netmask" => s(format!("{} {}", v.addr(v.network()), v.addr(v.mask()))),
        "network_wildcard" => s(format!("{} {}", v.addr(v.network()), v.addr(v.host_mask()))),
        "prefix" => Ok(Value::from(v.prefix)),
        "private" => {
            if !is_global(ip) {
                same()
            } else {
                none()
            }
        }
        "public" => {
            let n = to_int(ip);
            let all = max_int(v.bits());
            let netmask = pow2((n ^ all).wrapping_add(1)) || n == 0;
            let hostmask = pow2(n.wrapping_add(1)) || n == all;
            if !is_multicast(ip) && is_global(ip) && !ip.is_loopback() && !netmask && !hostmask {
                same()
            } else {
                none()
            }
        }
        "revdns" => s(revdns(ip)),
        "size" => Ok(size_value(size)),
        "size_usable" => Ok(size_value(match size {
            1 => 0,
            2 => 2,
            n => n - 2,
        })),
        "type" => s(if size == 1 || !is_net_addr {
            "address"
        } else {
            "network"
        }
        .into()),
        "version" => Ok(Value::from(v.version())),
        "wrap" => match (ip, vtype) {
            (IpAddr::V6(a), VType::Address) => s(format!("[{a}]")),
            (IpAddr::V6(a), VType::Network) => s(format!("[{a}]/{}", v.prefix)),
            _ => same(),
        },
        // An index: the nth address of the network, with its prefix.
        q if q.parse::<i128>().is_ok() => {
            let n: i128 = q.parse().unwrap_or(0);
            if size == 1 {
                return match vtype {
                    VType::Address => s(ip.to_string()),
                    VType::Network => s(v.to_string()),
                };
            }
            match nth(&v, n) {
                Some(a) => s(format!("{a}/{}", v.prefix)),
                None => Ok(Value::from(false)),
            }
        }
        // A network: the value if it lies inside it.
        q if parse(q).is_some_and(|(_, t)| t == VType::Network) => {
            let (n, _) = parse(q).unwrap_or((v, vtype));
            let inside = n.version() == v.version()
                && v.prefix >= n.prefix
                && v.network() & n.mask() == n.network();
            if inside {
                same()
            } else {
                none()
            }
        }
        other => Err(err(format!("{alias}: unknown filter type: {other}"))),
    }
}

fn size_value(n: u128) -> Value {
    match i64::try_from(n) {
        Ok(i) => Value::from(i),
        Err(_) => Value::from(n),
    }
}

/// The nth address of the network (from the end when negative).
fn nth(v: &Net, n: i128) -> Option<IpAddr> {
    let last = v.host_mask();
    let idx = if n < 0 {
        last.checked_sub(n.unsigned_abs() - 1)?
    } else {
        Some(n as u128).filter(|i| *i <= last)?
    };
    Some(v.addr(v.network() + idx))
}

fn revdns(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(a) => {
            let hex: String = a.octets().iter().map(|b| format!("{b:02x}")).collect();
            let mut out: Vec<String> = hex.chars().rev().map(|c| c.to_string()).collect();
            out.push("ip6.arpa.".into());
            out.join(".")
        }
    }
}

/// ipaddr on a value or on each item of a list (keeping the truthy results).
fn ipaddr_any(value: &Value, q: &Value, version: Option<u8>, alias: &str) -> Result<Value, Error> {
    let q = if q.is_undefined() || q.is_none() {
        String::new()
    } else {
        text(q)
    };
    if value.kind() == ValueKind::Seq {
        let mut out = vec![];
        for item in value.try_iter()? {
            let r = ipaddr_any(&item, &Value::from(q.as_str()), version, alias)?;
            if r.is_true() {
                out.push(r);
            }
        }
        return Ok(Value::from(out));
    }
    if !value.is_true() || value.kind() == ValueKind::Bool {
        return Ok(Value::from(false));
    }
    query(&text(value), &q, version, alias)
}

fn ipaddr(v: Value, q: Option<Value>, version: Option<u8>) -> Result<Value, Error> {
    let version = version.filter(|v| *v != 0);
    ipaddr_any(&v, &q.unwrap_or_default(), version, "ipaddr")
}

fn ipv4(v: Value, q: Option<Value>) -> Result<Value, Error> {
    ipaddr_any(&v, &q.unwrap_or_default(), Some(4), "ipv4")
}

fn ipv6(v: Value, q: Option<Value>) -> Result<Value, Error> {
    ipaddr_any(&v, &q.unwrap_or_default(), Some(6), "ipv6")
}

/// `ipwrap`: IPv6 addresses in brackets; anything else unchanged.
fn ipwrap(v: Value, q: Option<Value>) -> Result<Value, Error> {
    let q = q.unwrap_or_default();
    let wrap = |item: &Value| -> Result<Value, Error> {
        let r = ipaddr_any(item, &q, None, "ipwrap")?;
        if r.is_true() && r.kind() == ValueKind::String {
            query(&text(&r), "wrap", None, "ipwrap")
        } else {
            Ok(item.clone())
        }
    };
    if v.kind() == ValueKind::Seq {
        let items: Result<Vec<Value>, Error> = v.try_iter()?.map(|i| wrap(&i)).collect();
        return Ok(Value::from(items?));
    }
    wrap(&v)
}

/// `ipmath(amount)`: the address `amount` after (or before) this one.
fn ipmath(v: Value, amount: i64) -> Result<Value, Error> {
    let s = text(&v);
    let ip = IpAddr::from_str(s.trim()).map_err(|_| {
        err(format!(
            "ipmath: You must pass a valid IP address; {s} is invalid"
        ))
    })?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let n = to_int(ip);
    let r = if amount >= 0 {
        n.checked_add(amount as u128)
    } else {
        n.checked_sub(amount.unsigned_abs() as u128)
    }
    .filter(|r| *r <= max_int(bits))
    .ok_or_else(|| err(format!("ipmath: {s} + {amount} is out of range")))?;
    Ok(Value::from(
        from_int(r, if ip.is_ipv4() { 4 } else { 6 }).to_string(),
    ))
}

/// `nthhost(n)`: the nth address of a network (from its end when negative).
fn nthhost(v: Value, n: Option<Value>) -> Result<Value, Error> {
    let Some((net, _)) = parse(&text(&v)) else {
        return Ok(Value::from(false));
    };
    let Some(n) = n.and_then(|n| text(&n).parse::<i128>().ok()) else {
        return Ok(Value::from(false));
    };
    Ok(match nth(&net, n) {
        Some(a) => Value::from(a.to_string()),
        None => Value::from(false),
    })
}

/// `next_nth_usable(n)` / `previous_nth_usable(n)`: an address n steps away, inside the
/// network's usable range.
fn nth_usable(v: Value, n: i128, sign: i128) -> Result<Value, Error> {
    let Some((net, vtype)) = parse(&text(&v)) else {
        return Ok(Value::from(false));
    };
    if vtype == VType::Address {
        return Err(err("Not a network address"));
    }
    let size = net.size();
    if size <= 1 {
        return Ok(Value::from(()));
    }
    let (first, last) = if size == 2 {
        (net.network(), net.last())
    } else {
        (net.network() + 1, net.last() - 1)
    };
    let target = net.int() as i128 + sign * n;
    if target >= first as i128 && target <= last as i128 {
        Ok(Value::from(net.addr(target as u128).to_string()))
    } else {
        Ok(Value::from(()))
    }
}

/// `network_in_usable(test)`: whether `test` is a usable address of the network.
fn network_in_usable(v: Value, test: Value) -> Result<Value, Error> {
    let (Some((net, _)), Some((t, _))) = (parse(&text(&v)), parse(&text(&test))) else {
        return Err(err(
            "network_in_usable: you must pass a valid IP address or network",
        ));
    };
    let size = net.size();
    let (first, last) = if size <= 2 {
        (net.network(), net.last())
    } else {
        (net.network() + 1, net.last() - 1)
    };
    Ok(Value::from(
        t.version() == net.version() && t.network() >= first && t.last() <= last,
    ))
}

/// `network_in_network(test)`: whether all of `test` is inside the network.
fn network_in_network(v: Value, test: Value) -> Result<Value, Error> {
    let (Some((net, _)), Some((t, _))) = (parse(&text(&v)), parse(&text(&test))) else {
        return Err(err(
            "network_in_network: you must pass a valid IP address or network",
        ));
    };
    Ok(Value::from(
        t.version() == net.version() && t.network() >= net.network() && t.last() <= net.last(),
    ))
}

pub fn register(env: &mut Environment<'static>) {
    use super::fqcn::utils_filter as f;
    f(env, "ipaddr", ipaddr);
    f(env, "ipv4", ipv4);
    f(env, "ipv6", ipv6);
    f(env, "ipwrap", ipwrap);
    f(env, "ipmath", ipmath);
    f(env, "nthhost", nthhost);
    f(env, "next_nth_usable", |v: Value, n: i64| {
        nth_usable(v, n as i128, 1)
    });
    f(env, "previous_nth_usable", |v: Value, n: i64| {
        nth_usable(v, n as i128, -1)
    });
    f(env, "network_in_usable", network_in_usable);
    f(env, "network_in_network", network_in_network);
    super::ip_tests::register(env);
}

#[cfg(test)]
#[path = "ipaddr_tests.rs"]
mod tests;
