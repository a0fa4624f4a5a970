//! The suite on MySQL or MariaDB (`MYSQL_DATABASE_URL`, default
//! `mysql://root@127.0.0.1:3306/history_test`). DDL commits on MySQL, so tests
//! take turns and each starts from an empty database.

use std::sync::Mutex;

use bigdecimal::BigDecimal;
use chrono::NaiveDateTime;
use diesel::mysql::MysqlConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use history_diesel::Dialect;

use crate::support::{backend_suite, group_index_columns, Column, Inspect, TestConn};

type Conn = TestConn<MysqlConnection>;

const DIALECT: Dialect = Dialect::Mysql;

static SERVER: Mutex<()> = Mutex::new(());

fn connect() -> Conn {
    TestConn::locked(&SERVER, || {
        let url = database_url();
        let mut conn = MysqlConnection::establish(&url)
            .unwrap_or_else(|err| panic!("MySQL at {url} is required for this suite: {err}"));
        drop_all_tables(&mut conn);
        conn
    })
}

fn database_url() -> String {
    std::env::var("MYSQL_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/history_test".to_owned())
}

fn drop_all_tables(conn: &mut MysqlConnection) {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT CAST(TABLE_NAME AS CHAR) AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    .load(conn)
    .expect("list tables");
    for table in tables {
        diesel::sql_query(format!("DROP TABLE `{}`", table.name))
            .execute(conn)
            .expect("drop table");
    }
}

const SOURCE_DDL: &str = r#"
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTO_INCREMENT,
    status VARCHAR(50) NOT NULL,
    total DOUBLE NOT NULL,
    customer_notes TEXT NOT NULL,
    internal_notes TEXT NOT NULL
);
CREATE TABLE every_types (
    id INTEGER PRIMARY KEY,
    small SMALLINT NOT NULL,
    big BIGINT NOT NULL UNIQUE,
    ratio FLOAT NOT NULL,
    amount DOUBLE NOT NULL,
    active BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    payload BLOB NOT NULL,
    day DATE NOT NULL,
    clock TIME(6) NOT NULL,
    stamp DATETIME(6) NOT NULL,
    note TEXT,
    `rank` INTEGER,
    seen_at DATETIME(6),
    display_name TEXT NOT NULL
);
CREATE TABLE tags (code VARCHAR(64) PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY AUTO_INCREMENT, body TEXT NOT NULL, touched INTEGER NOT NULL);
"#;

const ORDER_HISTORY_COLUMNS: [(&str, &str); 9] = [
    ("history_id", "bigint(20)"),
    ("id", "int(11)"),
    ("status", "text"),
    ("total", "double"),
    ("customer_notes", "text"),
    ("history_date", "datetime(6)"),
    ("history_type", "char(1)"),
    ("history_user_id", "bigint(20)"),
    ("history_change_reason", "varchar(100)"),
];

const TAG_HISTORY_COLUMNS: [(&str, &str); 7] = [
    ("history_id", "binary(16)"),
    ("code", "varchar(255)"),
    ("label", "text"),
    ("history_date", "datetime(6)"),
    ("history_type", "char(1)"),
    ("history_user_id", "varchar(255)"),
    ("history_change_reason", "text"),
];

const CHECK_VIOLATION: &str = "failed for";

#[derive(QueryableByName)]
struct CatalogColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    ty: String,
    #[diesel(sql_type = BigInt)]
    nullable: i64,
}

#[derive(QueryableByName)]
struct IndexColumn {
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn index_columns(
    conn: &mut MysqlConnection,
    table: &str,
    primary: bool,
) -> Vec<(String, Vec<String>)> {
    let filter = if primary { "=" } else { "<>" };
    let rows: Vec<IndexColumn> = diesel::sql_query(format!(
        "SELECT CAST(INDEX_NAME AS CHAR) AS index_name, CAST(COLUMN_NAME AS CHAR) AS column_name \
         FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME {filter} 'PRIMARY' \
         ORDER BY INDEX_NAME, SEQ_IN_INDEX"
    ))
    .bind::<Text, _>(table)
    .load(conn)
    .expect("information_schema.STATISTICS");
    group_index_columns(
        rows.into_iter()
            .map(|row| (row.index_name, row.column_name)),
    )
}

impl Inspect for MysqlConnection {
    fn columns(&mut self, table: &str) -> Vec<Column> {
        let rows: Vec<CatalogColumn> = diesel::sql_query(
            "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(COLUMN_TYPE AS CHAR) AS ty, \
                    CAST(IS_NULLABLE = 'YES' AS SIGNED) AS nullable \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
        )
        .bind::<Text, _>(table)
        .load(self)
        .expect("information_schema.COLUMNS");
        rows.into_iter()
            .map(|row| Column {
                name: row.name,
                ty: row.ty,
                nullable: row.nullable != 0,
            })
            .collect()
    }

