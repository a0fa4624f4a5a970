//! The suite on PostgreSQL (`PG_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/history_test`). Tests take turns and
//! each runs in a test transaction, so nothing outlives it.

use std::sync::Mutex;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::sql_types::{Bool, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use history_diesel::Dialect;

use crate::support::{backend_suite, group_index_columns, Column, Inspect, TestConn};

type Conn = TestConn<PgConnection>;

const DIALECT: Dialect = Dialect::Postgres;

static SERVER: Mutex<()> = Mutex::new(());

fn connect() -> Conn {
    TestConn::locked(&SERVER, raw_connect)
}

fn database_url() -> String {
    std::env::var("PG_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/history_test".to_owned())
}

/// A connection in a test transaction of its own, without the server lock.
fn raw_connect() -> PgConnection {
    let url = database_url();
    let mut conn = PgConnection::establish(&url)
        .unwrap_or_else(|err| panic!("PostgreSQL at {url} is required for this suite: {err}"));
    conn.begin_test_transaction().unwrap();
    conn
}

type SyncConn = PgConnection;
type AsyncConn = diesel_async::AsyncPgConnection;

/// An async connection in a test transaction of its own.
async fn connect_async() -> AsyncConn {
    use diesel_async::AsyncConnection;
    let url = database_url();
    let mut conn = AsyncConn::establish(&url)
        .await
        .unwrap_or_else(|err| panic!("PostgreSQL at {url} is required for this suite: {err}"));
    conn.begin_test_transaction().await.unwrap();
    conn
}

crate::asynchronous::async_suite!();
crate::evolution::evolution_suite!();
crate::verify::verify_suite!();

const SOURCE_DDL: &str = r#"
CREATE TABLE orders (
    id SERIAL PRIMARY KEY,
    status VARCHAR(50) NOT NULL CHECK (status <> ''),
    total DOUBLE PRECISION NOT NULL,
    customer_notes TEXT NOT NULL,
    internal_notes TEXT NOT NULL
);
CREATE TABLE every_types (
    id INTEGER PRIMARY KEY,
    small SMALLINT NOT NULL,
    big BIGINT NOT NULL UNIQUE,
    ratio REAL NOT NULL,
    amount DOUBLE PRECISION NOT NULL,
    active BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    payload BYTEA NOT NULL,
    day DATE NOT NULL,
    clock TIME NOT NULL,
    stamp TIMESTAMP NOT NULL,
    note TEXT,
    rank INTEGER,
    seen_at TIMESTAMP,
    display_name TEXT NOT NULL
);
CREATE TABLE tags (code TEXT PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT NOT NULL, touched INTEGER NOT NULL);
CREATE TABLE tickets (id SERIAL PRIMARY KEY, title TEXT NOT NULL);
"#;

/// The widest types of text and binary.
const LIMITS_DDL: &str = r#"
CREATE TABLE documents (id SERIAL PRIMARY KEY, body TEXT NOT NULL, data BYTEA NOT NULL);
"#;

const ORDER_HISTORY_COLUMNS: [(&str, &str); 9] = [
    ("history_id", "bigint"),
    ("id", "integer"),
    ("status", "text"),
    ("total", "double precision"),
    ("customer_notes", "text"),
    ("history_date", "timestamp without time zone"),
    ("history_type", "character(1)"),
    ("history_user_id", "bigint"),
    ("history_change_reason", "character varying(100)"),
];

const TAG_HISTORY_COLUMNS: [(&str, &str); 7] = [
    ("history_id", "uuid"),
    ("code", "text"),
    ("label", "text"),
    ("history_date", "timestamp without time zone"),
    ("history_type", "character(1)"),
    ("history_user_id", "text"),
    ("history_change_reason", "text"),
];

const TICKET_HISTORY_COLUMNS: [(&str, &str); 10] = [
    ("history_id", "bigint"),
    ("id", "integer"),
    ("title", "text"),
    ("history_date", "timestamp without time zone"),
    ("history_type", "character(1)"),
    ("history_user_id", "bigint"),
    ("history_change_reason", "character varying(100)"),
    ("history_client_ip", "inet"),
    ("history_user_agent", "character varying(512)"),
    ("history_request_id", "character varying(128)"),
];

const CHECK_VIOLATION: &str = "violates check constraint";

#[derive(QueryableByName)]
struct CatalogColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    ty: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName)]
struct IndexColumn {
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn index_columns(
    conn: &mut PgConnection,
    table: &str,
    primary: bool,
) -> Vec<(String, Vec<String>)> {
    let rows: Vec<IndexColumn> = diesel::sql_query(
        "SELECT i.relname::text AS index_name, a.attname::text AS column_name \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) ON true \
         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum \
         WHERE x.indrelid = to_regclass($1) AND x.indisprimary = $2 \
         ORDER BY i.relname, k.n",
    )
    .bind::<Text, _>(table)
    .bind::<Bool, _>(primary)
    .load(conn)
    .expect("pg_index");
    group_index_columns(
        rows.into_iter()
            .map(|row| (row.index_name, row.column_name)),
    )
}

impl Inspect for PgConnection {
    fn columns(&mut self, table: &str) -> Vec<Column> {
        let rows: Vec<CatalogColumn> = diesel::sql_query(
            "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS ty, \
                    NOT a.attnotnull AS nullable \
             FROM pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
        )
        .bind::<Text, _>(table)
        .load(self)
        .expect("pg_attribute");
        rows.into_iter()
            .map(|row| Column {
                name: row.name,
                ty: row.ty,
                nullable: row.nullable,
            })
            .collect()
    }

