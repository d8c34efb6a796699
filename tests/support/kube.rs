//! A StatefulSet manifest turned into the Pods the StatefulSet controller would create, for
//! `podman kube play` (podman 4.3 plays Pods and claims, not StatefulSets).
//!
//! What the controller and the kubelet would do, and what this does in its place:
//! - pod `<set>-<N>` for N in 0..replicas, with the template's labels and spec, `hostname:
//!   <set>-<N>` and `subdomain: <serviceName>`; the headless Service's DNS name
//!   `<set>-<N>.<service>.<namespace>.svc.<cluster domain>` becomes a podman network alias
//!   (DNS between the pods) and a `hostAliases` entry with the pod's address (the /etc/hosts line
//!   the kubelet writes, from which zk-entry learns its domain);
//! - one claim `<claim>-<set>-<N>` per volumeClaimTemplate, mounted by the pod;
//! - the template's volumes renamed `<pod>-<volume>`: podman makes an emptyDir a named volume
//!   of the volume's name, which the three pods would otherwise share;
//! - no container `ports`: podman publishes them on the host (Kubernetes does not), where the
//!   three pods' 2181 would collide.
//!
//! Anything else it does not know (another kind of workload, a volume source other than
//! emptyDir, a StatefulSet field outside the list below) is refused with one line naming the
//! field: a converter that guessed would test something the manifest does not say.

use std::net::Ipv4Addr;

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

/// The StatefulSet spec fields this converter understands; the ones it does not use
/// (selector, update strategy, pod management) change nothing for pods created once.
const STATEFULSET_FIELDS: &[&str] = &[
    "selector",
    "serviceName",
    "replicas",
    "podManagementPolicy",
    "updateStrategy",
    "template",
    "volumeClaimTemplates",
];
/// Kinds that may sit beside the StatefulSet: the Services become podman network aliases, the
/// disruption budget has no meaning for pods on one host.
const IGNORED_KINDS: &[&str] = &["Service", "PodDisruptionBudget"];

/// One pod to play: its podman name, its host name, its address and DNS name on the podman
/// network, and the YAML (`PersistentVolumeClaim`s, then the `Pod`).
#[derive(Debug, Clone)]
pub struct PodFile {
    pub name: String,
    pub hostname: String,
    pub fqdn: String,
    pub ip: Ipv4Addr,
    pub yaml: String,
}

impl PodFile {
    /// The `podman kube play --network` value that gives the pod its address and DNS name.
    pub fn network_arg(&self, network: &str) -> String {
        format!("{network}:ip={},alias={}", self.ip, self.fqdn)
    }
}

fn key(name: &str) -> Yaml {
    Yaml::String(name.to_string())
}

fn get<'a>(node: &'a Yaml, name: &str) -> &'a Yaml {
    &node[name]
}

fn string(node: &Yaml, field: &str) -> Result<String, String> {
    node.as_str().map(str::to_string).ok_or_else(|| format!("{field}: missing or not a string"))
}

fn hash(node: &Yaml, field: &str) -> Result<Hash, String> {
    node.as_hash().cloned().ok_or_else(|| format!("{field}: missing or not a mapping"))
}

fn list(node: &Yaml, field: &str) -> Result<Vec<Yaml>, String> {
    match node {
        Yaml::Array(items) => Ok(items.clone()),
        Yaml::BadValue => Ok(Vec::new()),
        _ => Err(format!("{field}: not a list")),
    }
}

