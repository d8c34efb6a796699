//! The four-letter-word client that `ready` and `metrics` share: one command on one connection,
//! the whole exchange bounded by one deadline, and the reply sorted into what ZooKeeper can say.
//!
//! Why it is written this way (docs/design.md, "Four-letter words on the wire", and defect 11 in
//! "The tutorial's scripts and their defects"):
//! - exactly the four command bytes are sent: the server reads them as a length prefix and never
//!   reads anything after them. A fifth byte (`echo ruok | nc` sends `\n`) stays unread, the
//!   server's close then becomes a reset, and a reset can make a client drop the reply it already
//!   has: the tutorial probe's rare false failure.
//! - after sending, the write side is half-closed and the reply read to EOF: the protocol has no
//!   framing, the server closes when it is done.
//! - whatever arrived before a reset is kept: `imok` followed by a reset is still `imok`.
//! - one deadline covers name lookup, connect, write and every read ([`crate::net`]), so a probe
//!   never outlives the kubelet's `timeoutSeconds`, whatever the server or the resolver does.
//! - the reply is capped ([`REPLY_CAP`]): a peer that streams forever cannot exhaust memory.
//!
//! Only the words in [`Word`] can be sent; the reset commands (`srst`, `crst`) are not among
//! them, so no caller can clear the server's statistics by mistake.

use std::fmt;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use crate::net::{self, Deadline, Ended};

/// The most reply bytes kept. ZooKeeper 3.8's `mntr` is about 16 KiB, but 3.6+ adds lines for
/// every top-level znode that is written to (per-namespace metrics, whose keys hold the znode's
/// name): measured on Debian's 3.8, 1,000 of them with 204-character names make 1.2 MB (about
/// 1.2 KB each, tests/real_zookeeper.rs), past the 1 MiB this cap used to be. 64 MiB is some
/// 50,000 such namespaces; a reply beyond it is a peer streaming, not a server reporting.
pub(crate) const REPLY_CAP: usize = 64 << 20;

/// What ZooKeeper answers to a word that `4lw.commands.whitelist` does not enable; the word
/// itself comes first (`ruok is not executed ...`).
const NOT_WHITELISTED: &str = " is not executed because it is not in the whitelist.";
/// What `srvr`, `stat`, `mntr` and `conf` answer while the server has no quorum.
const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// The four-letter words zk-entry sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    /// `imok` whenever the process accepts connections.
    Ruok,
    /// Version, counters and `Mode:`; always whitelisted on 3.5.3+.
    Srvr,
    /// Monitoring key/value lines.
    Mntr,
}

impl Word {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Word::Ruok => "ruok",
            Word::Srvr => "srvr",
            Word::Mntr => "mntr",
        }
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where to send: a host name or address literal, and the client port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Everything the server sent before EOF, a reset or the cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) bytes: Vec<u8>,
    /// The read ended in a reset rather than an orderly close; `bytes` is what came before it.
    pub(crate) reset: bool,
}

/// What a reply means, independent of the word asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer<'a> {
    /// The server has no quorum (election, syncing, or a lone member of an ensemble).
    NotServing,
    /// `4lw.commands.whitelist` does not enable this word.
    NotWhitelisted(&'a str),
    /// The server closed (or reset) the connection without a byte: an unknown word, or not ZooKeeper.
    Nothing,
    /// Anything else: the command's own output, to be judged by the caller.
    Text(&'a [u8]),
}

impl Reply {
    pub(crate) fn answer(&self) -> Answer<'_> {
        let text = trim_end(&self.bytes);
        if text.is_empty() {
            return Answer::Nothing;
        }
        if text == NOT_SERVING.as_bytes() {
            return Answer::NotServing;
        }
        if let Some(word) = text.strip_suffix(NOT_WHITELISTED.as_bytes())
            && word.len() == 4
            && word.iter().all(u8::is_ascii_lowercase)
        {
            // Four ASCII letters, checked just above.
            return Answer::NotWhitelisted(std::str::from_utf8(word).unwrap_or("?"));
        }
        Answer::Text(&self.bytes)
    }
}

