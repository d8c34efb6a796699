//! What zk-entry prints for the user on stdout (`--help`, `--dry-run`'s plan, `members`, a
//! resize's table, `metrics`), written so that a reader that stops early ends nothing but the
//! output.

/// Write output for the user. `print!` would panic on a closed pipe (Rust ignores SIGPIPE); a
/// reader that stopped early (`| head`) is not an error, any other write failure is.
pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    write_stdout_bytes(text.as_bytes())
}

/// [`write_stdout`] for bytes that need not be UTF-8 (`metrics --format=raw`).
pub(crate) fn write_stdout_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to stdout"))
        }
        _ => Ok(()),
    }
}
