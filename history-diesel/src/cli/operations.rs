//! The day-2 subcommands: `populate`, `clean-duplicates`, `clean-old` and
//! `stats`, each a thin call of [`crate::maintenance`] per selected model.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use diesel::connection::LoadConnection;

use super::progress::{arm_interrupt, Meter};
use crate::maintenance::{
    history_stats, Archive, ArchiveFormat, CleanDuplicates, CleanOld, HistoryStats,
    MaintenanceBackend, Outcome, Populate, Progress, Prune, UserId, DEFAULT_CHUNK_SIZE,
    DEFAULT_POPULATE_REASON,
};
use crate::{HistoryContext, HistoryError, HistoryTableSpec};

/// The database and the models a subcommand works on.
#[derive(Debug, Args)]
pub(super) struct Target {
    /// The database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    database_url: String,
    /// Only this model, by name (`Order`) or table (`orders`); repeat it for
    /// several [default: every model].
    #[arg(long = "model", value_name = "MODEL")]
    models: Vec<String>,
}

/// How a changing subcommand walks the tables.
#[derive(Debug, Args)]
pub(super) struct Batches {
    /// Count what would change, per model, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rows per chunk; each chunk is one transaction.
    #[arg(long, value_name = "ROWS", default_value_t = DEFAULT_CHUNK_SIZE,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    chunk_size: usize,
}

#[derive(Debug, Args)]
pub(super) struct PopulateArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    batches: Batches,
    /// The user recorded on the backfilled records (an id of the type of
    /// `history_user_id`) [default: none].
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// The change reason recorded on them.
    #[arg(long, value_name = "TEXT", default_value = DEFAULT_POPULATE_REASON)]
    reason: String,
}

#[derive(Debug, Args)]
pub(super) struct CleanDuplicatesArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    batches: Batches,
    /// Only records of the last MINUTES minutes (each still compared with
    /// the record before it) [default: all records].
    #[arg(long, value_name = "MINUTES")]
    minutes: Option<u32>,
}

#[derive(Debug, Args)]
pub(super) struct CleanOldArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    batches: Batches,
    /// Prune records older than DAYS days.
    #[arg(
        long,
        value_name = "DAYS",
        required_unless_present = "before",
        conflicts_with = "before"
    )]
    days: Option<u32>,
    /// Prune records dated before DATE (`2026-01-31` for midnight UTC, or
    /// an RFC 3339 time).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    before: Option<DateTime<Utc>>,
    /// Keep each object's newest N records.
    #[arg(long, value_name = "N", conflicts_with = "compact")]
    keep: Option<u32>,
    /// Keep, for each object alive at the cutoff, its last record before
    /// it, so `as_of` any time after the cutoff answers as before.
    #[arg(long)]
    compact: bool,
    /// Write each pruned record to a file in DIR (one per model) before
    /// deleting it.
    #[arg(long, value_name = "DIR")]
    archive_dir: Option<PathBuf>,
    /// The archive files' format.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "jsonl",
        requires = "archive_dir"
    )]
    archive_format: FileFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum FileFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header line.
    Csv,
}

#[derive(Debug, Args)]
pub(super) struct StatsArgs {
    #[command(flatten)]
    target: Target,
    /// Print one JSON array, for scripts.
    #[arg(long)]
    json: bool,
    /// Accepted as by every subcommand; stats only reads.
    #[arg(long)]
    dry_run: bool,
}

/// How a subcommand ended, when it could run.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Finished {
    /// Every selected model is done.
    Done,
    /// Ctrl-C stopped it between chunks.
    Interrupted,
}

fn parse_date(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|date| date.with_timezone(&Utc))
        .map_err(|_| "expected a date as `2026-01-31` or an RFC 3339 time".to_owned())
}

/// The models `target` names, in the order the application lists them.
fn select<'m>(
    models: &[&'m HistoryTableSpec],
    target: &Target,
) -> Result<Vec<&'m HistoryTableSpec>, String> {
    if let Some(unknown) = target.models.iter().find(|name| {
        !models
            .iter()
            .any(|spec| spec.model == name.as_str() || spec.source_table == name.as_str())
    }) {
        let known: Vec<&str> = models.iter().map(|spec| spec.model).collect();
        return Err(format!(
            "no model `{unknown}`; the models are: {}",
            known.join(", ")
        ));
    }
    Ok(models
        .iter()
        .copied()
        .filter(|spec| {
            target.models.is_empty()
                || target
                    .models
                    .iter()
                    .any(|name| spec.model == name || spec.source_table == name)
        })
        .collect())
}

