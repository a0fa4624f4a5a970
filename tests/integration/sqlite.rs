//! The suite on SQLite: bundled, in memory, a fresh database per test.

use diesel::sql_types::{Integer, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use history_diesel::Dialect;

use crate::support::{backend_suite, group_index_columns, Column, Inspect, TestConn};

type Conn = TestConn<SqliteConnection>;

const DIALECT: Dialect = Dialect::Sqlite;

fn connect() -> Conn {
    TestConn::unlocked(raw_connect())
}

type SyncConn = SqliteConnection;
type AsyncConn = diesel_async::sync_connection_wrapper::SyncConnectionWrapper<SqliteConnection>;

/// A fresh in-memory database.
fn raw_connect() -> SqliteConnection {
    SqliteConnection::establish(":memory:").expect("in-memory SQLite")
}

/// A fresh in-memory database behind diesel-async's wrapper, which runs
/// each statement on tokio's blocking pool.
async fn connect_async() -> AsyncConn {
    use diesel_async::AsyncConnection;
    AsyncConn::establish(":memory:")
        .await
        .expect("in-memory SQLite")
}

crate::asynchronous::async_suite!();
crate::evolution::evolution_suite!();
crate::verify::verify_suite!();

const SOURCE_DDL: &str = r#"
CREATE TABLE orders (
    id INTEGER PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    total DOUBLE NOT NULL,
    customer_notes TEXT NOT NULL,
    internal_notes TEXT NOT NULL
);
CREATE TABLE every_types (
    id INTEGER PRIMARY KEY NOT NULL,
    small SMALLINT NOT NULL,
    big BIGINT NOT NULL,
    ratio REAL NOT NULL,
    amount DOUBLE NOT NULL,
    active BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    payload BLOB NOT NULL,
    day DATE NOT NULL,
    clock TIME NOT NULL,
    stamp TIMESTAMP NOT NULL,
    note TEXT,
    rank INTEGER,
    seen_at TIMESTAMP,
    display_name TEXT NOT NULL
);
CREATE TABLE tags (code TEXT PRIMARY KEY NOT NULL, label TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY NOT NULL, body TEXT NOT NULL, touched INTEGER NOT NULL);
CREATE TABLE tickets (id INTEGER PRIMARY KEY NOT NULL, title TEXT NOT NULL);
"#;

/// The widest types: SQLite keeps text and blobs of any length.
const LIMITS_DDL: &str = r#"
CREATE TABLE documents (id INTEGER PRIMARY KEY NOT NULL, body TEXT NOT NULL, data BLOB NOT NULL);
"#;

const ORDER_HISTORY_COLUMNS: [(&str, &str); 9] = [
    ("history_id", "INTEGER"),
    ("id", "INTEGER"),
    ("status", "TEXT"),
    ("total", "DOUBLE"),
    ("customer_notes", "TEXT"),
    ("history_date", "TIMESTAMP"),
    ("history_type", "CHAR(1)"),
    ("history_user_id", "BIGINT"),
    ("history_change_reason", "VARCHAR(100)"),
];

const TAG_HISTORY_COLUMNS: [(&str, &str); 7] = [
    ("history_id", "BLOB"),
    ("code", "TEXT"),
    ("label", "TEXT"),
    ("history_date", "TIMESTAMP"),
    ("history_type", "CHAR(1)"),
    ("history_user_id", "TEXT"),
    ("history_change_reason", "TEXT"),
];

const TICKET_HISTORY_COLUMNS: [(&str, &str); 10] = [
    ("history_id", "INTEGER"),
    ("id", "INTEGER"),
    ("title", "TEXT"),
    ("history_date", "TIMESTAMP"),
    ("history_type", "CHAR(1)"),
    ("history_user_id", "BIGINT"),
    ("history_change_reason", "VARCHAR(100)"),
    ("history_client_ip", "TEXT"),
    ("history_user_agent", "TEXT"),
    ("history_request_id", "TEXT"),
];

const CHECK_VIOLATION: &str = "check constraint failed";

#[derive(QueryableByName)]
struct TableInfo {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    ty: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct IndexColumn {
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn table_info(conn: &mut SqliteConnection, table: &str) -> Vec<TableInfo> {
    diesel::sql_query(r#"SELECT name, type AS ty, "notnull" AS not_null, pk FROM pragma_table_info(?) ORDER BY cid"#)
        .bind::<Text, _>(table)
        .load(conn)
        .expect("pragma_table_info")
}

impl Inspect for SqliteConnection {
    fn columns(&mut self, table: &str) -> Vec<Column> {
        table_info(self, table)
            .into_iter()
            .map(|info| Column {
                name: info.name,
                ty: info.ty,
                nullable: info.not_null == 0,
            })
            .collect()
    }

    fn index_columns(&mut self, table: &str, primary: bool) -> Vec<(String, Vec<String>)> {
        if primary {
            // SQLite reports the key of a rowid table in table_info, not as an index.
            let mut keys: Vec<TableInfo> = table_info(self, table)
                .into_iter()
                .filter(|info| info.pk > 0)
                .collect();
            keys.sort_by_key(|info| info.pk);
            return vec![(
                "primary".to_owned(),
                keys.into_iter().map(|info| info.name).collect(),
            )];
        }
        let rows: Vec<IndexColumn> = diesel::sql_query(
            "SELECT il.name AS index_name, ii.name AS column_name \
             FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii \
             WHERE il.origin = 'c' ORDER BY il.name, ii.seqno",
        )
        .bind::<Text, _>(table)
        .load(self)
        .expect("pragma_index_list");
        group_index_columns(
            rows.into_iter()
                .map(|row| (row.index_name, row.column_name)),
        )
    }
}

backend_suite!(embedded_migrations = "migrations/sqlite");

#[test]
fn history_dates_are_stored_as_sortable_utc_text() {
    use history_diesel::HistoryType;
    let mut conn = connect();
    create_tables(&mut conn);
    for micros in [5, 0, 123_456] {
        diesel::insert_into(historical_orders::table)
            .values(HistoricalOrder {
                history_id: 0,
                id: 1,
                status: "new".into(),
                total: 1.0,
                customer_notes: String::new(),
                history_date: at(22, 10, micros),
                history_type: HistoryType::Created,
                history_user_id: None,
                history_change_reason: None,
            })
            .execute(&mut *conn)
            .unwrap();
    }
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = Text)]
        history_date: String,
    }
    let stored: Vec<Stored> =
        diesel::sql_query("SELECT history_date FROM historical_orders ORDER BY history_date")
            .load(&mut *conn)
            .unwrap();
    let stored: Vec<&str> = stored.iter().map(|row| row.history_date.as_str()).collect();
    assert_eq!(
        stored,
        [
            "2026-11-22 10:00:00",
            "2026-11-22 10:00:00.000005",
            "2026-11-22 10:00:00.123456"
        ]
    );
}

/// Statements of a bulk create of rows that all name the same columns: one
/// multi-row `INSERT .. RETURNING` and one history statement per batch.
fn bulk_create_statements(_rows: usize, batches: usize) -> usize {
    2 * batches
}
/// Bulk create of rows without defaultable fields, per batch: `INSERT .. RETURNING` of the batch, history.
const BATCH_STATEMENTS: usize = 2;
const UPDATE_STATEMENTS: usize = 2;
const SAVE_STATEMENTS: usize = 2;
const DELETE_STATEMENTS: usize = 2;

/// A database file shared by the threads of the concurrency test.
fn concurrent_database() -> std::path::PathBuf {
    // One file per call: concurrency tests of this binary run side by side.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "history-concurrency-{}-{}.sqlite3",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&path);
    create_tables(&mut TestConn::unlocked(concurrent_connection(&path)));
    path
}

/// A connection for the record-order stress test: as for the other
/// concurrency tests.
fn stress_connection(path: &std::path::Path) -> ConcurrentConn {
    concurrent_connection(path)
}

/// What `concurrent_connection` opens.
type ConcurrentConn = SqliteConnection;

fn concurrent_connection(path: &std::path::Path) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;",
    )
    .unwrap();
    conn
}

