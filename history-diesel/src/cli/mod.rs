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
//! The day-2 operations of [`crate::maintenance`] are subcommands too, on
//! every model or on those `--model` names, with `--dry-run` to count
//! first:
//!
//! - `history populate [--user ID] [--reason TEXT]`: a `+` record for each
//!   row without history (the baseline of an existing table);
//! - `history clean-duplicates [--minutes N]`: delete `~` records that
//!   repeat the record before them;
//! - `history clean-old (--days N | --before DATE) [--keep N | --compact]
//!   [--archive-dir DIR [--archive-format jsonl|csv]]`: prune old records,
//!   archived to a file first when asked;
//! - `history stats [--json]`: records per model and type, their dates, and
//!   on PostgreSQL the bytes per record.
//!
//! They show a progress bar on a terminal and a plain line every few
//! seconds otherwise, both on stderr, and a summary line per model on
//! stdout. Ctrl-C stops one after its current chunk (each chunk is one
//! transaction; running the command again carries on).
//!
//! Exit codes, for scripts and CI: 0 when everything is up to date (or was
//! written, or the operation is done), 1 when the folder is behind the
//! models or the database differs from them, 2 when the command could not
//! run (a bad argument, an unreadable folder, a database that cannot be
//! reached, an operation's error), 130 when Ctrl-C stopped an operation
//! between chunks.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

mod operations;
mod progress;

use clap::{Args, Parser, Subcommand};
use diesel::connection::LoadConnection;

use self::operations::{CleanDuplicatesArgs, CleanOldArgs, Finished, PopulateArgs, StatsArgs};
use crate::maintenance::MaintenanceBackend;
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
    /// Compare a live database's history tables with the models.
    ///
    /// And with the migrations folder: missing tables, missing or extra
    /// columns, types, nullability, indexes, history migrations not yet run.
    Verify(VerifyArgs),
    /// Record a `+` for every row that has no history yet.
    ///
    /// Each record holds the row's current values: the baseline of a table
    /// that had rows before it had history. Idempotent: a second run writes
    /// nothing.
    Populate(PopulateArgs),
    /// Delete `~` records that repeat the record before them.
    ///
    /// A record repeats the one before it when every tracked value is equal
    /// (NULL equal to NULL); the first of each run is kept.
    CleanDuplicates(CleanDuplicatesArgs),
    /// Delete records older than a cutoff.
    ///
    /// All of them, all but each object's newest N (--keep), or all but the
    /// record each object had at the cutoff (--compact), so that `as_of`
    /// any time after the cutoff answers as before.
    CleanOld(CleanOldArgs),
    /// Count each model's records by type, with their dates.
    ///
    /// On PostgreSQL also the table's bytes per record.
    Stats(StatsArgs),
}

/// The exit code of an operation that Ctrl-C stopped between chunks (as a
/// shell reports a process that SIGINT ended).
const EXIT_INTERRUPTED: u8 = 130;

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
    C::Backend: CatalogBackend + MaintenanceBackend,
{
    run_from::<C, _, _>(std::env::args_os(), models)
}

/// [`run`] with the given arguments (the first is the program's name).
pub fn run_from<C, I, T>(args: I, models: &[&HistoryTableSpec]) -> ExitCode
where
    C: LoadConnection,
    C::Backend: CatalogBackend + MaintenanceBackend,
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
        Command::Migrations(MigrationsCommand::Check(merge)) => {
            check(&migrations(merge)).map(Ending::from)
        }
        Command::Migrations(MigrationsCommand::Write(args)) => {
            write(&migrations(&args.merge), args).map(Ending::from)
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
                .map(Ending::from)
        }
        Command::Verify(args) => {
            verify::<C>(&migrations(&MergeArgs::default()), models, args).map(Ending::from)
        }
        Command::Populate(args) => operations::populate::<C>(models, args).map(Ending::from),
        Command::CleanDuplicates(args) => {
            operations::clean_duplicates::<C>(models, args).map(Ending::from)
        }
        Command::CleanOld(args) => operations::clean_old::<C>(models, args).map(Ending::from),
        Command::Stats(args) => operations::stats::<C>(models, args).map(Ending::from),
    };
    match outcome {
        Ok(Ending::Success) => ExitCode::SUCCESS,
        Ok(Ending::Behind) => ExitCode::from(1),
        Ok(Ending::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(message) => {
            eprintln!("history: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// How a command that could run ended.
enum Ending {
    /// Up to date, written, or done.
    Success,
    /// The folder or the database is behind the models.
    Behind,
    /// Ctrl-C stopped an operation between chunks.
    Interrupted,
}

impl From<bool> for Ending {
    fn from(up_to_date: bool) -> Self {
        if up_to_date {
            Ending::Success
        } else {
            Ending::Behind
        }
    }
}

impl From<Finished> for Ending {
    fn from(finished: Finished) -> Self {
        match finished {
            Finished::Done => Ending::Success,
            Finished::Interrupted => Ending::Interrupted,
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