fn connect<C: LoadConnection>(target: &Target) -> Result<C, String> {
    C::establish(&target.database_url)
        .map_err(|err| format!("cannot connect to the database: {err}"))
}

/// Runs `operation` on each selected model with a meter, printing its
/// summary, until one is interrupted.
fn each_model<C>(
    models: &[&HistoryTableSpec],
    target: &Target,
    name: &str,
    mut operation: impl FnMut(
        &mut C,
        &HistoryTableSpec,
        &mut dyn FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<(Outcome, Option<PathBuf>), HistoryError>,
) -> Result<Finished, String>
where
    C: LoadConnection,
{
    let selected = select(models, target)?;
    let mut conn = connect::<C>(target)?;
    arm_interrupt();
    for spec in selected {
        let mut meter = Meter::start(name, spec.model);
        let result = operation(&mut conn, spec, &mut |progress| meter.update(progress));
        meter.finish();
        let (outcome, archive) = result.map_err(|err| err.to_string())?;
        println!("{}", summary(name, &outcome, archive.as_deref()));
        if outcome.interrupted {
            eprintln!(
                "history: interrupted: {name} {} stopped after {} committed chunk(s); \
                 run the same command again to carry on",
                outcome.model, outcome.chunks
            );
            return Ok(Finished::Interrupted);
        }
    }
    Ok(Finished::Done)
}

/// `populate Order: wrote 1000 records (1 chunk)`.
fn summary(name: &str, outcome: &Outcome, archive: Option<&Path>) -> String {
    let verb = match (name, outcome.dry_run) {
        ("populate", false) => "wrote",
        ("populate", true) => "would write",
        (_, false) => "deleted",
        (_, true) => "would delete",
    };
    let mut line = format!(
        "{name} {}: {verb} {} record(s) in {} chunk(s)",
        outcome.model, outcome.records, outcome.chunks
    );
    if outcome.dry_run {
        line.push_str(" (dry run)");
    }
    if outcome.interrupted {
        line.push_str(" (interrupted)");
    }
    if let Some(path) = archive {
        line.push_str(&format!(", archived to {}", path.display()));
    }
    line
}

pub(super) fn populate<C>(
    models: &[&HistoryTableSpec],
    args: &PopulateArgs,
) -> Result<Finished, String>
where
    C: LoadConnection,
    C::Backend: MaintenanceBackend,
{
    each_model::<C>(models, &args.target, "populate", |conn, spec, on_chunk| {
        let mut context = HistoryContext::<UserId>::new().reason(args.reason.clone());
        if let Some(user) = &args.user {
            context = context.user(UserId::parse_for(spec, user)?);
        }
        let outcome = Populate::new(spec)
            .chunk_size(args.batches.chunk_size)
            .dry_run(args.batches.dry_run)
            .context(&context)
            .run(conn, on_chunk)?;
        Ok((outcome, None))
    })
}

pub(super) fn clean_duplicates<C>(
    models: &[&HistoryTableSpec],
    args: &CleanDuplicatesArgs,
) -> Result<Finished, String>
where
    C: LoadConnection,
    C::Backend: MaintenanceBackend,
{
    let since = args
        .minutes
        .map(|minutes| Utc::now() - Duration::minutes(minutes.into()));
    each_model::<C>(
        models,
        &args.target,
        "clean-duplicates",
        |conn, spec, on_chunk| {
            let mut clean = CleanDuplicates::new(spec)
                .chunk_size(args.batches.chunk_size)
                .dry_run(args.batches.dry_run);
            if let Some(since) = since {
                clean = clean.since(since);
            }
            Ok((clean.run(conn, on_chunk)?, None))
        },
    )
}

pub(super) fn clean_old<C>(
    models: &[&HistoryTableSpec],
    args: &CleanOldArgs,
) -> Result<Finished, String>
where
    C: LoadConnection,
    C::Backend: MaintenanceBackend,
{
    let now = Utc::now();
    let cutoff = match (args.before, args.days) {
        (Some(before), _) => before,
        (None, Some(days)) => now - Duration::days(days.into()),
        (None, None) => unreachable!("clap requires --days or --before"),
    };
    let mode = match (args.keep, args.compact) {
        (Some(n), _) => Prune::KeepNewest(n),
        (None, true) => Prune::Compact,
        (None, false) => Prune::All,
    };
    let format = match args.archive_format {
        FileFormat::Jsonl => ArchiveFormat::JsonLines,
        FileFormat::Csv => ArchiveFormat::Csv,
    };
    let archive_dir = args
        .archive_dir
        .as_deref()
        .filter(|_| !args.batches.dry_run);
    each_model::<C>(models, &args.target, "clean-old", |conn, spec, on_chunk| {
        let clean = CleanOld::new(spec, cutoff)
            .mode(mode)
            .chunk_size(args.batches.chunk_size)
            .dry_run(args.batches.dry_run);
        let Some(dir) = archive_dir else {
            return Ok((clean.run(conn, on_chunk)?, None));
        };
        let archive_error = |source| HistoryError::Archive {
            model: spec.model,
            source,
        };
        let path = dir.join(format!(
            "{}-{}.{}",
            spec.history_table,
            now.format("%Y%m%dT%H%M%SZ"),
            format.extension()
        ));
        let mut file = open_archive(&path).map_err(archive_error)?;
        let outcome = {
            let mut archive = Archive::new(&mut file, format);
            clean.archive(&mut archive).run(conn, on_chunk)?
        };
        if outcome.records == 0 {
            // Nothing pruned: leave no empty file behind.
            drop(file);
            std::fs::remove_file(&path).map_err(archive_error)?;
            return Ok((outcome, None));
        }
        Ok((outcome, Some(path)))
    })
}

/// A new archive file (never one that exists), its folder made if needed.
fn open_archive(path: &Path) -> io::Result<SyncedFile> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = File::options().write(true).create_new(true).open(path)?;
    Ok(SyncedFile(BufWriter::new(file)))
}

