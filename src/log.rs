//! zk-entry's own log lines: one line each on stderr, `zk-entry: <message>`, so they sit apart
//! from ZooKeeper's own log on stdout and read like the error line (which `crate::exit` prints).
//!
//! Invariant: writing a log line can never stop zk-entry, which as PID 1 must keep forwarding
//! signals and reaping. stderr is usually a pipe to the container runtime, shared with the JVM;
//! when nobody reads it, it fills up and a plain write would block forever. So a line is written
//! only when `poll` says the pipe has room for it, in pieces of at most PIPE_BUF bytes (which a
//! pipe with room takes whole, without blocking); a line that would block or fails (a closed pipe,
//! /dev/full) is dropped and counted, and the next line that gets through says how many were
//! lost. O_NONBLOCK on fd 2 would do the same, but the flag belongs to the open file description,
//! which the JVM shares: its own writes would start failing with EAGAIN.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::sys;

/// POSIX's PIPE_BUF on Linux: a write of at most this many bytes to a pipe is atomic.
const PIPE_BUF: usize = 4096;

/// Lines dropped since the last one that was written.
static DROPPED: AtomicU64 = AtomicU64::new(0);

struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let label = match *event.metadata().level() {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::DEBUG | Level::TRACE => "debug: ",
            Level::INFO => "",
        };
        write!(writer, "zk-entry: {label}")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Write `text` (whole lines) to stderr if it can be done without blocking; drop and count what
/// cannot. Never fails and never blocks.
pub(crate) fn emit(text: &[u8]) {
    let escaped = escape_controls(text);
    let text = escaped.as_slice();
    let dropped = DROPPED.load(Ordering::Relaxed);
    if dropped > 0 {
        let note =
            format!("zk-entry: warning: {dropped} log lines were dropped: stderr was full or failed\n");
        if !write_now(note.as_bytes()) {
            DROPPED.fetch_add(count_lines(text), Ordering::Relaxed);
            return;
        }
        DROPPED.fetch_sub(dropped, Ordering::Relaxed);
    }
    for piece in pieces(text) {
        if !write_now(piece) {
            DROPPED.fetch_add(count_lines(piece), Ordering::Relaxed);
        }
    }
}

/// `text` with every control character but newline and tab written as `\xNN`: a host name, a
/// path or a server's reply that holds an escape sequence must not drive the terminal or split a
/// log record.
fn escape_controls(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for &b in text {
        if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

fn count_lines(text: &[u8]) -> u64 {
    text.iter().filter(|&&b| b == b'\n').count().max(1) as u64
}

/// `text` cut into pieces of at most PIPE_BUF bytes, at line ends where a line allows it.
fn pieces(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > PIPE_BUF {
        let cut = rest[..PIPE_BUF].iter().rposition(|&b| b == b'\n').map_or(PIPE_BUF, |i| i + 1);
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// One piece, written only while stderr has room; false when any of it was lost.
fn write_now(mut piece: &[u8]) -> bool {
    // Bounded: a regular file may take a piece in parts, each write makes progress or stops.
    while !piece.is_empty() {
        if !sys::stderr_has_room() {
            return false;
        }
        match std::io::stderr().write(piece) {
            Ok(0) | Err(_) => return false,
            Ok(n) => piece = &piece[n..],
        }
    }
    true
}

/// The writer tracing formats each event into: the whole event arrives in one `write` call and
/// goes to [`emit`].
struct NonBlocking;

impl Write for NonBlocking {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        emit(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for NonBlockingStderr {
    type Writer = NonBlocking;

    fn make_writer(&'a self) -> NonBlocking {
        NonBlocking
    }
}

struct NonBlockingStderr;

/// Send info and above to stderr. Called once, first thing in `main`.
pub(crate) fn init() {
    let _ = tracing_subscriber::fmt()
        .with_writer(NonBlockingStderr)
        .with_max_level(Level::INFO)
        .with_ansi(false)
        // Nothing left to report: the writer never fails (see the module doc).
        .log_internal_errors(false)
        .event_format(Line)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls(b"host 'zk\x1b[2J-0'\tok\n"), b"host 'zk\\x1b[2J-0'\tok\n");
        assert_eq!(escape_controls(b"a\rb\x7f"), b"a\\x0db\\x7f");
    }

    #[test]
    fn long_text_is_cut_at_line_ends_into_atomic_pieces() {
        let line = "x".repeat(99) + "\n";
        let text = line.repeat(100);
        let parts = pieces(text.as_bytes());
        assert!(parts.iter().all(|p| p.len() <= PIPE_BUF && p.ends_with(b"\n")), "{:?}", parts.len());
        assert_eq!(parts.concat(), text.as_bytes());
        // One line longer than PIPE_BUF is cut where it must be.
        let long = "y".repeat(PIPE_BUF * 2 + 5);
        assert_eq!(
            pieces(long.as_bytes()).iter().map(|p| p.len()).collect::<Vec<_>>(),
            [PIPE_BUF, PIPE_BUF, 5]
        );
    }
}