    fn index_columns(&mut self, table: &str, primary: bool) -> Vec<(String, Vec<String>)> {
        index_columns(self, table, primary)
    }
}

backend_suite!(embedded_migrations = "migrations/mysql");

diesel::table! {
    my_extras (id) {
        id -> BigInt,
        tiny -> TinyInt,
        doc -> Json,
        price -> Numeric,
        happened_at -> Datetime,
        code -> Varchar,
        maybe_doc -> Nullable<Json>,
    }
}

/// MySQL's own types: TINYINT, JSON, DECIMAL, DATETIME (by override), a
/// VARCHAR(20) kept by `db_type`, and an `i32` user id.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = my_extras)]
#[history(user_id_type = i32, change_reason = varchar(20))]
pub struct MyExtra {
    pub id: i64,
    pub tiny: i8,
    pub doc: serde_json::Value,
    pub price: BigDecimal,
    #[history(sql_type = diesel::mysql::sql_types::Datetime)]
    pub happened_at: NaiveDateTime,
    #[history(db_type = "VARCHAR(20)")]
    pub code: String,
    pub maybe_doc: Option<serde_json::Value>,
}

#[test]
fn mysql_types_round_trip_and_keep_their_column_types() {
    let mut conn = connect();
    conn.batch_execute(&MyExtra::history_migration(DIALECT).up)
        .unwrap();
    let record = HistoricalMyExtra {
        history_id: 0,
        id: 1 << 40,
        tiny: -7,
        doc: serde_json::json!({"items": [1, 2, 3]}),
        price: "1234.5678".parse().unwrap(),
        happened_at: at(21, 23, 999_999).naive_utc(),
        code: "A-1".into(),
        maybe_doc: None,
        history_date: at(22, 12, 7),
        history_type: HistoryType::Created,
        history_user_id: Some(9),
        history_change_reason: Some("twenty chars exactly".into()),
    };
    diesel::insert_into(historical_my_extras::table)
        .values(record.clone())
        .execute(&mut *conn)
        .unwrap();
    let loaded: HistoricalMyExtra = historical_my_extras::table
        .filter(historical_my_extras::history_user_id.eq(9))
        .select(HistoricalMyExtra::as_select())
        .first(&mut *conn)
        .unwrap();
    assert_eq!(
        loaded,
        HistoricalMyExtra {
            history_id: loaded.history_id,
            ..record.clone()
        }
    );

    let columns = conn.columns("historical_my_extras");
    let types: Vec<(&str, &str)> = columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.as_str()))
        .collect();
    assert_eq!(
        types[1..6],
        [
            ("id", "bigint(20)"),
            ("tiny", "tinyint(4)"),
            ("doc", "longtext"),
            ("price", "decimal(65,30)"),
            ("happened_at", "datetime(6)"),
        ]
    );
    assert_eq!(types[6], ("code", "varchar(20)"));
    assert_eq!(types[10], ("history_user_id", "int(11)"));
    assert_eq!(types[11], ("history_change_reason", "varchar(20)"));

    // A reason over `varchar(20)` is refused by the database in strict mode.
    let too_long = HistoricalMyExtra {
        history_change_reason: Some("twenty-one characters".into()),
        ..record
    };
    let err = diesel::insert_into(historical_my_extras::table)
        .values(too_long)
        .execute(&mut *conn)
        .unwrap_err();
    assert!(err.to_string().contains("history_change_reason"), "{err}");
}

/// Statements of a bulk create: id reset, INSERT, read back, history, per batch.
fn bulk_create_statements(_rows: usize, batches: usize) -> usize {
    4 * batches
}
/// Bulk create of rows without defaultable fields, per batch: `DO LAST_INSERT_ID(0)`, INSERT, SELECT back, history.
const BATCH_STATEMENTS: usize = 4;
const UPDATE_STATEMENTS: usize = 3;
/// `save_with_history`: UPDATE by key (it locks the row), history.
const SAVE_STATEMENTS: usize = 2;
const DELETE_STATEMENTS: usize = 3;

/// The tables the threads of the concurrency test share (the test holds the
/// server lock; `connect()` emptied the database).
fn concurrent_database() -> String {
    let url = database_url();
    let mut conn = MysqlConnection::establish(&url).unwrap();
    conn.batch_execute(SOURCE_DDL).unwrap();
    conn.batch_execute(&Order::HISTORY_TABLE.up_sql(DIALECT))
        .unwrap();
    url
}

/// What `concurrent_connection` opens.
type ConcurrentConn = MysqlConnection;

