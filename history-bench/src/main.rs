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
use crate::backend::Backend;
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
    if let Some(missing) = config.backends.iter().find(|b| !b.compiled()) {
        return Err(format!(
            "built without the `{missing}` feature: cargo run --release -p history-bench --features {missing} -- ..."
        )
        .into());
    }
    let mut results: Vec<Measurement> = Vec::new();
    for &backend in &config.backends {
        eprintln!("history-bench: {backend} ...");
        let measured = run_backend(backend, config)?;
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

/// Runs the workloads on one backend with its connection type.
fn run_backend(backend: Backend, config: &Config) -> Result<Vec<Measurement>> {
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => on::<diesel::SqliteConnection>(config),
        #[cfg(feature = "postgres")]
        Backend::Postgres => on::<diesel::PgConnection>(config),
        #[cfg(feature = "mysql")]
        Backend::Mysql => on::<diesel::MysqlConnection>(config),
        #[allow(unreachable_patterns)] // reached only when a feature is off
        _ => Err(format!("built without the `{backend}` feature").into()),
    }
}

/// A blocking connection: the run is driven in one poll, on this thread.
fn on<C: workloads::Ops>(config: &Config) -> Result<Vec<Measurement>> {
    block(async {
        let mut conn = C::open().await?;
        workloads::run(&mut conn, config).await
    })
}