/// Why no reply could be had. Each variant names the step, for the one-line message.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The host name did not resolve (or resolved to nothing).
    Resolve { host: String, reason: String },
    /// Nothing listens on the port.
    Refused,
    /// The deadline passed during `step`; `got` bytes had arrived by then.
    TimedOut { step: &'static str, limit: Duration, got: Vec<u8> },
    /// More than [`REPLY_CAP`] bytes.
    TooLarge,
    /// Any other socket error during `step`.
    Io { step: &'static str, error: std::io::Error },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Resolve { host, reason } => write!(f, "cannot resolve host '{host}': {reason}"),
            Failure::Refused => f.write_str(
                "connection refused (nothing listens there: ZooKeeper is not running yet, or clientPort is another port)",
            ),
            Failure::TimedOut { step, limit, got } if got.is_empty() => {
                write!(f, "timed out after {} while {step}", millis(*limit))
            }
            Failure::TimedOut { step, limit, got } => write!(
                f,
                "timed out after {} while {step}, with only {} so far",
                millis(*limit),
                quote(got)
            ),
            Failure::TooLarge => write!(f, "reply larger than {} MiB: not a four-letter-word reply", REPLY_CAP >> 20),
            Failure::Io { step, error } => write!(f, "{step}: {error}"),
        }
    }
}

impl std::error::Error for Failure {}

/// Send `word` to `target` and read the reply, all within `timeout` from `start`.
pub(crate) fn ask(target: &Target, word: Word, start: Instant, timeout: Duration) -> Result<Reply, Failure> {
    let deadline = Deadline::new(start + timeout);
    let timed_out = |step, got: &[u8]| Failure::TimedOut { step, limit: timeout, got: got.to_vec() };
    let addrs = match net::resolve(&target.host, target.port, &deadline) {
        Ok(addrs) => addrs,
        Err(Ended::Failed(e)) => {
            return Err(Failure::Resolve { host: target.host.clone(), reason: e.to_string() });
        }
        Err(Ended::TimedOut | Ended::Stopped) => return Err(timed_out("looking up the host name", &[])),
    };

    let mut stream = None;
    let mut refused = false;
    let mut last_error = None;
    for addr in addrs {
        match net::connect(addr, &deadline) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(Ended::Failed(e)) if e.kind() == ErrorKind::ConnectionRefused => refused = true,
            Err(Ended::Failed(e)) => last_error = Some(e),
            Err(Ended::TimedOut | Ended::Stopped) => return Err(timed_out("connecting", &[])),
        }
    }
    let mut stream = match (stream, last_error) {
        (Some(s), _) => s,
        (None, Some(error)) if !refused => return Err(Failure::Io { step: "connecting", error }),
        (None, _) => return Err(Failure::Refused),
    };

    let sent = net::write_all(&mut stream, word.as_str().as_bytes(), &deadline)
        .and_then(|()| stream.shutdown(Shutdown::Write).map_err(Ended::Failed));
    match sent {
        Ok(()) => {}
        // The server may answer and close before our half-close; its reply is still readable.
        Err(Ended::Failed(e)) if is_reset(&e) || e.kind() == ErrorKind::NotConnected => {}
        Err(Ended::Failed(error)) => return Err(Failure::Io { step: "sending", error }),
        Err(Ended::TimedOut | Ended::Stopped) => return Err(timed_out("sending", &[])),
    }

    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match net::read(&mut stream, &mut buf, &deadline) {
            Ok(0) => return Ok(Reply { bytes, reset: false }),
            Ok(n) => {
                if bytes.len() + n > REPLY_CAP {
                    return Err(Failure::TooLarge);
                }
                bytes.extend_from_slice(&buf[..n]);
            }
            Err(Ended::Failed(e)) if is_reset(&e) => return Ok(Reply { bytes, reset: true }),
            Err(Ended::Failed(error)) => return Err(Failure::Io { step: "reading the reply", error }),
            Err(Ended::TimedOut | Ended::Stopped) => return Err(timed_out("reading the reply", &bytes)),
        }
    }
}

