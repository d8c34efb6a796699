//! `--set_file KEY=PATH`: zoo.cfg values read from secret files (a Secret volume's entries).
//!
//! Every value read so is secret ([`crate::secrets`]): zoo.cfg becomes private and shows it
//! redacted. The four store passwords ZooKeeper can read from a file itself
//! ([`super::settings::PASSWORD_PATH_KEYS`]) go into a 0600 file of their own beside zoo.cfg,
//! which then names that file (`KEYPath`) instead of holding the value.

use super::plan::{Contents, Contribution, Entry, File, Group};
use super::settings::{self, Settings};
use crate::secrets;

/// Read every `--set_file`; a value zoo.cfg could not carry as given is refused, naming the
/// file and never quoting it.
pub(crate) fn contribution(s: &Settings) -> anyhow::Result<Contribution> {
    let mut out = Contribution::default();
    for secret in &s.security.set_file {
        let what = format!("{} {}", secret.name, secret.key);
        let value = secrets::read_file(&what, &secret.path)?;
        if settings::PASSWORD_PATH_KEYS.contains(&secret.key.as_str()) {
            // ZooKeeper reads this one from a file itself: zoo.cfg names the file only.
            let path = s.paths.conf_dir.join(format!("secret.{}", secret.key));
            out.zoo_cfg.push(Entry::new(format!("{}Path", secret.key), path.to_string_lossy()));
            let contents = Contents::Private { text: value, shown: secrets::REDACTED.into() };
            out.files.push(File { path, group: Group::Credentials, contents });
        } else {
            if let Some(problem) = settings::zoo_cfg_value_problem(&value) {
                anyhow::bail!(
                    "{what}: {}: the value {problem}; expected the value without it",
                    secret.path.display()
                );
            }
            out.zoo_cfg.push(Entry::secret(secret.key.clone(), value));
        }
    }
    Ok(out)
}