fn concurrent_connection(url: &str) -> MysqlConnection {
    let mut conn = MysqlConnection::establish(url).unwrap();
    // Under REPEATABLE READ, InnoDB's gap locks make overlapping range updates
    // deadlock each other; READ COMMITTED locks only the matching rows, in key
    // order, so the writers queue instead.
    conn.batch_execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .unwrap();
    conn
}

/// A connection at the server's default isolation (REPEATABLE READ), where
/// writers deadlock more: the record-order test retries nothing and must
/// hold under it.
fn stress_connection(url: &str) -> MysqlConnection {
    MysqlConnection::establish(url).unwrap()
}

fn drop_concurrent_database(url: &str) {
    drop_all_tables(&mut concurrent_connection(url));
}

/// With per-row contexts: one history statement per distinct context.
fn grouped_bulk_create_statements(_rows: usize, batches: usize, groups: usize) -> usize {
    3 * batches + groups
}

/// A deadlock victim retries on its own connection. MySQL reports a lock
/// error inside the result of the locking read that starts an update by
/// filter; a prepared statement cached in that half-read state made the retry
/// wait forever for rows the server never sends.
#[test]
fn a_deadlock_victim_retries_its_update_by_filter_on_the_same_connection() {
    deadlock_victim_retries(false);
}

/// The same inside the caller's transaction, where the write runs in a
/// savepoint: InnoDB rolls a deadlock victim's whole transaction back, so the
/// savepoint is gone too, and rolling back to it failed with `SAVEPOINT
/// diesel_savepoint_0 does not exist`, hiding the retryable error.
#[test]
fn a_deadlock_victim_inside_a_transaction_gets_the_retryable_error() {
    deadlock_victim_retries(true);
}

fn deadlock_victim_retries(in_transaction: bool) {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    use history_diesel::{BulkOptions, HistoryContext, HistoryError, WriteWithHistory};
    use std::sync::mpsc;
    use std::time::Duration;

    let mut conn = connect();
    create_tables(&mut conn);
    let rows: Vec<NewOrder<'_>> = (0..20).map(|_| NewOrder::new("new", 0.0)).collect();
    Order::bulk_create_with_history(
        &mut *conn,
        &rows,
        &HistoryContext::new(),
        BulkOptions::default(),
    )
    .unwrap();

    let url = database_url();
    // The blocker changes 17 rows, so InnoDB picks the lighter victim below.
    let mut blocker = MysqlConnection::establish(&url).unwrap();
    blocker
        .batch_execute("BEGIN; UPDATE orders SET total = total + 100 WHERE id >= 4")
        .unwrap();

    let (sender, answers) = mpsc::channel();
    let mut victim = MysqlConnection::establish(&url).unwrap();
    let victim_id = connection_id(&mut victim);
    std::thread::spawn(move || {
        let ctx = HistoryContext::new().user(1);
        for _ in 0..2 {
            // Locks rows 1 to 3, then waits for row 4.
            let update = |conn: &mut MysqlConnection| {
                Order::update_with_history(
                    conn,
                    orders::id.between(1, 6),
                    orders::total.eq(orders::total + 1.0),
                    &ctx,
                )
            };
            let answer = if in_transaction {
                victim.transaction(update)
            } else {
                update(&mut victim)
            };
            let failed = answer.is_err();
            sender.send(answer).unwrap();
            if !failed {
                break;
            }
        }
    });
    wait_for_a_lock_wait(&mut conn, victim_id);
    // Row 1 is the victim's: the cycle is closed and the victim rolled back.
    blocker
        .batch_execute("SELECT id FROM orders WHERE id = 1 FOR UPDATE")
        .unwrap();
    let first = answers.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(
        matches!(
            first,
            Err(HistoryError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::SerializationFailure,
                _
            )))
        ),
        "{first:?}"
    );
    blocker.batch_execute("ROLLBACK").unwrap();
    let retried = answers
        .recv_timeout(Duration::from_secs(30))
        .expect("the retry on the victim's connection returns");
    assert_eq!(retried.unwrap(), 6);

    let totals: Vec<f64> = historical_orders::table
        .filter(historical_orders::history_type.eq(HistoryType::Changed))
        .order(historical_orders::id)
        .select(historical_orders::total)
        .load(&mut *conn)
        .unwrap();
    assert_eq!(totals, [1.0; 6], "one record per row, from the retry only");
}

