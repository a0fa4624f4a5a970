//! The six workloads, and how both systems take turns: per-operation
//! workloads alternate in chunks, whole-workload ones by repetition, and the
//! system that goes first switches every round, so drift in machine load
//! (the machine is shared) falls on both.
//!
//! Each workload is an `async fn` over its connection (see `conn.rs`).

pub mod all_as_of;
pub mod as_of;
pub mod bulk;
pub mod create;
pub mod fill;
pub mod prev_record;
pub mod update;

use std::future::Future;
use std::time::{Duration, Instant};

use history_diesel::HistoryContext;

use crate::args::Config;
use crate::backend::Backend;
use crate::conn::BenchConn;
use crate::report::{Measurement, System, Timing, Workload};
use crate::stats;
use crate::trace::Tracer;
use crate::Result;

/// Untimed operations of each system before timing starts: they fill the
/// prepared-statement caches and warm the connection for both alike.
pub const WARMUP: usize = 20;

/// Every operation a run needs of a connection type.
pub trait Ops:
    BenchConn
    + create::Ops
    + update::Ops
    + bulk::Ops
    + fill::Ops
    + as_of::Ops
    + all_as_of::Ops
    + prev_record::Ops
{
}

impl<C> Ops for C where
    C: BenchConn
        + create::Ops
        + update::Ops
        + bulk::Ops
        + fill::Ops
        + as_of::Ops
        + all_as_of::Ops
        + prev_record::Ops
{
}

/// The history context of every write: a user and a reason, as a web
/// request would give.
pub fn context() -> HistoryContext<i64> {
    HistoryContext::new().user(42).reason("benchmark")
}

/// One backend's run: the connection, the settings, and the results so far.
pub struct Run<'c, C> {
    pub conn: &'c mut C,
    pub config: &'c Config,
    pub tracer: Tracer,
    pub results: Vec<Measurement>,
}

/// Runs the selected workloads on one backend.
pub async fn run<C: Ops>(conn: &mut C, config: &Config) -> Result<Vec<Measurement>> {
    let tracer = Tracer::install(conn, config.trace);
    let mut run = Run {
        conn,
        config,
        tracer,
        results: Vec::new(),
    };
    let selected = |w: Workload| config.workloads.contains(&w);
    if selected(Workload::W1) {
        create::run(&mut run).await?;
    }
    if selected(Workload::W2) {
        update::run(&mut run).await?;
    }
    if selected(Workload::W3) {
        bulk::run(&mut run).await?;
    }
    if [Workload::W4, Workload::W5, Workload::W6]
        .into_iter()
        .any(selected)
    {
        // One data set serves the three read workloads, which leave it as is.
        let data = fill::fill(run.conn, config).await?;
        if selected(Workload::W4) {
            as_of::run(&mut run, &data).await?;
        }
        if selected(Workload::W5) {
            all_as_of::run(&mut run, &data).await?;
        }
        if selected(Workload::W6) {
            prev_record::run(&mut run, &data).await?;
        }
    }
    Ok(run.results)
}

/// The two systems in the order they go in `round`.
pub fn turn_order(round: usize) -> [System; 2] {
    if round % 2 == 0 {
        [System::History, System::Plain]
    } else {
        [System::Plain, System::History]
    }
}

/// Times `op` (a future does nothing before it is first polled).
pub async fn timed<T>(op: impl Future<Output = Result<T>>) -> Result<(T, Duration)> {
    let start = Instant::now();
    let value = op.await?;
    Ok((value, start.elapsed()))
}

impl<C: BenchConn> Run<'_, C> {
    /// Runs operations `0..WARMUP + n` of each system, `chunk` at a time in
    /// turns, timing each of the last `n` alone, and records both results.
    /// Operation `i` of one system gets the same input as operation `i` of
    /// the other.
    pub async fn per_op(
        &mut self,
        workload: Workload,
        n: usize,
        mut history: impl AsyncFnMut(&mut C, usize) -> Result<()>,
        mut plain: impl AsyncFnMut(&mut C, usize) -> Result<()>,
    ) -> Result<()> {
        let total = WARMUP + n;
        let mut times = [Vec::with_capacity(n), Vec::with_capacity(n)];
        let chunk = self.config.chunk;
        for (round, start) in (0..total).step_by(chunk).enumerate() {
            for system in turn_order(round) {
                for i in start..(start + chunk).min(total) {
                    let conn = &mut *self.conn;
                    let op = async {
                        match system {
                            System::History => history(conn, i).await,
                            System::Plain => plain(conn, i).await,
                        }
                    };
                    let name = || label(C::BACKEND, workload, system);
                    let ((), elapsed) = timed(self.tracer.capture_if(i == 0, name, op)).await?;
                    if i >= WARMUP {
                        times[system as usize].push(elapsed);
                    }
                }
            }
        }
        let [history, plain] = times;
        for (system, samples) in [(System::History, history), (System::Plain, plain)] {
            self.results.push(Measurement {
                system,
                backend: C::BACKEND,
                workload,
                n,
                timing: Timing::PerOp(stats::summarize(&samples)),
            });
        }
        Ok(())
    }

    /// Records the repeated totals of a whole-workload run (W3, W5).
    pub fn totals(
        &mut self,
        workload: Workload,
        n: usize,
        history: &[Duration],
        plain: &[Duration],
    ) {
        for (system, samples) in [(System::History, history), (System::Plain, plain)] {
            self.results.push(Measurement {
                system,
                backend: C::BACKEND,
                workload,
                n,
                timing: Timing::Total {
                    seconds: stats::median_seconds(samples),
                    reps: samples.len(),
                },
            });
        }
    }
}

/// The trace label of one system's operation.
pub fn label(backend: Backend, workload: Workload, system: System) -> String {
    format!("{backend} {workload} {}", system.name())
}