fn emit(docs: &[Yaml]) -> String {
    let mut out = String::new();
    for doc in docs {
        let mut text = String::new();
        YamlEmitter::new(&mut text).dump(doc).expect("a YAML tree built here always emits");
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// The Pods (and claims) of the one StatefulSet in `manifest`, pod N at `first_ip + N`. The
/// names podman knows them by (pods, claims, volumes) start with `prefix`, so that a test can
/// find and remove them; host and DNS names do not. Errors are one line naming the field.
pub fn pods_from_statefulset(
    manifest: &str,
    prefix: &str,
    namespace: &str,
    cluster_domain: &str,
    first_ip: Ipv4Addr,
) -> Result<Vec<PodFile>, String> {
    let docs = YamlLoader::load_from_str(manifest).map_err(|e| format!("manifest: not YAML: {e}"))?;
    let mut sets = Vec::new();
    let mut services = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let kind = string(get(doc, "kind"), &format!("document {}: kind", i + 1))?;
        match kind.as_str() {
            "StatefulSet" => sets.push(doc),
            "Service" => services.push(doc),
            other if IGNORED_KINDS.contains(&other) => {}
            other => {
                return Err(format!(
                    "document {}: kind: {other} is not understood (StatefulSet, Service, PodDisruptionBudget)",
                    i + 1
                ));
            }
        }
    }
    let set = match sets.as_slice() {
        [one] => *one,
        [] => return Err("kind: no StatefulSet in the manifest".into()),
        _ => return Err(format!("kind: {} StatefulSets in the manifest; one is understood", sets.len())),
    };
    let set_name = string(get(get(set, "metadata"), "name"), "StatefulSet metadata.name")?;
    let spec = hash(get(set, "spec"), "StatefulSet spec")?;
    for field in spec.keys() {
        let name = field.as_str().unwrap_or("?");
        if !STATEFULSET_FIELDS.contains(&name) {
            return Err(format!(
                "StatefulSet spec.{name}: not understood ({})",
                STATEFULSET_FIELDS.join(", ")
            ));
        }
    }
    let spec = get(set, "spec");
    let service = string(get(spec, "serviceName"), "StatefulSet spec.serviceName")?;
    let headless = services.iter().any(|s| {
        get(get(s, "metadata"), "name").as_str() == Some(service.as_str())
            && get(get(s, "spec"), "clusterIP").as_str() == Some("None")
    });
    if !headless {
        return Err(format!(
            "StatefulSet spec.serviceName: {service} is not a headless Service (clusterIP: None) of the manifest"
        ));
    }
    let replicas = match get(spec, "replicas") {
        Yaml::Integer(n) if (1..=9).contains(n) => *n as u32,
        Yaml::BadValue => 1,
        _ => return Err("StatefulSet spec.replicas: not a number from 1 to 9".into()),
    };
    let template = get(spec, "template");
    let labels = get(get(template, "metadata"), "labels").clone();
    let pod_spec = hash(get(template, "spec"), "StatefulSet spec.template.spec")?;
    let claims = list(get(spec, "volumeClaimTemplates"), "StatefulSet spec.volumeClaimTemplates")?;

    let mut pods = Vec::new();
    for ordinal in 0..replicas {
        let pod = format!("{set_name}-{ordinal}");
        let podman_name = format!("{prefix}{pod}");
        let fqdn = format!("{pod}.{service}.{namespace}.svc.{cluster_domain}");
        let ip = Ipv4Addr::from(u32::from(first_ip) + ordinal);
        let mut docs = Vec::new();
        let mut volumes = Vec::new();
        for (i, volume) in list(get(&Yaml::Hash(pod_spec.clone()), "volumes"), "spec.template.spec.volumes")?
            .iter()
            .enumerate()
        {
            let name = string(get(volume, "name"), &format!("spec.template.spec.volumes[{i}].name"))?;
            let source: Vec<&str> = volume
                .as_hash()
                .into_iter()
                .flat_map(|h| h.keys())
                .filter_map(Yaml::as_str)
                .filter(|k| *k != "name")
                .collect();
            if source != ["emptyDir"] {
                return Err(format!(
                    "spec.template.spec.volumes[{i}] ({name}): only emptyDir is understood, not {}",
                    source.join(", ")
                ));
            }
            let mut renamed = hash(volume, "volume")?;
            renamed.insert(key("name"), Yaml::String(format!("{podman_name}-{name}")));
            volumes.push(Yaml::Hash(renamed));
        }
        let mut claim_volumes = Vec::new();
        for (i, claim) in claims.iter().enumerate() {
            let field = format!("StatefulSet spec.volumeClaimTemplates[{i}]");
            let name = string(get(get(claim, "metadata"), "name"), &format!("{field}.metadata.name"))?;
            let claim_name = format!("{prefix}{name}-{pod}");
            let mut doc = Hash::new();
            doc.insert(key("apiVersion"), key("v1"));
            doc.insert(key("kind"), key("PersistentVolumeClaim"));
            let mut meta = Hash::new();
            meta.insert(key("name"), Yaml::String(claim_name.clone()));
            doc.insert(key("metadata"), Yaml::Hash(meta));
            doc.insert(key("spec"), Yaml::Hash(hash(get(claim, "spec"), &format!("{field}.spec"))?));
            docs.push(Yaml::Hash(doc));
            let mut source = Hash::new();
            source.insert(key("claimName"), Yaml::String(claim_name));
            let mut volume = Hash::new();
            volume.insert(key("name"), Yaml::String(format!("{podman_name}-{name}")));
            volume.insert(key("persistentVolumeClaim"), Yaml::Hash(source));
            claim_volumes.push(name);
            volumes.push(Yaml::Hash(volume));
        }
        let renamed = |mount: &str| -> Option<String> {
            let known = claim_volumes.iter().any(|c| c == mount)
                || list(get(&Yaml::Hash(pod_spec.clone()), "volumes"), "")
                    .unwrap_or_default()
                    .iter()
                    .any(|v| get(v, "name").as_str() == Some(mount));
            known.then(|| format!("{podman_name}-{mount}"))
        };
        let mut containers = Vec::new();
        for (c, container) in
            list(get(&Yaml::Hash(pod_spec.clone()), "containers"), "spec.template.spec.containers")?
                .iter()
                .enumerate()
        {
            let field = format!("spec.template.spec.containers[{c}]");
            let mut out = hash(container, &field)?;
            if !matches!(get(container, "command"), Yaml::Array(_)) {
                return Err(format!(
                    "{field}.command: missing; the pods run the manifest's own command line"
                ));
            }
            out.remove(&key("ports"));
            let mut mounts = Vec::new();
            for (m, mount) in
                list(get(container, "volumeMounts"), &format!("{field}.volumeMounts"))?.iter().enumerate()
            {
                let name = string(get(mount, "name"), &format!("{field}.volumeMounts[{m}].name"))?;
                let new_name = renamed(&name).ok_or_else(|| {
                    format!(
                        "{field}.volumeMounts[{m}].name: {name} is neither a volume nor a volumeClaimTemplate"
                    )
                })?;
                let mut out_mount = hash(mount, "volumeMount")?;
                out_mount.insert(key("name"), Yaml::String(new_name));
                mounts.push(Yaml::Hash(out_mount));
            }
            out.insert(key("volumeMounts"), Yaml::Array(mounts));
            containers.push(Yaml::Hash(out));
        }
        let mut spec_out = pod_spec.clone();
        spec_out.insert(key("hostname"), Yaml::String(pod.clone()));
        spec_out.insert(key("subdomain"), Yaml::String(service.clone()));
        let mut alias = Hash::new();
        alias.insert(key("ip"), Yaml::String(ip.to_string()));
        alias.insert(key("hostnames"), Yaml::Array(vec![Yaml::String(fqdn.clone())]));
        spec_out.insert(key("hostAliases"), Yaml::Array(vec![Yaml::Hash(alias)]));
        spec_out.insert(key("containers"), Yaml::Array(containers));
        spec_out.insert(key("volumes"), Yaml::Array(volumes));
        let mut meta = Hash::new();
        meta.insert(key("name"), Yaml::String(podman_name.clone()));
        if !labels.is_badvalue() {
            meta.insert(key("labels"), labels.clone());
        }
        let mut doc = Hash::new();
        doc.insert(key("apiVersion"), key("v1"));
        doc.insert(key("kind"), key("Pod"));
        doc.insert(key("metadata"), Yaml::Hash(meta));
        doc.insert(key("spec"), Yaml::Hash(spec_out));
        docs.push(Yaml::Hash(doc));
        pods.push(PodFile { name: podman_name, hostname: pod, fqdn, ip, yaml: emit(&docs) });
    }
    Ok(pods)
}