/// MariaDB reports a deadlock found while a history `INSERT .. SELECT`
/// waits for the table's AUTO-INC lock as error 1467 ("Failed to read
/// auto-increment value from storage engine"), having rolled the victim's
/// whole transaction back. Inside the caller's transaction the write's
/// savepoint went with it, and rolling back to it failed with `SAVEPOINT
/// diesel_savepoint_1 does not exist`, hiding that the caller should retry.
#[test]
fn an_auto_increment_deadlock_victim_gets_the_retryable_error() {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    use history_diesel::{BulkOptions, HistoryContext, HistoryError, WriteWithHistory};
    use std::sync::mpsc;

    let mut conn = connect();
    create_tables(&mut conn);
    let rows: Vec<NewOrder<'_>> = (0..3).map(|_| NewOrder::new("new", 0.0)).collect();
    Order::bulk_create_with_history(
        &mut *conn,
        &rows,
        &HistoryContext::new(),
        BulkOptions::default(),
    )
    .unwrap();
    let url = database_url();

    let mut victim = MysqlConnection::establish(&url).unwrap();
    let mut blocker_thread = None;
    let outcome = victim.transaction::<usize, HistoryError, _>(|victim| {
        let _: Vec<i32> = orders::table
            .filter(orders::id.eq(3))
            .select(orders::id)
            .for_update()
            .load(victim)?;
        // The blocker weighs more (30 rows written), takes the history
        // table's AUTO-INC lock with its first row, then waits for row 3.
        let (id_sender, id) = mpsc::channel();
        let url = url.clone();
        blocker_thread = Some(std::thread::spawn(move || {
                let mut blocker = MysqlConnection::establish(&url).unwrap();
                id_sender.send(connection_id(&mut blocker)).unwrap();
                let weight: Vec<String> = (0..30)
                    .map(|_| "(2, 'w', 0, '', UTC_TIMESTAMP(6), '~')".to_owned())
                    .collect();
                blocker
                    .batch_execute(&format!(
                        "BEGIN; INSERT INTO historical_orders (id, status, total, customer_notes, history_date, history_type) VALUES {}",
                        weight.join(", ")
                    ))
                    .unwrap();
                blocker
                    .batch_execute(
                        "INSERT INTO historical_orders (id, status, total, customer_notes, history_date, history_type) \
                         SELECT id, status, total, customer_notes, UTC_TIMESTAMP(6), '~' FROM orders \
                         WHERE id IN (1, 3) ORDER BY id LOCK IN SHARE MODE",
                    )
                    .unwrap();
                blocker
        }));
        wait_for_a_lock_wait(&mut conn, id.recv().unwrap());
        Order::update_with_history(victim, orders::id.eq(3), orders::total.eq(5.0), &HistoryContext::new())
    });
    // The blocker's statement went through once the victim was rolled back;
    // closing its connection rolls its transaction back.
    drop(blocker_thread.unwrap().join().unwrap());
    assert!(
        matches!(
            &outcome,
            Err(HistoryError::Database(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info)))
                if info.message().contains("auto-increment")
        ),
        "{outcome:?}"
    );
    // Nothing of the victim's transaction is kept, and it can run again.
    let total: f64 = orders::table
        .find(3)
        .select(orders::total)
        .first(&mut *conn)
        .unwrap();
    assert_eq!(total, 0.0);
    let changed = victim
        .transaction::<usize, HistoryError, _>(|victim| {
            Order::update_with_history(
                victim,
                orders::id.eq(3),
                orders::total.eq(5.0),
                &HistoryContext::new(),
            )
        })
        .unwrap();
    assert_eq!(changed, 1);
}

/// The server's id of this connection.
fn connection_id(conn: &mut MysqlConnection) -> i64 {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    diesel::sql_query("SELECT CAST(CONNECTION_ID() AS SIGNED) AS id")
        .get_result::<Id>(conn)
        .unwrap()
        .id
}

/// Blocks until the transaction of connection `id` waits for a row lock
/// (only that one: other programs may share the server).
fn wait_for_a_lock_wait(conn: &mut MysqlConnection, id: i64) {
    #[derive(QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    for _ in 0..300 {
        let waiting: Waiting = diesel::sql_query(
            "SELECT COUNT(*) AS count FROM information_schema.INNODB_TRX \
             WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id = ?",
        )
        .bind::<BigInt, _>(id)
        .get_result(conn)
        .unwrap();
        if waiting.count > 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    #[derive(QueryableByName, Debug)]
    #[allow(dead_code)] // read by the panic message
    struct Session {
        #[diesel(sql_type = Text)]
        state: String,
    }
    let sessions: Vec<Session> = diesel::sql_query(
        "SELECT CONCAT_WS(' | ', ID, COMMAND, STATE, INFO) AS state FROM information_schema.PROCESSLIST",
    )
    .load(conn)
    .unwrap();
    panic!("connection {id} came to wait for no lock within 30 s; sessions: {sessions:#?}");
}
