//! maintenance-bench: history-diesel's day-2 operations (backfill,
//! deduplicate, prune in each mode) against the floor of one hand-written
//! statement doing the same work, in the same process, on the same data;
//! and the backfill against a row-by-row loop. See `--help`.

mod floors;
mod memory;
mod model;

use std::ops::ControlFlow;
use std::process::ExitCode;
use std::time::Instant;

use diesel::connection::{LoadConnection, SimpleConnection};
use diesel::prelude::*;
use history_diesel::maintenance::{
    history_stats, CleanDuplicates, CleanOld, MaintenanceBackend, Outcome, Populate, Prune,
};
use history_diesel::{HistoricalRecords, HistoryBackend, HistoryType};

use crate::model::{historical_mb_items, mb_items, HistoricalItem, Item, Shape};

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const HELP: &str = "\
maintenance-bench: history-diesel's backfill, deduplication and pruning
against one hand-written statement doing the same work

USAGE:
    cargo run --release -p history-bench --features postgres,mysql \\
        --bin maintenance-bench -- [OPTIONS]

For each backend: a source table of RECORDS rows and a seed history of
RECORDS records (RECORDS / VERSIONS objects, every odd version a duplicate of
the one before, one object in ten deleted at the end), synthesised with
INSERT .. SELECT. Each operation runs through history-diesel (keyset chunks,
one transaction each) and as the floor (one statement over the whole table),
on the same data: the history table is refilled from the seed before each run.
Both must change the same number of records, or the run fails. Reported per
run: seconds, rows of the walked table per second, and the process's peak
resident memory during the run (VmHWM, reset before each run through
/proc/self/clear_refs: on PostgreSQL and MySQL the client's memory, on SQLite
the engine's too). The backfill is also run as a row-by-row loop (load a row,
insert its record, each statement on its own) over --row-by-row rows.

OPTIONS:
    --backend LIST      sqlite, postgres, mysql, comma-separated   [sqlite]
    --records N         history records and source rows           [1000000]
    --versions N        records per object, at least 4            [10]
    --chunk-size N      rows per chunk of history-diesel          [10000]
    --row-by-row N      rows of the row-by-row backfill loop      [20000]
    -h, --help          this text

ENVIRONMENT:
    BENCH_PG_URL        [postgres://postgres@127.0.0.1:5432/history_bench]
    BENCH_MYSQL_URL     [mysql://root@127.0.0.1:3306/history_bench]
    SQLite uses maintenance-bench.sqlite3 in the temp directory, deleted first.
";

#[derive(Debug, Clone)]
struct Config {
    backends: Vec<String>,
    shape: Shape,
    chunk_size: usize,
    row_by_row: u64,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Option<Config>, String> {
    let mut config = Config {
        backends: vec!["sqlite".to_owned()],
        shape: Shape {
            records: 1_000_000,
            versions: 10,
        },
        chunk_size: 10_000,
        row_by_row: 20_000,
    };
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("{flag}: `{value}` is not a number"))
        };
        match flag.as_str() {
            "--backend" => config.backends = value.split(',').map(str::to_owned).collect(),
            "--records" => config.shape.records = number()?,
            "--versions" => config.shape.versions = number()?,
            "--chunk-size" => config.chunk_size = number()? as usize,
            "--row-by-row" => config.row_by_row = number()?,
            _ => return Err(format!("unknown option {flag} (see --help)")),
        }
    }
    if config.shape.versions < 4 || config.shape.records < config.shape.versions {
        return Err("--versions must be at least 4, and --records at least --versions".into());
    }
    config.row_by_row = config.row_by_row.min(config.shape.records);
    Ok(Some(config))
}

fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("maintenance-bench: {message}");
            return ExitCode::from(2);
        }
    };
    println!(
        "| backend | records | operation | system | seconds | rows/s | peak RSS (MB) | ratio to floor |"
    );
    println!("|---|---:|---|---|---:|---:|---:|---:|");
    for backend in &config.backends {
        if let Err(err) = run_backend(backend, &config) {
            eprintln!("maintenance-bench: {backend}: {err}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn run_backend(backend: &str, config: &Config) -> Result<()> {
    match backend {
        #[cfg(feature = "sqlite")]
        "sqlite" => run::<diesel::SqliteConnection>(&mut open::sqlite()?, backend, config),
        #[cfg(feature = "postgres")]
        "postgres" => run::<diesel::PgConnection>(&mut open::postgres()?, backend, config),
        #[cfg(feature = "mysql")]
        "mysql" => run::<diesel::MysqlConnection>(&mut open::mysql()?, backend, config),
        other => Err(format!(
            "unknown or not built in (features sqlite, postgres, mysql): {other}"
        )
        .into()),
    }
}

/// One measured run.
struct Run {
    seconds: f64,
    /// Records written or deleted.
    changed: u64,
    peak_mb: f64,
}

fn measure(work: impl FnOnce() -> Result<u64>) -> Result<Run> {
    memory::reset_peak()?;
    let start = Instant::now();
    let changed = work()?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(Run {
        seconds,
        changed,
        peak_mb: memory::peak_mb()?,
    })
}

fn batch<C: SimpleConnection>(conn: &mut C, statements: &[String]) -> Result<()> {
    for statement in statements {
        conn.batch_execute(statement)
            .map_err(|err| format!("{err}: {statement}"))?;
    }
    Ok(())
}

fn go(_: &history_diesel::maintenance::Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn library(outcome: std::result::Result<Outcome, history_diesel::HistoryError>) -> Result<u64> {
    Ok(outcome?.records)
}

fn run<C>(conn: &mut C, backend: &str, config: &Config) -> Result<()>
where
    C: LoadConnection + SimpleConnection + RowByRow,
    C::Backend: MaintenanceBackend,
{
    let dialect = <C::Backend as HistoryBackend>::DIALECT;
    let shape = config.shape;
    let spec = &Item::HISTORY_TABLE;
    let started = Instant::now();
    eprintln!(
        "maintenance-bench: {backend}: synthesising {} rows and records ...",
        shape.records
    );
    batch(conn, &model::setup(dialect, shape))?;
    eprintln!(
        "maintenance-bench: {backend}: synthesised in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let cutoff = shape.cutoff();
    let cutoff_text = cutoff.format("%Y-%m-%d %H:%M:%S").to_string();
    let now = chrono::Utc::now();
    let now_text = now.format("%Y-%m-%d %H:%M:%S").to_string();
    let row = |operation: &str, system: &str, run: &Run, floor: Option<&Run>| {
        let ratio = floor.map_or("1.00 (floor)".to_owned(), |floor| {
            format!("{:.2}", run.seconds / floor.seconds)
        });
        println!(
            "| {backend} | {} | {operation} | {system} | {:.2} | {:.0} | {:.1} | {ratio} |",
            shape.records,
            run.seconds,
            shape.records as f64 / run.seconds,
            run.peak_mb
        );
    };

    // Backfill: the history table starts empty each time; a second run
    // (every row recorded, nothing to write) shows what idempotence costs.
    let populate = |conn: &mut C| {
        library(
            Populate::new(spec)
                .chunk_size(config.chunk_size)
                .run(conn, go),
        )
    };
    batch(conn, &model::empty(dialect))?;
    let ours = measure(|| populate(conn))?;
    let ours_again = measure(|| populate(conn))?;
    batch(conn, &model::empty(dialect))?;
    let floor_sql = floors::populate(&now_text);
    let floor = measure(|| Ok(conn.execute_floor(&floor_sql)?))?;
    let floor_again = measure(|| Ok(conn.execute_floor(&floor_sql)?))?;
    check("populate", shape.records, &ours, &floor)?;
    check("populate again", 0, &ours_again, &floor_again)?;
    row("populate", "history-diesel", &ours, Some(&floor));
    row("populate", "INSERT .. SELECT", &floor, None);
    row(
        "populate again",
        "history-diesel",
        &ours_again,
        Some(&floor_again),
    );
    row("populate again", "INSERT .. SELECT", &floor_again, None);
    batch(conn, &model::empty(dialect))?;
    let loop_rows = config.row_by_row;
    let looped = measure(|| conn.row_by_row(loop_rows, now))?;
    if looped.changed != loop_rows {
        return Err(format!(
            "the row-by-row loop wrote {} records of {loop_rows}",
            looped.changed
        )
        .into());
    }
    let ours_rate = shape.records as f64 / ours.seconds;
    let loop_rate = loop_rows as f64 / looped.seconds;
    println!(
        "| {backend} | {loop_rows} | populate | row by row | {:.2} | {loop_rate:.0} | {:.1} | history-diesel is {:.0}x its rows/s |",
        looped.seconds, looped.peak_mb, ours_rate / loop_rate
    );

    let operations: [(&str, String, CleanKind); 4] = [
        (
            "clean-duplicates",
            floors::duplicates(dialect),
            CleanKind::Duplicates,
        ),
        (
            "clean-old",
            floors::prune_all(&cutoff_text),
            CleanKind::Old(Prune::All),
        ),
        (
            "clean-old --keep 2",
            floors::keep_newest(dialect, 2, &cutoff_text),
            CleanKind::Old(Prune::KeepNewest(2)),
        ),
        (
            "clean-old --compact",
            floors::compact(dialect, &cutoff_text),
            CleanKind::Old(Prune::Compact),
        ),
    ];
    for (operation, floor_sql, kind) in operations {
        batch(conn, &model::refill(dialect))?;
        let ours = measure(|| match kind {
            CleanKind::Duplicates => library(
                CleanDuplicates::new(spec)
                    .chunk_size(config.chunk_size)
                    .run(conn, go),
            ),
            CleanKind::Old(mode) => library(
                CleanOld::new(spec, cutoff)
                    .mode(mode)
                    .chunk_size(config.chunk_size)
                    .run(conn, go),
            ),
        })?;
        let left = history_stats(conn, spec)?.records;
        batch(conn, &model::refill(dialect))?;
        let floor = measure(|| Ok(conn.execute_floor(&floor_sql)?))?;
        let left_by_floor = history_stats(conn, spec)?.records;
        check(operation, ours.changed, &ours, &floor)?;
        if left != left_by_floor {
            return Err(format!(
                "{operation}: {left} records left, the floor left {left_by_floor}"
            )
            .into());
        }
        row(operation, "history-diesel", &ours, Some(&floor));
        row(operation, "one DELETE", &floor, None);
    }
    eprintln!(
        "maintenance-bench: {backend}: done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Clone, Copy)]
enum CleanKind {
    Duplicates,
    Old(Prune),
}

/// Both systems must change as many records, and the backfill all rows.
fn check(operation: &str, expected: u64, ours: &Run, floor: &Run) -> Result<()> {
    if ours.changed != floor.changed || ours.changed != expected {
        return Err(format!(
            "{operation}: history-diesel changed {} records, the floor {} (expected {expected})",
            ours.changed, floor.changed
        )
        .into());
    }
    Ok(())
}

/// What differs per connection type: the floor's statement, and the
/// row-by-row loop in Diesel's DSL.
trait RowByRow {
    /// Runs one statement, returning the rows it changed.
    fn execute_floor(&mut self, sql: &str) -> QueryResult<u64>;
    /// For each of the first `rows` rows: load it, insert its `+` record.
    fn row_by_row(&mut self, rows: u64, now: chrono::DateTime<chrono::Utc>) -> Result<u64>;
}

macro_rules! row_by_row {
    ($($feature:literal => $conn:ty),*) => {$(
        #[cfg(feature = $feature)]
        impl RowByRow for $conn {
            fn execute_floor(&mut self, sql: &str) -> QueryResult<u64> {
                diesel::sql_query(sql).execute(self).map(|n| n as u64)
            }

            fn row_by_row(&mut self, rows: u64, now: chrono::DateTime<chrono::Utc>) -> Result<u64> {
                let mut written = 0;
                for id in 1..=rows as i32 {
                    let item: Item = mb_items::table.find(id).select(Item::as_select()).first(self)?;
                    let record = HistoricalItem {
                        history_id: i64::from(id),
                        id: item.id,
                        name: item.name,
                        qty: item.qty,
                        price: item.price,
                        note: item.note,
                        history_date: now,
                        history_type: HistoryType::Created,
                        history_user_id: None,
                        history_change_reason: Some("history backfill".to_owned()),
                    };
                    written += diesel::insert_into(historical_mb_items::table)
                        .values(record)
                        .execute(self)? as u64;
                }
                Ok(written)
            }
        }
    )*};
}
row_by_row!("sqlite" => diesel::SqliteConnection, "postgres" => diesel::PgConnection, "mysql" => diesel::MysqlConnection);

/// The benchmark's databases.
mod open {
    #[allow(unused_imports)] // which are used depends on the features
    use diesel::connection::SimpleConnection;
    #[allow(unused_imports)]
    use diesel::Connection;

    #[allow(unused_imports)]
    use super::Result;

    /// A file on local disk, deleted first, with SQLite's default settings.
    #[cfg(feature = "sqlite")]
    pub fn sqlite() -> Result<diesel::SqliteConnection> {
        let path = std::env::temp_dir().join("maintenance-bench.sqlite3");
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
                _ => {}
            }
        }
        Ok(diesel::SqliteConnection::establish(
            path.to_str().ok_or("the temp dir is not UTF-8")?,
        )?)
    }

    /// `url` without its database name, and the name.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn split(url: &str) -> Result<(&str, &str)> {
        let slash = url.rfind('/').ok_or("the URL names no database")?;
        let name = &url[slash + 1..];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("{url}: the database name must be letters, digits and `_`").into());
        }
        if name == "history_test" {
            return Err("`history_test` belongs to the test suites".into());
        }
        Ok((&url[..=slash], name))
    }

    #[cfg(feature = "postgres")]
    pub fn postgres() -> Result<diesel::PgConnection> {
        let url = std::env::var("BENCH_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/history_bench".to_owned());
        let (base, name) = split(&url)?;
        let mut admin = diesel::PgConnection::establish(&format!("{base}postgres"))?;
        // CREATE DATABASE has no IF NOT EXISTS: a second one fails, harmlessly.
        let _ = admin.batch_execute(&format!("CREATE DATABASE \"{name}\""));
        Ok(diesel::PgConnection::establish(&url)?)
    }

    #[cfg(feature = "mysql")]
    pub fn mysql() -> Result<diesel::MysqlConnection> {
        let url = std::env::var("BENCH_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/history_bench".to_owned());
        let (base, name) = split(&url)?;
        let mut admin = diesel::MysqlConnection::establish(base.trim_end_matches('/'))?;
        admin.batch_execute(&format!("CREATE DATABASE IF NOT EXISTS `{name}`"))?;
        Ok(diesel::MysqlConnection::establish(&url)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_options() {
        let args = |text: &str| {
            text.split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>()
                .into_iter()
        };
        let config = parse(args(
            "--backend sqlite,postgres --records 10_000_000 --versions 5",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(config.backends, ["sqlite", "postgres"]);
        assert_eq!(
            (config.shape.records, config.shape.versions),
            (10_000_000, 5)
        );
        assert!(parse(args("--versions 2")).is_err());
        assert!(parse(args("--records")).is_err());
        assert!(parse(args("--help")).unwrap().is_none());
    }
}
