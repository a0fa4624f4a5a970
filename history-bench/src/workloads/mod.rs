//! The six workloads, and how both systems take turns: per-operation
//! workloads alternate in chunks, whole-workload ones by repetition, and the
//! system that goes first switches every round, so drift in machine load
//! (the machine is shared) falls on both.
//!
//! Each workload is an `async fn` over its connection (see `conn.rs`). W1,
//! W2 and W4 run on blocking and diesel-async connections alike, the same
//! inputs, timing and checks on both; W3, W5 and W6 on blocking ones only.

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

use self::fill::DataSet;
use crate::args::Config;
use crate::backend::Target;
use crate::conn::BenchConn;
use crate::report::{Measurement, System, Timing, Workload};
use crate::stats;
use crate::trace::Tracer;
use crate::Result;

/// Untimed operations of each system before timing starts: they fill the
/// prepared-statement caches and warm the connection for both alike.
pub const WARMUP: usize = 20;

/// What W1, W2 and W4 need of a connection type, blocking or asynchronous:
/// these run on every target.
pub trait Shared: BenchConn + create::Ops + update::Ops + fill::Ops + as_of::Ops {}

impl<C> Shared for C where C: BenchConn + create::Ops + update::Ops + fill::Ops + as_of::Ops {}

/// Every operation a run of all six workloads needs: the shared ones, and
/// those of W3, W5 and W6, which run on blocking connections only.
pub trait Ops: Shared + bulk::Ops + all_as_of::Ops + prev_record::Ops {}

impl<C> Ops for C where C: Shared + bulk::Ops + all_as_of::Ops + prev_record::Ops {}

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

impl<'c, C: BenchConn> Run<'c, C> {
    pub fn new(conn: &'c mut C, config: &'c Config) -> Self {
        let tracer = Tracer::install(conn, config.trace);
        Run {
            conn,
            config,
            tracer,
            results: Vec::new(),
        }
    }

    fn selected(&self, workload: Workload) -> bool {
        self.config.workloads.contains(&workload)
    }

    /// W1 and W2, where they are selected.
    async fn writes(&mut self) -> Result<()>
    where
        C: Shared,
    {
        if self.selected(Workload::W1) {
            create::run(self).await?;
        }
        if self.selected(Workload::W2) {
            update::run(self).await?;
        }
        Ok(())
    }

    /// The data set of the read workloads, filled when one of `readers` is
    /// selected. One data set serves them all: they leave it as is.
    async fn data_set(&mut self, readers: &[Workload]) -> Result<Option<DataSet>>
    where
        C: Shared,
    {
        if !readers.iter().any(|&w| self.selected(w)) {
            return Ok(None);
        }
        Ok(Some(fill::fill(self.conn, self.config).await?))
    }
}

/// Runs the selected workloads on one backend through a blocking connection.
pub async fn run<C: Ops>(conn: &mut C, config: &Config) -> Result<Vec<Measurement>> {
    let mut run = Run::new(conn, config);
    run.writes().await?;
    if run.selected(Workload::W3) {
        bulk::run(&mut run).await?;
    }
    let readers = [Workload::W4, Workload::W5, Workload::W6];
    if let Some(data) = run.data_set(&readers).await? {
        if run.selected(Workload::W4) {
            as_of::run(&mut run, &data).await?;
        }
        if run.selected(Workload::W5) {
            all_as_of::run(&mut run, &data).await?;
        }
        if run.selected(Workload::W6) {
            prev_record::run(&mut run, &data).await?;
        }
    }
    Ok(run.results)
}

/// Runs the selected workloads on one backend through a diesel-async
/// connection: W1, W2 and W4, the others left out (said on stderr).
#[cfg(feature = "async")]
pub async fn run_async<C: Shared>(conn: &mut C, config: &Config) -> Result<Vec<Measurement>> {
    let left_out: Vec<String> = [Workload::W3, Workload::W5, Workload::W6]
        .into_iter()
        .filter(|w| config.workloads.contains(w))
        .map(|w| w.to_string())
        .collect();
    if !left_out.is_empty() {
        eprintln!(
            "history-bench: {}: {} not measured through diesel-async",
            C::TARGET,
            left_out.join(", ")
        );
    }
    let mut run = Run::new(conn, config);
    run.writes().await?;
    if let Some(data) = run.data_set(&[Workload::W4]).await? {
        as_of::run(&mut run, &data).await?;
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
                    let name = || label(C::TARGET, workload, system);
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
                target: C::TARGET,
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
                target: C::TARGET,
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
pub fn label(target: Target, workload: Workload, system: System) -> String {
    format!("{target} {workload} {}", system.name())
}
