//! What a run prints: one JSON line per (system, backend, workload) on
//! stdout, and a table of ratios history/plain on stderr, so stdout stays
//! machine-readable.

use std::fmt;
use std::str::FromStr;

use crate::backend::Target;
use crate::stats::Summary;

/// The six workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workload {
    W1,
    W2,
    W3,
    W4,
    W5,
    W6,
}

impl Workload {
    pub const ALL: [Workload; 6] = [
        Workload::W1,
        Workload::W2,
        Workload::W3,
        Workload::W4,
        Workload::W5,
        Workload::W6,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Workload::W1 => "single create",
            Workload::W2 => "single update",
            Workload::W3 => "bulk create",
            Workload::W4 => "as_of one object",
            Workload::W5 => "as_of whole table",
            Workload::W6 => "prev_record",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Workload::ALL
            .into_iter()
            .find(|workload| workload.to_string().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("unknown workload `{text}`: expected W1..W6"))
    }
}

/// Which implementation ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    History,
    Plain,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::History => "history-diesel",
            System::Plain => "diesel-plain",
        }
    }
}

/// How a workload is timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timing {
    /// Each operation timed alone (W1, W2, W4, W6).
    PerOp(Summary),
    /// The whole workload timed, repeated; the median total (W3, W5).
    Total { seconds: f64, reps: usize },
}

/// One system's result on one workload and backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub system: System,
    /// Printed as `backend`: `postgres`, or `postgres-async` through
    /// diesel-async.
    pub target: Target,
    pub workload: Workload,
    /// Operations (per-op workloads) or rows (total workloads).
    pub n: usize,
    pub timing: Timing,
}

impl Measurement {
    /// The figure the ratio table compares: median µs per operation, or
    /// median seconds of the whole workload.
    fn headline(&self) -> (&'static str, f64) {
        match self.timing {
            Timing::PerOp(summary) => ("median_us", summary.median_us),
            Timing::Total { seconds, .. } => ("seconds", seconds),
        }
    }

    /// The JSON line, keys in the documented order (serde_json's map
    /// would sort them). Every string is one of our fixed ASCII names, so
    /// none needs escaping.
    pub fn json_line(&self) -> String {
        let n = self.n as f64;
        let (median, p95, seconds, reps) = match self.timing {
            Timing::PerOp(summary) => (
                number(summary.median_us, 1),
                number(summary.p95_us, 1),
                summary.total_s,
                String::new(),
            ),
            Timing::Total { seconds, reps } => (
                "null".to_owned(),
                "null".to_owned(),
                seconds,
                format!(", \"reps\": {reps}"),
            ),
        };
        format!(
            "{{\"system\": \"{}\", \"backend\": \"{}\", \"workload\": \"{}\", \"n\": {}, \"median_us\": {median}, \"p95_us\": {p95}, \"ops_per_s\": {}, \"seconds\": {}{reps}}}",
            self.system.name(),
            self.target.name(),
            self.workload,
            self.n,
            number(n / seconds.max(1e-9), 0),
            number(seconds, 4),
        )
    }
}

/// A finite number rounded to `digits` decimals, as JSON.
fn number(value: f64, digits: i32) -> String {
    let scale = 10f64.powi(digits);
    let rounded = (value * scale).round() / scale;
    if rounded.is_finite() {
        rounded.to_string()
    } else {
        "null".to_owned()
    }
}

/// The ratio table: one line per backend and workload measured on both
/// systems, in the order they ran.
pub fn ratio_table(results: &[Measurement]) -> String {
    let mut out = String::from(
        "--- history-diesel / diesel-plain (lower is better for both; 1.00x = no overhead) ---\n",
    );
    out.push_str(&format!(
        "{:<14} {:<3} {:<18} {:<10} {:>12} {:>12} {:>8} {:>10}\n",
        "backend", "w", "workload", "metric", "history", "plain", "ratio", "p95 ratio"
    ));
    for history in results.iter().filter(|m| m.system == System::History) {
        let Some(plain) = results.iter().find(|m| {
            m.system == System::Plain
                && m.target == history.target
                && m.workload == history.workload
        }) else {
            continue;
        };
        let (metric, h) = history.headline();
        let (_, p) = plain.headline();
        let p95 = match (history.timing, plain.timing) {
            (Timing::PerOp(h), Timing::PerOp(p)) => format!("{:.2}x", h.p95_us / p.p95_us),
            _ => "-".to_owned(),
        };
        out.push_str(&format!(
            "{:<14} {:<3} {:<18} {:<10} {:>12} {:>12} {:>7.2}x {:>10}\n",
            history.target.name(),
            history.workload.to_string(),
            history.workload.describe(),
            metric,
            figure(h),
            figure(p),
            h / p,
            p95
        ));
    }
    out
}

/// Four significant digits or so: 12345.6, 123.4, 0.1234.
fn figure(value: f64) -> String {
    match value.abs() {
        v if v >= 1000.0 => format!("{value:.0}"),
        v if v >= 1.0 => format!("{value:.1}"),
        _ => format!("{value:.4}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(system: System, median_us: f64) -> Measurement {
        Measurement {
            system,
            target: Target::Sqlite,
            workload: Workload::W1,
            n: 10,
            timing: Timing::PerOp(Summary {
                median_us,
                p95_us: median_us * 2.0,
                total_s: 0.5,
            }),
        }
    }

    #[test]
    fn json_has_every_field() {
        let line: serde_json::Value =
            serde_json::from_str(&measured(System::History, 12.345).json_line()).unwrap();
        assert_eq!(line["system"], "history-diesel");
        assert_eq!(line["backend"], "sqlite");
        assert_eq!(line["workload"], "W1");
        assert_eq!(line["n"], 10);
        assert_eq!(line["median_us"], 12.3);
        assert_eq!(line["ops_per_s"], 20.0);
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 8);
        assert!(measured(System::Plain, 1.0)
            .json_line()
            .starts_with(r#"{"system": "diesel-plain", "backend""#));
    }

    #[test]
    fn ratio_of_matching_pairs() {
        let table = ratio_table(&[
            measured(System::History, 30.0),
            measured(System::Plain, 10.0),
        ]);
        assert!(table.contains("3.00x"), "{table}");
    }
}