    fn index_columns(&mut self, table: &str, primary: bool) -> Vec<(String, Vec<String>)> {
        index_columns(self, table, primary)
    }
}

backend_suite!(embedded_migrations = "migrations/postgres");

diesel::table! {
    pg_extras (id) {
        id -> Uuid,
        doc -> Jsonb,
        price -> Numeric,
        happened_at -> Timestamptz,
        labels -> Nullable<Json>,
        code -> Varchar,
    }
}

/// PostgreSQL's own types: UUID key, JSONB (by override), NUMERIC,
/// TIMESTAMPTZ, nullable JSON, a VARCHAR(20) kept by `db_type`, UUID users.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = pg_extras)]
#[history(user_id_type = uuid::Uuid)]
pub struct PgExtra {
    pub id: uuid::Uuid,
    #[history(sql_type = diesel::sql_types::Jsonb)]
    pub doc: serde_json::Value,
    pub price: BigDecimal,
    pub happened_at: DateTime<Utc>,
    pub labels: Option<serde_json::Value>,
    #[history(db_type = "VARCHAR(20)")]
    pub code: String,
}

#[test]
fn postgres_types_round_trip_and_keep_their_column_types() {
    let mut conn = connect();
    conn.batch_execute(&PgExtra::history_migration(DIALECT).up)
        .unwrap();
    let user = uuid::Uuid::new_v4();
    let record = HistoricalPgExtra {
        history_id: 0,
        id: uuid::Uuid::new_v4(),
        doc: serde_json::json!({"items": [1, 2, 3], "gift": true}),
        price: "1234.5678".parse().unwrap(),
        happened_at: at(21, 23, 999_999),
        labels: None,
        code: "A-1".into(),
        history_date: at(22, 12, 7),
        history_type: HistoryType::Changed,
        history_user_id: Some(user),
        history_change_reason: Some("price fix".into()),
    };
    diesel::insert_into(historical_pg_extras::table)
        .values(record.clone())
        .execute(&mut *conn)
        .unwrap();
    let loaded: HistoricalPgExtra = historical_pg_extras::table
        .filter(historical_pg_extras::history_user_id.eq(user))
        .select(HistoricalPgExtra::as_select())
        .first(&mut *conn)
        .unwrap();
    assert_eq!(
        loaded,
        HistoricalPgExtra {
            history_id: loaded.history_id,
            ..record
        }
    );

    let types: Vec<(String, String)> = conn
        .columns("historical_pg_extras")
        .into_iter()
        .map(|c| (c.name, c.ty))
        .collect();
    let types: Vec<(&str, &str)> = types
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        types[1..7],
        [
            ("id", "uuid"),
            ("doc", "jsonb"),
            ("price", "numeric"),
            ("happened_at", "timestamp with time zone"),
            ("labels", "json"),
            ("code", "character varying(20)"),
        ]
    );
    assert_eq!(types[9], ("history_user_id", "uuid"));
}

