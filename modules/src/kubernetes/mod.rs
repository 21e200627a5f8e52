//! Kubernetes: k8s_apply and k8s_info, on the kube crate. The connection, discovery, object
//! loading, ordering, comparison, waiting and errors are shared by both (and by the kubeadm
//! modules to come).

pub mod apply;
pub mod client;
pub mod compare;
pub mod errors;
pub mod info;
pub mod kubeadm;
pub mod manifest;
pub mod observe;
pub mod order;
pub mod resolve;
pub mod wait;
