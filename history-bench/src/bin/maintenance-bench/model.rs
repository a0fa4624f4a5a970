//! The benchmark's model, its history table, and the synthetic data: a
//! source table of rows without history (for the backfill) and a seed copy
//! of a history table of `objects × versions` records, from which the
//! history table is refilled before every deleting run.

use diesel::prelude::*;
use history_diesel::{Dialect, HistoricalRecords};

diesel::table! {
    mb_items (id) {
        id -> Integer,
        name -> Text,
        qty -> Integer,
        price -> Double,
        note -> Text,
    }
}

/// A model with a handful of columns of the usual types.
#[derive(Debug, Clone, Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = mb_items)]
pub struct Item {
    pub id: i32,
    pub name: String,
    pub qty: i32,
    pub price: f64,
    pub note: String,
}

/// The history table's name, as the derive gives it.
pub const HISTORY: &str = "historical_mb_items";
/// The seed: the history table's columns, no index, filled once.
pub const SEED: &str = "mb_seed";
/// The first record's date; version `v` is dated `v` days later.
pub const BASE_DATE: &str = "2026-01-01";

/// The shape of the synthetic history.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Records in the history table (and rows of the source table).
    pub records: u64,
    /// Records per object.
    pub versions: u64,
}

impl Shape {
    pub fn objects(self) -> u64 {
        self.records / self.versions
    }

    /// The pruning cutoff: half of each object's versions are older.
    pub fn cutoff(self) -> chrono::DateTime<chrono::Utc> {
        let base = chrono::NaiveDate::parse_from_str(BASE_DATE, "%Y-%m-%d")
            .expect("a date")
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        base + chrono::Duration::days((self.versions / 2) as i64)
    }
}

/// `SELECT i` for `i` in `1..=n`, from cross joins of a ten-row table: one
/// spelling for every backend (no `generate_series`, no recursion limits).
fn integers(n: u64) -> String {
    let digits = n.max(1).to_string().len();
    let terms: Vec<String> = (0..digits)
        .map(|k| format!("d{k}.d * {}", 10u64.pow(k as u32)))
        .collect();
    let tables: Vec<String> = (0..digits).map(|k| format!("mb_digits d{k}")).collect();
    format!(
        "SELECT i FROM (SELECT {} + 1 AS i FROM {}) g WHERE i <= {n}",
        terms.join(" + "),
        tables.join(", ")
    )
}

/// Statements that create the tables and fill the source and the seed.
pub fn setup(dialect: Dialect, shape: Shape) -> Vec<String> {
    let history_up = Item::history_migration(dialect).up;
    let mut statements = vec![
        format!("DROP TABLE IF EXISTS {}", HISTORY),
        format!("DROP TABLE IF EXISTS {SEED}"),
        "DROP TABLE IF EXISTS mb_items".to_owned(),
        "DROP TABLE IF EXISTS mb_digits".to_owned(),
        "DROP TABLE IF EXISTS mb_versions".to_owned(),
        "CREATE TABLE mb_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, \
         price DOUBLE PRECISION NOT NULL, note TEXT NOT NULL)"
            .to_owned(),
        history_up,
        "CREATE TABLE mb_digits (d INTEGER NOT NULL)".to_owned(),
        "INSERT INTO mb_digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)".to_owned(),
    ];
    // Versions: `qty` changes every second version, so every odd version
    // repeats the one before it (a duplicate for clean-duplicates).
    let versions: Vec<String> = (0..shape.versions)
        .map(|v| {
            let kind = if v == 0 { '+' } else { '~' };
            format!("({v}, {}, '{kind}', '{BASE_DATE} 00:00:00')", v / 2)
        })
        .collect();
    statements.push(
        "CREATE TABLE mb_versions (v INTEGER NOT NULL, qty INTEGER NOT NULL, kind CHAR(1) NOT NULL, \
         dated TIMESTAMP NOT NULL)"
            .to_owned(),
    );
    statements.push(format!(
        "INSERT INTO mb_versions VALUES {}",
        versions.join(", ")
    ));
    let day = match dialect {
        Dialect::Postgres => "dated + v * INTERVAL '1 day'".to_owned(),
        Dialect::Mysql => "dated + INTERVAL v DAY".to_owned(),
        Dialect::Sqlite => "datetime(dated, '+' || v || ' days')".to_owned(),
    };
    statements.push(format!("UPDATE mb_versions SET dated = {day}"));
    statements.push(format!(
        "INSERT INTO mb_items (id, name, qty, price, note) SELECT i, 'an item', i % 100, i * 0.5, \
         'a note of a few words, as a form would have' FROM ({}) n",
        integers(shape.records)
    ));
    statements.push(format!(
        "CREATE TABLE {SEED} AS SELECT * FROM {HISTORY} WHERE 1 = 0"
    ));
    // One object in ten ends deleted: its last record is a `-`.
    statements.push(format!(
        "INSERT INTO {SEED} (history_id, id, name, qty, price, note, history_date, history_type, \
         history_user_id, history_change_reason) \
         SELECT (o.i - 1) * {versions} + v.v + 1, o.i, 'an item', v.qty, o.i * 0.5, \
         'a note of a few words, as a form would have', v.dated, \
         CASE WHEN v.v = {last} AND o.i % 10 = 0 THEN '-' ELSE v.kind END, o.i % 50, NULL \
         FROM ({objects}) o, mb_versions v",
        versions = shape.versions,
        last = shape.versions - 1,
        objects = integers(shape.objects()),
    ));
    statements
}

/// Statements that empty the history table (restarting its ids).
pub fn empty(dialect: Dialect) -> Vec<String> {
    match dialect {
        Dialect::Postgres => vec![format!("TRUNCATE {} RESTART IDENTITY", HISTORY)],
        Dialect::Mysql => vec![format!("TRUNCATE TABLE {HISTORY}")],
        Dialect::Sqlite => vec![
            format!("DELETE FROM {}", HISTORY),
            format!("DELETE FROM sqlite_sequence WHERE name = '{HISTORY}'"),
        ],
    }
}

/// Statements that refill the history table from the seed, then refresh
/// the planner's statistics (both systems then start from the same state).
pub fn refill(dialect: Dialect) -> Vec<String> {
    let mut statements = empty(dialect);
    statements.push(format!("INSERT INTO {HISTORY} SELECT * FROM {SEED}"));
    statements.extend(analyze(dialect));
    statements
}

/// Fresh planner statistics (and on PostgreSQL a visibility map, for
/// index-only scans); InnoDB keeps its own statistics as rows change.
pub fn analyze(dialect: Dialect) -> Option<String> {
    match dialect {
        Dialect::Postgres => Some(format!("VACUUM ANALYZE {HISTORY}")),
        Dialect::Mysql => None,
        Dialect::Sqlite => Some("ANALYZE".to_owned()),
    }
}