fn drop_concurrent_database(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
}

/// With per-row contexts: one history statement per distinct context.
fn grouped_bulk_create_statements(_rows: usize, batches: usize, groups: usize) -> usize {
    batches + groups
}

/// SQLite's `RAISE(IGNORE)` in a trigger drops a row without an error, so
/// the insert returns fewer rows than it was given: history that cannot be
/// matched to its rows is refused, and nothing is kept. (A bulk create of such
/// rows goes through Diesel's own batch insert, which reports the lost row as
/// `NotFound`: a `Database` error, also with nothing kept.)
#[test]
fn an_insert_that_loses_its_row_is_read_back_and_keeps_nothing() {
    use diesel::connection::SimpleConnection;
    use diesel::QueryDsl;
    use history_diesel::{HistoryContext, HistoryError, WriteWithHistory};
    let mut conn = connect();
    create_tables(&mut conn);
    conn.batch_execute(
        "CREATE TRIGGER swallow BEFORE INSERT ON orders WHEN NEW.status = 'lost' \
         BEGIN SELECT RAISE(IGNORE); END;",
    )
    .unwrap();
    let err = Order::create_with_history(
        &mut *conn,
        &NewOrder::new("lost", 2.0),
        &HistoryContext::new(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::ReadBack {
                model: "Order",
                written: 1,
                read: 0
            }
        ),
        "{err:?}"
    );
    let kept: i64 = orders::table.count().get_result(&mut *conn).unwrap();
    let records: i64 = historical_orders::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!((kept, records), (0, 0));
}

/// A database file of its own for each trigger-capture test, whose
/// transactions commit.
fn capture_database() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "history-capture-{}-{}.sqlite3",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// The source tables of the trigger-capture models.
const CAPTURE_DDL: &str = r#"
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    balance BIGINT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE vaults (id INTEGER PRIMARY KEY NOT NULL, secret TEXT NOT NULL);
"#;

/// A trigger-captured create: the context row, the insert, the row removed.
const TRIGGER_CREATE_SENDS: &[&str] = &[
    "INSERT OR REPLACE INTO \"history_context\"",
    "INSERT INTO \"accounts\"",
    "DELETE FROM \"history_context\"",
];

crate::triggers::trigger_suite!();
