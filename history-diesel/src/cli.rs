//! The `history` command of an application: its models' history migrations
//! and schema checks, from a binary of three lines (feature `cli`).
//!
//! The application passes its models and its connection type; the command
//! knows the rest:
//!
//! ```no_run
//! // src/bin/history.rs
//! # use diesel::prelude::*;
//! # use history_diesel::HistoricalRecords;
//! # diesel::table! { orders (id) { id -> Integer, status -> Text, } }
//! # #[derive(Queryable, HistoricalRecords)]
//! # #[diesel(table_name = orders)]
//! # pub struct Order { pub id: i32, pub status: String }
//! fn main() -> std::process::ExitCode {
//!     history_diesel::cli::run::<diesel::SqliteConnection>(&[&Order::HISTORY_TABLE])
//! }
//! ```
//!
//! Then `cargo run --bin history -- migrations check` in CI, and
//! `cargo run --bin history -- migrations write` after a model change. The
//! connection type picks the dialect of the migrations and the client that
//! `verify` connects with, so the command never guesses which of Diesel's
//! backends the application uses.
//!
//! `history verify` compares a live database (`--database-url` or
//! `DATABASE_URL`) with the models and the folder
//! ([`verify_history_schema`]).
//!
//! Exit codes, for scripts and CI: 0 when everything is up to date (or was
//! written), 1 when the folder is behind the models or the database differs
//! from them, 2 when the command could not run (a bad argument, an
//! unreadable folder, a database that cannot be reached).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use diesel::connection::LoadConnection;

use crate::migrations::{behind_message, HistoryMigrations};
use crate::verify::{verify_history_schema, CatalogBackend};
use crate::{HistoryBackend, HistoryTableSpec};

/// The history tables of this application's models: write and check their
/// migrations, and compare a database with them.
#[derive(Debug, Parser)]
#[command(name = "history", version)]
struct Cli {
    /// The Diesel migrations folder the history migrations live in.
    #[arg(
        long,
        global = true,
        env = "MIGRATION_DIRECTORY",
        default_value = "migrations",
        value_name = "DIR"
    )]
    migration_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check or write the history migrations in the migrations folder.
    #[command(subcommand)]
    Migrations(MigrationsCommand),
    /// Compare a live database's history tables with the models and the
    /// migrations folder: missing tables, missing or extra columns, types,
    /// nullability, indexes, history migrations not yet run.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The database to check.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    database_url: String,
    /// Compare with the models alone, not with the migrations folder (a
    /// column the folder kept for a removed field is then extra).
    #[arg(long)]
    without_folder: bool,
}

#[derive(Debug, Subcommand)]
enum MigrationsCommand {
    /// Exit with 1 when the folder lacks a migration the models need, and
    /// show what it would change.
    Check(MergeArgs),
    /// Record that the models' history tables exist already (created before
    /// this folder had history migrations): a migration that changes
    /// nothing, from which the next `write` starts. Check them with
    /// `history verify --without-folder` first.
    Baseline(BaselineArgs),
    /// Write the migration the folder lacks (nothing when it is up to date),
    /// for review and commit; apply it with `diesel migration run` or
    /// `embed_migrations!`.
    Write(WriteArgs),
}

#[derive(Debug, Default, Args)]
struct MergeArgs {
    /// Drop the history columns of fields the models no longer have, with
    /// their values. Without it they are kept (nullable): history is
    /// evidence.
    #[arg(long)]
    drop_removed_columns: bool,
    /// Drop the history tables of models no longer passed to the command,
    /// with their records. Without it they are kept and reported.
    #[arg(long)]
    drop_removed_models: bool,
}

#[derive(Debug, Args)]
struct BaselineArgs {
    /// The migration's version [default: the current UTC time].
    #[arg(long)]
    version: Option<String>,
}

#[derive(Debug, Args)]
struct WriteArgs {
    /// The migration's name after its version [default: what it does, as
    /// `create_historical_orders`].
    #[arg(long)]
    name: Option<String>,
    /// The migration's version [default: the current UTC time, as
    /// `2026-11-22-120000`].
    #[arg(long)]
    version: Option<String>,
    #[command(flatten)]
    merge: MergeArgs,
}

