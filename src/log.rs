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

use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::sys;

/// POSIX's PIPE_BUF on Linux: a write of at most this many bytes to a pipe is atomic.
const PIPE_BUF: usize = 4096;

/// Lines dropped since the last one that was written.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The subscriber: info and above, each event one line to [`emit`]. zk-entry opens no spans, so
/// it keeps none (tracing-subscriber's registry set up a span store on every call, 32 KiB of it
/// touched at once, in a probe that logs nothing). `write` takes each line: [`emit`] in zk-entry.
struct Lines {
    write: fn(&[u8]),
}

impl Subscriber for Lines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::INFO)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let label = match *event.metadata().level() {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::DEBUG | Level::TRACE => "debug: ",
            Level::INFO => "",
        };
        let mut fields = Fields(format!("zk-entry: {label}"), false);
        event.record(&mut fields);
        fields.0.push('\n');
        (self.write)(fields.0.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// An event's fields as tracing-subscriber's default format wrote them: the message as it
/// reads, any other field as ` name=value`; the bool says whether one was written.
struct Fields(String, bool);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.1 {
            self.0.push(' ');
        }
        self.1 = true;
        let _ = match field.name() {
            "message" => write!(C1Escaped(&mut self.0), "{value:?}"),
            name => write!(self.0, "{}={value:?}", name.strip_prefix("r#").unwrap_or(name)),
        };
    }
}

/// Writes C1 control characters (U+0080 to U+009F, which some terminals obey as escape
/// sequences) as `\u{85}`; [`emit`] escapes the C0 ones.
struct C1Escaped<'a>(&'a mut String);

impl fmt::Write for C1Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| matches!(c, '\u{80}'..='\u{9f}')) {
            self.0.push_str(&rest[..at]);
            write!(self.0, "\\u{{{:x}}}", c as u32)?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.push_str(rest);
        Ok(())
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

/// Send info and above to stderr. Called once, first thing in `main`.
pub(crate) fn init() {
    // Fails only when a subscriber is already set, which leaves that one in place.
    let _ = tracing::subscriber::set_global_default(Lines { write: emit });
}

#[cfg(test)]
mod tests {
    use super::*;

    static WRITTEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

    fn capture(line: &[u8]) {
        WRITTEN.lock().unwrap().push(String::from_utf8_lossy(line).into_owned());
    }

    /// The lines tracing-subscriber's formatter wrote before, with its escaping of C1 controls.
    #[test]
    fn events_are_one_labelled_line_each() {
        tracing::subscriber::with_default(Lines { write: capture }, || {
            tracing::info!("host {}", "zk\u{1b}[2J\u{85}-0");
            tracing::warn!(code = 3, "exited");
            tracing::error!("failed");
            tracing::debug!("not shown");
        });
        let written = std::mem::take(&mut *WRITTEN.lock().unwrap());
        assert_eq!(
            written,
            [
                "zk-entry: host zk\u{1b}[2J\\u{85}-0\n",
                "zk-entry: warning: exited code=3\n",
                "zk-entry: error: failed\n"
            ]
        );
    }

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
