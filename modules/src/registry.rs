//! Every module by name. Adding a module is one file and one line here.

use crate::cloud::hetzner::Hcloud;
use crate::commands::command::{CommandModule, Kind};
use crate::{cloud, files, kubernetes, net, packages, system, utility, Module};

static MODULES: &[&dyn Module] = &[
    &CommandModule(Kind::Command),
    &CommandModule(Kind::Shell),
    &CommandModule(Kind::Raw),
    &files::copy::Copy,
    &files::template::Template,
    &files::file::File,
    &files::find::Find,
    &files::lineinfile::LINE_IN_FILE,
    &files::blockinfile::BLOCK_IN_FILE,
    &files::replace::REPLACE,
    &files::stat::Stat,
    &files::slurp::Slurp,
    &files::fetch::Fetch,
    &files::get_url::GetUrl,
    &files::ini_file::IniFile,
    &net::uri::Uri,
    &files::unarchive::Unarchive,
    &utility::debug::Debug,
    &utility::set_fact::SetFact,
    &utility::add_host::AddHost,
    &utility::add_host::GroupBy,
    &utility::assert::Assert,
    &utility::fail::Fail,
    &utility::ping::Ping,
    &utility::wait_for::WaitFor,
    &utility::wait_for_connection::WaitForConnection,
    &utility::pause::Pause,
    &packages::apt::Apt,
    &packages::apt_key::AptKey,
    &packages::package::Package,
    &packages::dpkg_selections::DpkgSelections,
    &packages::package_facts::PackageFacts,
    &packages::pip::Pip,
    &packages::sources::AptRepository,
    &packages::sources::Deb822Repository,
    &system::user::User,
    &system::group::Group,
    &system::getent::Getent,
    &system::git::Git,
    &system::authorized_key::AuthorizedKey,
    &system::cron::Cron,
    &system::sysctl::Sysctl,
    &system::ufw::Ufw,
    &system::modprobe::Modprobe,
    &system::mount::Mount,
    &system::service::ServiceModule::Service,
    &system::service::ServiceModule::Systemd,
    &system::hostname::Hostname,
    &system::timezone::Timezone,
    &system::locale_gen::LocaleGen,
    &system::service_facts::ServiceFacts,
    &system::reboot::Reboot,
    &Hcloud(cloud::hetzner::ssh_key::SshKey),
    &Hcloud(cloud::hetzner::server::Server),
    &Hcloud(cloud::hetzner::network::Network),
    &cloud::hetzner::network::Subnetwork,
    &Hcloud(cloud::hetzner::firewall::Firewall),
    &Hcloud(cloud::hetzner::placement_group::PlacementGroup),
    &Hcloud(cloud::hetzner::load_balancer::LoadBalancer),
    &kubernetes::apply::K8sApply,
    &kubernetes::info::K8sInfo,
    &kubernetes::kubeadm::init::KubeadmInit,
    &kubernetes::kubeadm::join::KubeadmJoin,
];

/// The name without an `ansible.builtin.` / `ansible.legacy.` prefix.
pub fn short_name(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

pub fn find(name: &str) -> Option<&'static dyn Module> {
    let n = short_name(name);
    MODULES.iter().copied().find(|m| {
        let s = m.spec();
        s.name == n || s.also_known_as.contains(&n) || s.also_known_as.contains(&name)
    })
}

pub fn all() -> &'static [&'static dyn Module] {
    MODULES
}
