//! A StatefulSet's rolling update on the pod harness, shared by tests/it/migration.rs and the
//! migration demo (examples/migrate_demo.rs): highest ordinal first, each pod deleted (SIGTERM,
//! killed when the grace period runs out), made again from the new template, and the next only
//! once it is Ready (`zk-entry ready --quorum`, the readiness the manifests use). Each step is
//! reported as `kubectl get pods -w` would show it, with the longest gap between acknowledged
//! writes of a running [`Writer`] while it lasted.

use std::time::{Duration, Instant};

use super::dynamic::{SERVE_LIMIT, Writer};
use super::ensemble::Ensemble;
use super::tutorial::{self, Ended, Image};

/// The template the pods are rolled to.
#[derive(Debug, Clone)]
pub struct Template {
    pub image: Image,
    /// The container command, whole.
    pub command: Vec<String>,
    /// The tutorial's `securityContext`: `runAsUser: 1000` (in the command) and `fsGroup: 1000`.
    pub as_1000: bool,
}

impl Template {
    /// zk-entry's image, `zk-entry start` with the tutorial's flags changed by `flags`.
    pub fn zk_entry(e: &Ensemble, flags: &[&str]) -> Template {
        Template { image: Image::ZkEntry, command: e.command_with(flags), as_1000: false }
    }

    /// zk-entry's image with the tutorial's `securityContext` kept: `zk-entry start` run as uid
    /// 1000 (group 1000), the volume given fsGroup 1000, the image's conf dir its user's.
    pub fn zk_entry_as_1000(e: &Ensemble, flags: &[&str]) -> Template {
        let mut command = tutorial::as_1000();
        command.extend(e.command_with(flags));
        Template { image: Image::ZkEntry, command, as_1000: true }
    }
}

/// What one pod's replacement did.
#[derive(Debug, Clone)]
pub struct Step {
    pub ordinal: usize,
    /// Its role just before it was deleted.
    pub role: Option<String>,
    /// The snapshots its data directory held when it was deleted (what its next start finds).
    pub snapshots: Vec<String>,
    pub ended: Ended,
    /// From its new container's start to Ready.
    pub to_ready: Duration,
    /// The longest gap between acknowledged writes during this step.
    pub gap: Duration,
}

/// Roll every pod of `e`, highest ordinal first, to `template`; `say` gets each line.
pub fn roll(
    e: &mut Ensemble,
    template: &Template,
    writer: &Writer,
    grace: Duration,
    say: &dyn Fn(&str),
) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    writer.take_gap();
    for ordinal in (0..e.size()).rev() {
        let role = e.role(ordinal);
        say(&format!("zk-{ordinal}   1/1   Terminating   ({})", role.as_deref().unwrap_or("not serving")));
        let ended = tutorial::delete(e, ordinal, grace);
        let snapshots = tutorial::files_in(e, ordinal, "/var/lib/zookeeper/data");
        let how = if ended.by_itself { "exited after SIGTERM" } else { "killed: grace period over" };
        say(&format!("zk-{ordinal}   0/1   Terminating   ({how}, {:.1} s)", ended.took.as_secs_f64()));
        tutorial::use_image(e, ordinal, template.image);
        say(&format!("zk-{ordinal}   0/1   Pending       (new template)"));
        let started = Instant::now();
        if template.as_1000 {
            tutorial::apply_fs_group(&e.pod_dir(ordinal).join("var-lib/zookeeper"));
            tutorial::give_image_dirs(e, ordinal);
        }
        e.start_with(ordinal, &template.command);
        say(&format!("zk-{ordinal}   0/1   Running"));
        e.wait_serving(&[ordinal], SERVE_LIMIT)?;
        let to_ready = started.elapsed();
        let gap = writer.take_gap();
        say(&format!(
            "zk-{ordinal}   1/1   Running       (Ready {:.1} s after start, as {}; longest write gap {:.2} s)",
            to_ready.as_secs_f64(),
            e.role(ordinal).as_deref().unwrap_or("?"),
            gap.as_secs_f64()
        ));
        steps.push(Step { ordinal, role, snapshots, ended, to_ready, gap });
    }
    Ok(steps)
}

/// A roll's outcome in lines: the writes, then each step.
pub fn describe(steps: &[Step], writes: &super::dynamic::Writes) -> Vec<String> {
    let mut lines = vec![format!(
        "{} writes acknowledged ({} refused while a pod was away); longest gap {:.2} s",
        writes.acknowledged.len(),
        writes.refused,
        writes.longest_gap.as_secs_f64()
    )];
    for s in steps {
        lines.push(format!(
            "zk-{} (was {}): {} {:.1} s after SIGTERM, Ready {:.1} s after its new start, longest write gap {:.2} s",
            s.ordinal,
            s.role.as_deref().unwrap_or("not serving"),
            if s.ended.by_itself { "stopped" } else { "killed" },
            s.ended.took.as_secs_f64(),
            s.to_ready.as_secs_f64(),
            s.gap.as_secs_f64()
        ));
    }
    lines
}
