//! zk-entry's own log lines: one line each on stderr, `zk-entry: <message>`, so they sit apart
//! from ZooKeeper's own log on stdout and read like the error line (which `crate::exit` prints).

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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

/// Send info and above to stderr. Called once, first thing in `main`.
pub(crate) fn init() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(Level::INFO)
        .with_ansi(false)
        // A failed write (stderr closed, /dev/full) drops the line. The default reports it with
        // eprintln!, which panics: PID 1 would exit 101 before forwarding a signal.
        .log_internal_errors(false)
        .event_format(Line)
        .try_init();
}
