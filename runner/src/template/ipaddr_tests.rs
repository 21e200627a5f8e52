//! Unit tests of ipaddr.rs and ip_tests.rs (values as ansible.utils computes them).
use super::*;

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    register(&mut env);
    env
}

fn r(src: &str) -> String {
    env().render_str(src, ()).unwrap()
}

fn q(value: &str, query: &str) -> String {
    r(&format!(
        "{{{{ '{value}' | ansible.utils.ipaddr('{query}') }}}}"
    ))
}

// Expected values: ansible.utils 5.x with netaddr 1.3.
#[test]
fn ipaddr_queries() {
    assert_eq!(q("192.168.1.10/24", ""), "192.168.1.10/24");
    assert_eq!(q("192.168.1.10", ""), "192.168.1.10");
    assert_eq!(q("nonsense", ""), "False");
    assert_eq!(q("192.168.1.10/24", "address"), "192.168.1.10");
    assert_eq!(q("192.168.1.0/24", "address"), "None");
    assert_eq!(q("192.168.1.10/24", "network"), "192.168.1.0");
    assert_eq!(q("192.168.1.10/24", "netmask"), "255.255.255.0");
    assert_eq!(q("192.168.1.10/255.255.255.0", "prefix"), "24");
    assert_eq!(q("192.168.1.10/24", "prefix"), "24");
    assert_eq!(q("192.168.1.10/24", "host"), "192.168.1.10/24");
    assert_eq!(q("192.168.1.10", "host"), "192.168.1.10/32");
    assert_eq!(q("192.168.1.0/24", "net"), "192.168.1.0/24");
    assert_eq!(q("192.168.1.10/24", "net"), "None");
    assert_eq!(q("192.168.1.10/24", "subnet"), "192.168.1.0/24");
    assert_eq!(q("192.168.1.10/24", "size"), "256");
    assert_eq!(q("192.168.1.10/24", "broadcast"), "192.168.1.255");
    assert_eq!(q("10.0.0.1", "private"), "10.0.0.1");
    assert_eq!(q("8.8.8.8", "private"), "None");
    assert_eq!(q("8.8.8.8", "public"), "8.8.8.8");
    assert_eq!(q("192.168.1.1", "public"), "None");
    assert_eq!(q("10.0.0.0/24", "first_usable"), "10.0.0.1");
    assert_eq!(q("10.0.0.0/24", "last_usable"), "10.0.0.254");
    assert_eq!(q("10.0.0.0/24", "range_usable"), "10.0.0.1-10.0.0.254");
    assert_eq!(q("10.0.0.0/24", "1"), "10.0.0.1/24");
    assert_eq!(q("10.0.0.0/24", "-1"), "10.0.0.255/24");
    assert_eq!(q("10.233.0.0/18", "10"), "10.233.0.10/18");
    assert_eq!(q("2001:db8::1/64", "address"), "2001:db8::1");
    assert_eq!(q("2001:db8::/64", "network"), "2001:db8::");
    assert_eq!(q("2001:db8::1", "wrap"), "[2001:db8::1]");
    assert_eq!(q("192.168.1.10", "192.168.0.0/16"), "192.168.1.10");
    assert_eq!(q("10.1.1.1", "192.168.0.0/16"), "None");
    assert_eq!(q("192.168.1.10", "version"), "4");
    assert_eq!(q("192.168.1.10", "revdns"), "10.1.168.192.in-addr.arpa.");
}

#[test]
fn list_filtering_and_versions() {
    assert_eq!(
        r("{{ ['192.168.1.1', 'x', '::1', '10.0.0.0/8'] | ipaddr }}"),
        "['192.168.1.1', '::1', '10.0.0.0/8']"
    );
    assert_eq!(r("{{ ['192.168.1.1', '::1'] | ipv4 }}"), "['192.168.1.1']");
    assert_eq!(
        r("{{ ['192.168.1.1', '::1'] | ansible.utils.ipv6 }}"),
        "['::1']"
    );
    assert_eq!(r("{{ '192.168.1.1' | ipv6 }}"), "False");
}

#[test]
fn ipwrap_ipmath_nthhost() {
    assert_eq!(r("{{ '2001:db8::1' | ipwrap }}"), "[2001:db8::1]");
    assert_eq!(r("{{ '192.168.1.1' | ipwrap }}"), "192.168.1.1");
    assert_eq!(r("{{ 'example.com' | ipwrap }}"), "example.com");
    assert_eq!(
        r("{{ ['::1', '1.2.3.4', 'host'] | ipwrap }}"),
        "['[::1]', '1.2.3.4', 'host']"
    );
    assert_eq!(r("{{ '192.168.1.5' | ipmath(5) }}"), "192.168.1.10");
    assert_eq!(r("{{ '192.168.1.5' | ipmath(-10) }}"), "192.168.0.251");
    assert_eq!(r("{{ '2001::1' | ipmath(10) }}"), "2001::b");
    assert_eq!(r("{{ '10.0.0.0/8' | nthhost(305) }}"), "10.0.1.49");
    assert_eq!(r("{{ '10.0.0.0/24' | nthhost(-1) }}"), "10.0.0.255");
    assert_eq!(r("{{ '10.0.0.0/30' | nthhost(4) }}"), "False");
    assert_eq!(
        r("{{ '192.168.122.1/24' | next_nth_usable(2) }}"),
        "192.168.122.3"
    );
    assert_eq!(
        r("{{ '192.168.122.1/24' | previous_nth_usable(1) }}"),
        "None"
    );
    assert_eq!(
        r("{{ '192.168.0.0/24' | network_in_usable('192.168.0.1') }}"),
        "True"
    );
    assert_eq!(
        r("{{ '192.168.0.0/24' | network_in_usable('192.168.0.255') }}"),
        "False"
    );
    assert_eq!(
        r("{{ '192.168.0.0/16' | network_in_network('192.168.3.0/24') }}"),
        "True"
    );
}

#[test]
fn ip_tests() {
    assert_eq!(r("{{ '10.1.1.1' is ansible.utils.ipv4_address }}"), "True");
    assert_eq!(r("{{ '10.1.1.1/24' is ipv4_address }}"), "False");
    assert_eq!(r("{{ '10.1.1.1/24' is ip }}"), "True");
    assert_eq!(r("{{ '::1' is ipv6 }}"), "True");
    assert_eq!(r("{{ '10.1.1.1' is in_network('10.0.0.0/8') }}"), "True");
    assert_eq!(r("{{ '10.1.1.1' is private }}"), "True");
    assert_eq!(r("{{ '8.8.8.8' is public }}"), "True");
    assert_eq!(r("{{ '10.1.0.0/16' is subnet_of('10.0.0.0/8') }}"), "True");
    assert_eq!(r("{{ '255.255.255.0' is ipv4_netmask }}"), "True");
    assert_eq!(r("{{ '0.0.0.255' is ipv4_hostmask }}"), "True");
}