/// Statements of a bulk create: one data-modifying CTE per batch (insert
/// and history at once); single-row writes are one statement too.
fn bulk_create_statements(_rows: usize, batches: usize) -> usize {
    batches
}
/// Bulk create of rows without defaultable fields, per batch: One CTE.
const BATCH_STATEMENTS: usize = 1;
const UPDATE_STATEMENTS: usize = 1;
const SAVE_STATEMENTS: usize = 1;
const DELETE_STATEMENTS: usize = 1;

/// Committed tables the threads of the concurrency tests share, in a
/// database of their own (`<database>_concurrent`): the async suite's
/// transactions create the same tables in the main one without the server
/// lock, and must not meet committed ones.
fn concurrent_database() -> String {
    let main = database_url();
    let name = format!(
        "{}_concurrent",
        main.rsplit('/').next().expect("a database name")
    );
    let mut conn = PgConnection::establish(&main).unwrap();
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result(&mut conn)
            .unwrap();
    if !exists.exists {
        conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
    }
    let url = format!("{}/{name}", main.rsplit_once('/').unwrap().0);
    let mut conn = PgConnection::establish(&url).unwrap();
    drop_tables(&mut conn);
    conn.batch_execute(SOURCE_DDL).unwrap();
    conn.batch_execute(&Order::HISTORY_TABLE.up_sql(DIALECT))
        .unwrap();
    url
}

/// A connection for the record-order stress test: as for the other
/// concurrency tests.
fn stress_connection(url: &str) -> ConcurrentConn {
    concurrent_connection(url)
}

/// What `concurrent_connection` opens.
type ConcurrentConn = PgConnection;

fn concurrent_connection(url: &str) -> PgConnection {
    PgConnection::establish(url).unwrap()
}

fn drop_tables(conn: &mut PgConnection) {
    conn.batch_execute(
        "DROP TABLE IF EXISTS orders, every_types, tags, notes, tickets, historical_orders CASCADE",
    )
    .unwrap();
}

fn drop_concurrent_database(url: &str) {
    drop_tables(&mut concurrent_connection(url));
}

/// With per-row contexts: the insert, then one history statement per distinct context.
fn grouped_bulk_create_statements(_rows: usize, batches: usize, groups: usize) -> usize {
    batches + groups
}

/// A database of its own for the trigger-capture tests
/// (`<database>_capture`), whose transactions commit; the tests take turns.
fn capture_database() -> String {
    let main = database_url();
    let name = format!(
        "{}_capture",
        main.rsplit('/').next().expect("a database name")
    );
    let mut conn = PgConnection::establish(&main).unwrap();
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result(&mut conn)
            .unwrap();
    if !exists.exists {
        conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
    }
    let url = format!("{}/{name}", main.rsplit_once('/').unwrap().0);
    PgConnection::establish(&url)
        .unwrap()
        .batch_execute(
            "DROP TABLE IF EXISTS accounts, vaults, historical_accounts, historical_vaults CASCADE",
        )
        .unwrap();
    url
}

const CAPTURE_DDL: &str = r#"
CREATE TABLE accounts (
    id SERIAL PRIMARY KEY,
    owner TEXT NOT NULL,
    balance BIGINT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE vaults (id SERIAL PRIMARY KEY, secret TEXT NOT NULL);
"#;

/// A trigger-captured create: one statement that sets its own context.
const TRIGGER_CREATE_SENDS: &[&str] = &["set_config('history.user_id'"];

crate::triggers::trigger_suite!();
