//! What a start runs once its files are in place: the JVM command line, or the operator's
//! `-- COMMAND`; and how it is shown in logs and `--dry-run`. Apart from the plan that carries it
//! and the start that builds it, so neither imports the other.

use std::ffi::OsString;
use std::path::PathBuf;

use super::jvm::JvmCommand;
use super::render;
use crate::pid1::supervise::Child;
use crate::pid1::user::{self, RunAs};

/// What runs once the files are in place.
pub(crate) enum Program {
    Jvm(JvmCommand),
    /// `-- COMMAND [ARGS...]`.
    Custom(Vec<OsString>),
}

impl Program {
    pub(crate) fn child(
        &self,
        run_as: &RunAs,
        exit_code_map: &[(u8, u8)],
        privileges: user::Privileges,
        exit_meanings: Vec<(u8, String)>,
    ) -> Child {
        let (program, args, label) = match self {
            Program::Jvm(jvm) => (
                jvm.program.clone(),
                jvm.args().into_iter().map(OsString::from).collect(),
                "ZooKeeper".to_string(),
            ),
            Program::Custom(words) => {
                let program = PathBuf::from(&words[0]);
                let label = program.display().to_string();
                (program, words[1..].to_vec(), label)
            }
        };
        Child {
            program,
            args,
            label,
            run_as: run_as.clone(),
            exit_code_map: exit_code_map.to_vec(),
            privileges,
            exit_meanings,
            hand_off: None,
        }
    }

    /// The command as one shell-quoted line, for logs and `--dry-run`.
    pub(crate) fn display(&self) -> String {
        match self {
            Program::Jvm(jvm) => jvm.display(),
            Program::Custom(words) => {
                let words: Vec<_> = words.iter().map(|w| w.to_string_lossy()).collect();
                render::command_line(words.iter().map(|w| w.as_ref()))
            }
        }
    }
}