/// Why a reply is not the one `expected`: one clause for the error line, with the fix where
/// there is one.
pub(crate) fn unexpected(word: Word, reply: &Reply, answer: Answer<'_>, expected: &str) -> String {
    match answer {
        Answer::NotServing => format!(
            "not serving requests ({word} answered {}): no quorum yet, or an election or sync is under way",
            quote(trim_end(&reply.bytes))
        ),
        Answer::NotWhitelisted(refused) => format!(
            "answered {} — add {refused} to 4lw.commands.whitelist (zk-entry start --4lw_whitelist)",
            quote(trim_end(&reply.bytes))
        ),
        Answer::Nothing if reply.reset => format!("{word}: the connection was reset before any reply"),
        Answer::Nothing => format!(
            "{word}: the connection was closed without a reply (not a ZooKeeper client port, or a ZooKeeper that does not know {word})"
        ),
        Answer::Text(bytes) => {
            format!("{word} answered {}, expected {expected}", quote(bytes))
        }
    }
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe)
}

/// `bytes` without trailing white space (replies end in `\n`, or not).
pub(crate) fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Longest quoted excerpt of a reply in a message, in characters.
const QUOTE_LIMIT: usize = 80;

/// A reply quoted for a one-line message: escaped as a JSON string (so a control character or
/// a newline cannot break the line), invalid UTF-8 shown as U+FFFD, cut after [`QUOTE_LIMIT`]
/// characters with the full size given.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cut = text.char_indices().nth(QUOTE_LIMIT).map(|(at, _)| at);
    let mut out = String::from("\"");
    crate::quote::push_escaped(&mut out, &text[..cut.unwrap_or(text.len())]);
    out.push('"');
    if cut.is_some() {
        out.push_str(&format!("... ({} bytes in all)", bytes.len()));
    }
    out
}

/// A duration in messages, in the unit `--timeout` is usually given in: `800ms`.
pub(crate) fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> Reply {
        Reply { bytes: text.as_bytes().to_vec(), reset: false }
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(reply("").answer(), Answer::Nothing);
        assert_eq!(reply("\n").answer(), Answer::Nothing);
        assert_eq!(
            reply("This ZooKeeper instance is not currently serving requests\n").answer(),
            Answer::NotServing
        );
        assert_eq!(
            reply("ruok is not executed because it is not in the whitelist.\n").answer(),
            Answer::NotWhitelisted("ruok")
        );
        assert_eq!(reply("imok").answer(), Answer::Text(b"imok"));
        // A whitelist-looking line about something that is not a word is just text.
        let odd = reply("hello world is not executed because it is not in the whitelist.");
        assert!(matches!(odd.answer(), Answer::Text(_)));
    }

    #[test]
    fn quote_escapes_and_cuts() {
        assert_eq!(quote(b"a\"b\\c\n\x01\x7f"), r#""a\"b\\c\n\u0001\u007f""#);
        assert_eq!(quote(&[0xff, b'x']), "\"\u{fffd}x\"");
        let long = "x".repeat(200);
        let q = quote(long.as_bytes());
        assert!(q.starts_with(&format!("\"{}\"", "x".repeat(QUOTE_LIMIT))), "{q}");
        assert!(q.ends_with("(200 bytes in all)"), "{q}");
    }

    #[test]
    fn targets_display_ipv6_in_brackets() {
        assert_eq!(Target { host: "127.0.0.1".into(), port: 2181 }.to_string(), "127.0.0.1:2181");
        assert_eq!(Target { host: "::1".into(), port: 2181 }.to_string(), "[::1]:2181");
    }
}
