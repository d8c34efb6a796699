//! The container image recipe and the Kubernetes manifests against the binary they ship.
mod manifests;
