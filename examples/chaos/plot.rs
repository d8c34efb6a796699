//! The run's latency graph as SVG, written here (a few dozen lines; no plotting crate or
//! Debian tool needed): every operation a point at its invocation time and latency (log scale),
//! coloured by outcome, the fault windows shaded behind them and named, as Jepsen's latency
//! graphs show them.

use std::fmt::Write;

use crate::nemesis::Fault;
use crate::support::chaos::history::{Kind, Op, Outcome};

const W: f64 = 1400.0;
const H: f64 = 560.0;
const LEFT: f64 = 70.0;
const TOP: f64 = 30.0;
const PLOT_H: f64 = 420.0;
/// Latency axis: 1 ms to 10 s.
const LOW: f64 = -3.0;
const HIGH: f64 = 1.0;

fn colour(kind: &str) -> &'static str {
    match kind {
        k if k.contains("pause") => "#e9a23b",
        k if k.contains("kill") || k.contains("delete") => "#c0392b",
        "disk-full" => "#8e44ad",
        "dns" => "#16a085",
        k if k.contains("stale") => "#7f8c8d",
        k if k.contains("scale") || k.contains("resize") || k.contains("join") => "#2c3e50",
        _ => "#2980b9",
    }
}

pub fn svg(ops: &[Op], faults: &[Fault], end: u64, title: &str) -> String {
    let plot_w = W - LEFT - 20.0;
    let end = end.max(1) as f64;
    let x = |t: u64| LEFT + plot_w * (t as f64 / end).min(1.0);
    let y = |latency_ns: u64| {
        let l = (latency_ns.max(1) as f64 / 1e9).log10().clamp(LOW, HIGH);
        TOP + PLOT_H * (HIGH - l) / (HIGH - LOW)
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{LEFT}\" y=\"18\" font-size=\"14\">{title}</text>\n"
    );
    // Fault windows, each in a lane of its own so overlapping ones stay readable.
    for (n, f) in faults.iter().enumerate() {
        let (x0, x1) = (x(f.start), x(f.end.unwrap_or(end as u64)));
        let lane = (n % 4) as f64;
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{PLOT_H}\" fill=\"{}\" fill-opacity=\"0.12\"/>\n<text x=\"{x0:.1}\" y=\"{:.1}\" fill=\"{}\">{} {:?}</text>",
            (x1 - x0).max(1.0),
            colour(f.kind),
            TOP + PLOT_H + 14.0 + lane * 12.0,
            colour(f.kind),
            f.kind,
            f.pods
        );
    }
    // Axes: decades of latency, and time every tenth of the run.
    for d in (LOW as i32)..=(HIGH as i32) {
        let yy = y(10f64.powi(d + 9) as u64);
        let label = match d {
            -3 => "1 ms".to_string(),
            -2 => "10 ms".to_string(),
            -1 => "100 ms".to_string(),
            0 => "1 s".to_string(),
            _ => "10 s".to_string(),
        };
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"8\" y=\"{:.1}\">{label}</text>",
            LEFT + plot_w,
            yy + 4.0
        );
    }
    for tenth in 0..=10u64 {
        let t = end as u64 * tenth / 10;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:.0} s</text>",
            x(t),
            TOP + PLOT_H + 64.0,
            t as f64 / 1e9
        );
    }
    for op in ops {
        let fill = match op.outcome {
            Outcome::Ok => "#27ae60",
            Outcome::Fail(_) => "#2e86de",
            Outcome::Unknown => "#e74c3c",
        };
        let (cx, cy) = (x(op.invoke), y(op.complete.saturating_sub(op.invoke)));
        // Reads are dots, compare-and-sets squares, creates triangles.
        let _ = match op.kind {
            Kind::Read | Kind::SyncRead => {
                writeln!(s, "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"1.6\" fill=\"{fill}\"/>")
            }
            Kind::Cas => writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"3\" height=\"3\" fill=\"{fill}\"/>",
                cx - 1.5,
                cy - 1.5
            ),
            Kind::Create => {
                writeln!(s, "<path d=\"M{cx:.1} {:.1} l2 3.4 h-4 z\" fill=\"{fill}\"/>", cy - 2.0)
            }
        };
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"18\" text-anchor=\"end\"><tspan fill=\"#27ae60\">● ok</tspan>  <tspan fill=\"#2e86de\">● failed</tspan>  <tspan fill=\"#e74c3c\">● unknown</tspan>   ● read  ■ cas  ▲ create</text>\n</svg>",
        W - 20.0
    );
    s
}