/// A file whose flush reaches the disk: the archive flushes before each
/// chunk's `DELETE`, so a record leaves the table only once it is stored.
struct SyncedFile(BufWriter<File>);

impl Write for SyncedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.0.get_ref().sync_data()
    }
}

pub(super) fn stats<C>(models: &[&HistoryTableSpec], args: &StatsArgs) -> Result<Finished, String>
where
    C: LoadConnection,
    C::Backend: MaintenanceBackend,
{
    let selected = select(models, &args.target)?;
    let mut conn = connect::<C>(&args.target)?;
    let mut all = Vec::with_capacity(selected.len());
    for spec in selected {
        all.push(history_stats(&mut conn, spec).map_err(|err| err.to_string())?);
    }
    if args.json {
        let json: Vec<serde_json::Value> = all.iter().map(stats_json).collect();
        println!("{}", serde_json::Value::Array(json));
    } else {
        for stats in &all {
            println!("{}", stats_line(stats));
        }
    }
    Ok(Finished::Done)
}

/// `Order (historical_orders): 1200 records (+ 1000, ~ 150, - 50), from .. to ..`.
fn stats_line(stats: &HistoryStats) -> String {
    let mut line = format!(
        "{} ({}): {} record(s) (+ {}, ~ {}, - {})",
        stats.model,
        stats.history_table,
        stats.records,
        stats.created,
        stats.changed,
        stats.deleted
    );
    if let (Some(oldest), Some(newest)) = (stats.oldest, stats.newest) {
        line.push_str(&format!(
            ", from {} to {}",
            oldest.format("%Y-%m-%d %H:%M:%S UTC"),
            newest.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    if let Some(bytes) = stats.bytes_per_record() {
        line.push_str(&format!(", {bytes:.1} bytes per record"));
    }
    line
}

fn stats_json(stats: &HistoryStats) -> serde_json::Value {
    let date = |date: Option<DateTime<Utc>>| date.map(|date| date.to_rfc3339());
    serde_json::json!({
        "model": stats.model,
        "history_table": stats.history_table,
        "records": stats.records,
        "created": stats.created,
        "changed": stats.changed,
        "deleted": stats.deleted,
        "oldest": date(stats.oldest),
        "newest": date(stats.newest),
        "bytes": stats.bytes,
        "bytes_per_record": stats.bytes_per_record(),
    })
}
