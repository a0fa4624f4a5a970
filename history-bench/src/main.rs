//! history-bench: history-diesel against plain Diesel, per backend. See
//! `--help` (the text is in `args.rs`).

mod args;
mod backend;
mod check;
mod conn;
mod database;
mod inputs;
mod model;
#[cfg(feature = "postgres")]
mod pg_size;
mod report;
mod rng;
mod schema;
mod stats;
mod trace;
mod workloads;

use std::process::ExitCode;

use crate::args::{Command, Config};
use crate::backend::Target;
use crate::conn::block;
use crate::report::Measurement;

/// Every failure ends the run with its message; none is recovered from.
pub type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let config = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            print!("{}", args::HELP);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("history-bench: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("history-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: &Config) -> Result<()> {
    if config.pg_size {
        #[cfg(feature = "postgres")]
        return pg_size::run(config);
        #[cfg(not(feature = "postgres"))]
        return Err("--pg-size needs the `postgres` feature".into());
    }
    if let Some(missing) = config.backends.iter().find(|t| !t.compiled()) {
        let features = missing.features();
        return Err(format!(
            "{missing} is not built in: cargo run --release -p history-bench --features {features} -- ..."
        )
        .into());
    }
    let mut results: Vec<Measurement> = Vec::new();
    for &target in &config.backends {
        eprintln!("history-bench: {target} ...");
        let measured = run_target(target, config)?;
        for measurement in &measured {
            println!("{}", measurement.json_line());
        }
        results.extend(measured);
    }
    if !results.is_empty() {
        eprint!("\n{}", report::ratio_table(&results));
    }
    Ok(())
}

/// Runs the workloads on one target with its connection type.
fn run_target(target: Target, config: &Config) -> Result<Vec<Measurement>> {
    match target {
        #[cfg(feature = "sqlite")]
        Target::Sqlite => on::<diesel::SqliteConnection>(config),
        #[cfg(feature = "postgres")]
        Target::Postgres => on::<diesel::PgConnection>(config),
        #[cfg(feature = "mysql")]
        Target::Mysql => on::<diesel::MysqlConnection>(config),
        #[cfg(feature = "async")]
        Target::PostgresAsync => on_async::<diesel_async::AsyncPgConnection>(config),
        #[cfg(all(feature = "async", feature = "mysql"))]
        Target::MysqlAsync => on_async::<diesel_async::AsyncMysqlConnection>(config),
        #[allow(unreachable_patterns)] // reached only when a feature is off
        _ => Err(format!("{target} is not built in (features {})", target.features()).into()),
    }
}

/// A blocking connection: the run is driven in one poll, on this thread.
fn on<C: workloads::Ops>(config: &Config) -> Result<Vec<Measurement>> {
    block(async {
        let mut conn = C::open().await?;
        workloads::run(&mut conn, config).await
    })
}

/// A diesel-async connection, on a current-thread tokio runtime: the
/// workload, the connection's I/O and, on PostgreSQL, the task that drives
/// tokio-postgres's connection all run on this one thread, so an operation's
/// time includes the hand-offs between them (no other task runs).
#[cfg(feature = "async")]
fn on_async<C: workloads::Shared>(config: &Config) -> Result<Vec<Measurement>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut conn = C::open().await?;
        workloads::run_async(&mut conn, config).await
    })
}