/// Runs the command with the process's arguments, for the models' history
/// tables on connections of type `C`.
pub fn run<C>(models: &[&HistoryTableSpec]) -> ExitCode
where
    C: LoadConnection,
    C::Backend: CatalogBackend,
{
    run_from::<C, _, _>(std::env::args_os(), models)
}

/// [`run`] with the given arguments (the first is the program's name).
pub fn run_from<C, I, T>(args: I, models: &[&HistoryTableSpec]) -> ExitCode
where
    C: LoadConnection,
    C::Backend: CatalogBackend,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version print to stdout and succeed; mistakes exit 2.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let dialect = <C::Backend as HistoryBackend>::DIALECT;
    let migrations = |merge: &MergeArgs| {
        HistoryMigrations::new(&cli.migration_dir, dialect, models.iter().copied())
            .drop_removed_columns(merge.drop_removed_columns)
            .drop_removed_models(merge.drop_removed_models)
    };
    let outcome = match &cli.command {
        Command::Migrations(MigrationsCommand::Check(merge)) => check(&migrations(merge)),
        Command::Migrations(MigrationsCommand::Write(args)) => {
            write(&migrations(&args.merge), args)
        }
        Command::Migrations(MigrationsCommand::Baseline(args)) => {
            let migrations = migrations(&MergeArgs::default());
            migrations
                .baseline(args.version.as_deref())
                .map(|folder| {
                    println!(
                        "wrote {}: the folder now starts from the models' history tables",
                        folder.display()
                    );
                    true
                })
                .map_err(|err| err.to_string())
        }
        Command::Verify(args) => verify::<C>(&migrations(&MergeArgs::default()), models, args),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("history: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(true)`: up to date; `Ok(false)`: behind.
fn check(migrations: &HistoryMigrations<'_>) -> Result<bool, String> {
    let pending = migrations.pending().map_err(|err| err.to_string())?;
    for notice in &pending.notices {
        eprintln!("history: note: {notice}");
    }
    if pending.is_empty() {
        println!(
            "history migrations in {} are up to date with {} model(s)",
            migrations.dir().display(),
            pending.snapshot.tables.len()
        );
        return Ok(true);
    }
    print!("{}", behind_message(migrations.dir(), &pending));
    Ok(false)
}

fn write(migrations: &HistoryMigrations<'_>, args: &WriteArgs) -> Result<bool, String> {
    let pending = migrations.pending().map_err(|err| err.to_string())?;
    for notice in &pending.notices {
        eprintln!("history: note: {notice}");
    }
    let written = migrations
        .write(args.version.as_deref(), args.name.as_deref())
        .map_err(|err| err.to_string())?;
    match written {
        None => println!(
            "history migrations in {} are up to date: nothing to write",
            migrations.dir().display()
        ),
        Some(folder) => {
            println!("wrote {}", folder.display());
            for change in &pending.changes {
                println!("  - {change}");
            }
            println!("review it, commit it, and apply it with `diesel migration run` or `embed_migrations!`");
        }
    }
    Ok(true)
}

fn verify<C>(
    migrations: &HistoryMigrations<'_>,
    models: &[&HistoryTableSpec],
    args: &VerifyArgs,
) -> Result<bool, String>
where
    C: LoadConnection,
    C::Backend: CatalogBackend,
{
    let folder = if args.without_folder || !migrations.dir().exists() {
        None
    } else {
        Some(migrations.folder().map_err(|err| err.to_string())?)
    };
    let mut conn = C::establish(&args.database_url)
        .map_err(|err| format!("cannot connect to the database: {err}"))?;
    let report = verify_history_schema(&mut conn, models.iter().copied(), folder.as_ref())
        .map_err(|err| err.to_string())?;
    if report.is_ok() {
        println!(
            "the database's {} history table(s) are as the models need them",
            models.len()
        );
        return Ok(true);
    }
    println!("{report}");
    Ok(false)
}
