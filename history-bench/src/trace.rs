//! `--trace`: the SQL statements one operation sends, seen through Diesel's
//! connection instrumentation, to explain a ratio by what each system does.

use std::future::Future;
use std::sync::{Arc, Mutex};

use diesel::connection::InstrumentationEvent;

use crate::conn::BenchConn;
use crate::Result;

/// Statements seen while recording.
#[derive(Default)]
struct Log {
    recording: bool,
    statements: Vec<String>,
}

/// Records statements on demand; a disabled tracer costs one branch.
#[derive(Clone, Default)]
pub struct Tracer {
    log: Option<Arc<Mutex<Log>>>,
}

impl Tracer {
    /// A tracer listening on `conn` when `enabled`.
    pub fn install<C: BenchConn>(conn: &mut C, enabled: bool) -> Self {
        if !enabled {
            return Tracer::default();
        }
        let log = Arc::new(Mutex::new(Log::default()));
        let sink = Arc::clone(&log);
        conn.instrument(move |event: InstrumentationEvent<'_>| {
            let mut log = sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !log.recording {
                return;
            }
            match event {
                InstrumentationEvent::StartQuery { query, .. } => {
                    // Display gives the SQL then `-- binds: [...]`; the SQL is what matters.
                    let text = query.to_string();
                    let sql = text.split(" -- binds:").next().unwrap_or_default();
                    log.statements.push(one_line(sql));
                }
                // Diesel reports each statement it keeps prepared for reuse,
                // once; one never reported is prepared again on every call.
                InstrumentationEvent::CacheQuery { sql, .. } => {
                    log.statements
                        .push(format!("(prepared and cached: {})", one_line(sql)));
                }
                _ => {}
            }
        });
        Tracer { log: Some(log) }
    }

    /// Runs `op`; when enabled and `on`, prints the statements it sent
    /// under `label`.
    pub async fn capture_if<T>(
        &self,
        on: bool,
        label: impl FnOnce() -> String,
        op: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(log) = self.log.as_ref().filter(|_| on) else {
            return op.await;
        };
        let lock = || log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        {
            let mut log = lock();
            log.recording = true;
            log.statements.clear();
        }
        let result = op.await;
        let statements = {
            let mut log = lock();
            log.recording = false;
            std::mem::take(&mut log.statements)
        };
        let sent = statements
            .iter()
            .filter(|s| !s.starts_with("(prepared"))
            .count();
        eprintln!("[trace] {}: {sent} statement(s)", label());
        // Runs of one statement (a bulk write's per-row INSERTs) print once.
        let mut rest = statements.as_slice();
        while let Some(first) = rest.first() {
            let run = rest.iter().take_while(|s| *s == first).count();
            let times = if run > 1 {
                format!("{run} x ")
            } else {
                String::new()
            };
            eprintln!("    {times}{}", shorten(first, 160));
            rest = &rest[run..];
        }
        result
    }
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `max` characters, marked when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{} …", &text[..at]),
        None => text.to_owned(),
    }
}
