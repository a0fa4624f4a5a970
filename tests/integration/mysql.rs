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

type SyncConn = MysqlConnection;
type AsyncConn = diesel_async::AsyncMysqlConnection;

/// A connection of its own, without the server lock; the tables are those
/// the last test left (`connect` drops them).
fn raw_connect() -> MysqlConnection {
    MysqlConnection::establish(&database_url()).unwrap()
}

/// An async connection on a database without tables.
async fn connect_async() -> AsyncConn {
    use diesel_async::AsyncConnection;
    drop_all_tables(&mut raw_connect());
    let url = database_url();
    AsyncConn::establish(&url)
        .await
        .unwrap_or_else(|err| panic!("MySQL at {url} is required for this suite: {err}"))
}

crate::asynchronous::async_suite!();
crate::evolution::evolution_suite!();
crate::verify::verify_suite!();

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
CREATE TABLE tickets (id INTEGER PRIMARY KEY AUTO_INCREMENT, title TEXT NOT NULL);
"#;

/// The widest types of text and binary (`TEXT` and `BLOB` stop at 64 KiB).
const LIMITS_DDL: &str = r#"
CREATE TABLE documents (id INTEGER PRIMARY KEY AUTO_INCREMENT, body LONGTEXT NOT NULL, data LONGBLOB NOT NULL);
"#;

const ORDER_HISTORY_COLUMNS: [(&str, &str); 9] = [
    ("history_id", "bigint(20)"),
    ("id", "int(11)"),
    ("status", "longtext"),
    ("total", "double"),
    ("customer_notes", "longtext"),
    ("history_date", "datetime(6)"),
    ("history_type", "char(1)"),
    ("history_user_id", "bigint(20)"),
    ("history_change_reason", "varchar(100)"),
];

const TAG_HISTORY_COLUMNS: [(&str, &str); 7] = [
    ("history_id", "binary(16)"),
    ("code", "longtext"),
    ("label", "longtext"),
    ("history_date", "datetime(6)"),
    ("history_type", "char(1)"),
    ("history_user_id", "longtext"),
    ("history_change_reason", "longtext"),
];

const TICKET_HISTORY_COLUMNS: [(&str, &str); 10] = [
    ("history_id", "bigint(20)"),
    ("id", "int(11)"),
    ("title", "longtext"),
    ("history_date", "datetime(6)"),
    ("history_type", "char(1)"),
    ("history_user_id", "bigint(20)"),
    ("history_change_reason", "varchar(100)"),
    ("history_client_ip", "varchar(45)"),
    ("history_user_agent", "varchar(512)"),
    ("history_request_id", "varchar(128)"),
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
/// Bulk create of rows without defaultable fields, per batch: `SELECT LAST_INSERT_ID(0), ..`, INSERT, SELECT back, history.
const BATCH_STATEMENTS: usize = 4;
const UPDATE_STATEMENTS: usize = 3;
/// `save_with_history`: UPDATE by key (it locks the row), history.
const SAVE_STATEMENTS: usize = 2;
const DELETE_STATEMENTS: usize = 3;

/// The tables the threads of the concurrency tests share, in a database of
/// their own (`<database>_concurrent`): the async suite empties the main
/// one without the server lock.
fn concurrent_database() -> String {
    let main = database_url();
    let (server, name) = main.rsplit_once('/').expect("a database name");
    let name = format!("{name}_concurrent");
    MysqlConnection::establish(&main)
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE IF NOT EXISTS `{name}`"))
        .unwrap();
    let url = format!("{server}/{name}");
    let mut conn = MysqlConnection::establish(&url).unwrap();
    drop_all_tables(&mut conn);
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
    use history_diesel::{HistoryContext, HistoryError, WriteWithHistory};
    use std::sync::mpsc;
    use std::time::Duration;

    let mut conn = connect();
    create_tables(&mut conn);
    create_orders(&mut conn, 20);

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
                Order::update_where_with_history(
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
    use history_diesel::{HistoryContext, HistoryError, WriteWithHistory};
    use std::sync::mpsc;

    let mut conn = connect();
    create_tables(&mut conn);
    create_orders(&mut conn, 3);
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
        Order::update_where_with_history(victim, orders::id.eq(3), orders::total.eq(5.0), &HistoryContext::new())
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
            Order::update_where_with_history(
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

diesel::table! {
    books (isbn) {
        isbn -> Text,
        title -> Text,
    }
}

/// A text key the caller chooses: MySQL generates nothing to read back by.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, HistoricalRecords)]
#[diesel(table_name = books, primary_key(isbn))]
pub struct Book {
    pub isbn: String,
    pub title: String,
}

diesel::table! {
    reviews (order_id) {
        order_id -> Integer,
        body -> Text,
    }
}

/// An integer key that is a foreign key, without AUTO_INCREMENT.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, HistoricalRecords)]
#[diesel(table_name = reviews, primary_key(order_id))]
pub struct Review {
    pub order_id: i32,
    pub body: String,
}

/// An order whose key is bound when given, else left to AUTO_INCREMENT.
#[derive(Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrderMaybeWithId<'a> {
    pub id: Option<i32>,
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
}

const KEYS_DDL: &str = r#"
CREATE TABLE books (isbn VARCHAR(32) PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE reviews (order_id INTEGER PRIMARY KEY, body TEXT NOT NULL, FOREIGN KEY (order_id) REFERENCES orders (id));
"#;

fn create_key_tables(conn: &mut Conn) {
    create_tables(conn);
    conn.batch_execute(KEYS_DDL).unwrap();
    for spec in [Book::HISTORY_TABLE, Review::HISTORY_TABLE] {
        conn.batch_execute(&spec.up_sql(DIALECT)).unwrap();
    }
}

/// `(key, kind)` of every record of a table, by key then history id.
fn keys_and_kinds<K: Ord>(records: impl IntoIterator<Item = (K, HistoryType)>) -> Vec<(K, String)> {
    let mut seen: Vec<(K, String)> = records
        .into_iter()
        .map(|(key, kind)| (key, kind.as_str().to_owned()))
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    seen
}

#[test]
fn text_keys_create_and_read_back_only_their_own_rows() {
    use history_diesel::{BulkOptions, HistoryContext, WriteWithHistory};
    let mut conn = connect();
    create_key_tables(&mut conn);
    // A string compared with a number is a number to MySQL: `old-key` is 0.
    conn.batch_execute("INSERT INTO books VALUES ('old-key', 'Old')")
        .unwrap();
    let book = |isbn: &str| Book {
        isbn: isbn.into(),
        title: format!("Title {isbn}"),
    };
    let ctx = HistoryContext::new();

    let created = Book::create_with_history(&mut *conn, book("5-new"), &ctx).unwrap();
    assert_eq!(created, book("5-new"));
    let many = [book("9-b"), book("0-a"), book("old-2")];
    let bulk =
        Book::bulk_create_with_history(&mut *conn, &many, &ctx, BulkOptions::default()).unwrap();
    assert_eq!(bulk, many, "the rows as stored, in input order");

    let records: Vec<HistoricalBook> = historical_books::table
        .select(HistoricalBook::as_select())
        .load(&mut *conn)
        .unwrap();
    assert_eq!(
        keys_and_kinds(records.iter().map(|r| (r.isbn.clone(), r.history_type))),
        [
            ("0-a".to_owned(), "+".to_owned()),
            ("5-new".to_owned(), "+".to_owned()),
            ("9-b".to_owned(), "+".to_owned()),
            ("old-2".to_owned(), "+".to_owned()),
        ]
    );
    assert!(records
        .iter()
        .all(|r| r.title == format!("Title {}", r.isbn)));
}

#[test]
fn explicit_integer_keys_create_on_a_table_without_auto_increment() {
    use history_diesel::{BulkOptions, HistoryContext, WriteWithHistory};
    let mut conn = connect();
    create_key_tables(&mut conn);
    let ctx = HistoryContext::new();
    let orders: Vec<NewOrder<'_>> = (0..3).map(|_| NewOrder::new("new", 1.0)).collect();
    Order::bulk_create_with_history(&mut *conn, &orders, &ctx, BulkOptions::default()).unwrap();
    let review = |order_id: i32| Review {
        order_id,
        body: format!("review of {order_id}"),
    };

    assert_eq!(
        Review::create_with_history(&mut *conn, review(2), &ctx).unwrap(),
        review(2)
    );
    let many = [review(3), review(1)];
    let seen = count_statements(&mut conn);
    let bulk =
        Review::bulk_create_with_history(&mut *conn, &many, &ctx, BulkOptions::default()).unwrap();
    assert_eq!(bulk, many);
    // Bound keys need no AUTO_INCREMENT reset: INSERT, SELECT back, history.
    assert_eq!(seen.lock().unwrap().len(), 3, "{:?}", seen.lock().unwrap());

    let records: Vec<HistoricalReview> = historical_reviews::table
        .select(HistoricalReview::as_select())
        .load(&mut *conn)
        .unwrap();
    assert_eq!(
        keys_and_kinds(records.iter().map(|r| (r.order_id, r.history_type))),
        [
            (1, "+".to_owned()),
            (2, "+".to_owned()),
            (3, "+".to_owned())
        ]
    );
    assert!(records
        .iter()
        .all(|r| r.body == format!("review of {}", r.order_id)));
}

#[test]
fn a_deleted_id_is_created_again_on_an_auto_increment_table() {
    use history_diesel::{HistoryContext, WriteWithHistory};
    let mut conn = connect();
    create_tables(&mut conn);
    let ctx = HistoryContext::new();
    let first = Order::create_with_history(&mut *conn, &NewOrder::new("first", 1.0), &ctx).unwrap();
    Order::create_with_history(&mut *conn, &NewOrder::new("second", 2.0), &ctx).unwrap();
    first.delete_with_history(&mut *conn, &ctx).unwrap();

    let again = Order {
        status: "again".into(),
        ..first.clone()
    };
    assert_eq!(
        Order::create_with_history(&mut *conn, &again, &ctx).unwrap(),
        again
    );
    let records: Vec<HistoricalOrder> = historical_orders::table
        .filter(historical_orders::id.eq(first.id))
        .order(historical_orders::history_id)
        .select(HistoricalOrder::as_select())
        .load(&mut *conn)
        .unwrap();
    let seen: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.history_type.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(seen, [("+", "first"), ("-", "first"), ("+", "again")]);
}

#[test]
fn bulk_create_reads_back_its_rows_when_auto_increment_steps_by_two() {
    use history_diesel::{BulkOptions, HistoryContext, WriteWithHistory};
    let mut conn = connect();
    create_tables(&mut conn);
    conn.batch_execute("SET SESSION auto_increment_increment = 2")
        .unwrap();
    let ctx = HistoryContext::new();
    let one = Order::create_with_history(&mut *conn, &NewOrder::new("one", 1.0), &ctx).unwrap();
    // Another writer's row with a key between the steps to come.
    conn.batch_execute(
        "INSERT INTO orders (id, status, total, customer_notes, internal_notes) VALUES (6, 'other', 0, '', '')",
    )
    .unwrap();
    let rows = [
        NewOrder::new("a", 1.0),
        NewOrder::new("b", 2.0),
        NewOrder::new("c", 3.0),
    ];
    let bulk =
        Order::bulk_create_with_history(&mut *conn, &rows, &ctx, BulkOptions::default()).unwrap();
    let created: Vec<(i32, &str)> = bulk.iter().map(|o| (o.id, o.status.as_str())).collect();
    assert_eq!(created, [(7, "a"), (9, "b"), (11, "c")]);

    let records: Vec<HistoricalOrder> = historical_orders::table
        .order(historical_orders::history_id)
        .select(HistoricalOrder::as_select())
        .load(&mut *conn)
        .unwrap();
    let recorded: Vec<(i32, &str)> = records.iter().map(|r| (r.id, r.status.as_str())).collect();
    assert_eq!(recorded, [(one.id, "one"), (7, "a"), (9, "b"), (11, "c")]);
}

#[test]
fn keys_the_read_back_cannot_know_are_refused_before_anything_is_written() {
    use diesel::dsl::sql;
    use history_diesel::{BulkOptions, HistoryContext, HistoryError, WriteWithHistory};
    let mut conn = connect();
    create_tables(&mut conn);
    let ctx = HistoryContext::new();
    let maybe = |id| NewOrderMaybeWithId {
        id,
        status: "new",
        total: 1.0,
        customer_notes: "",
        internal_notes: "",
    };
    // Bound and generated keys in one statement: the generated ones need
    // not be consecutive.
    let mixed = [maybe(Some(50)), maybe(None)];
    let err = Order::bulk_create_with_history(&mut *conn, &mixed, &ctx, BulkOptions::default())
        .unwrap_err();
    assert!(matches!(err, HistoryError::UnknownKeys { .. }), "{err:?}");
    // A key computed by the database.
    let computed = (
        orders::id.eq(sql::<diesel::sql_types::Integer>("40 + 2")),
        orders::status.eq("new"),
        orders::total.eq(1.0),
        orders::customer_notes.eq(""),
        orders::internal_notes.eq(""),
    );
    let err = Order::create_with_history(&mut *conn, computed, &ctx).unwrap_err();
    assert!(matches!(err, HistoryError::UnknownKeys { .. }), "{err:?}");

    let count: i64 = orders::table.count().get_result(&mut *conn).unwrap();
    let records: i64 = historical_orders::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!((count, records), (0, 0));
}

diesel::table! {
    long_keys (code) {
        code -> Text,
        label -> Text,
    }
}

/// A text key and a text user id longer than 255 characters.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, HistoricalRecords)]
#[diesel(table_name = long_keys, primary_key(code))]
#[history(user_id_type = String)]
pub struct LongKey {
    pub code: String,
    pub label: String,
}

#[test]
fn keys_and_user_ids_longer_than_255_characters_reach_history_whole() {
    use history_diesel::{HistoryContext, ReadHistory, WriteWithHistory};
    let mut conn = connect();
    conn.batch_execute(
        "CREATE TABLE long_keys (code VARCHAR(600) PRIMARY KEY, label TEXT NOT NULL)",
    )
    .unwrap();
    conn.batch_execute(&LongKey::HISTORY_TABLE.up_sql(DIALECT))
        .unwrap();
    // Outside strict mode MySQL cuts a value too long for its column and
    // only warns: the history would lose the object's key.
    conn.batch_execute("SET SESSION sql_mode = ''").unwrap();
    let (code, user) = ("k".repeat(600), "u".repeat(300));
    let row = LongKey {
        code: code.clone(),
        label: "long".into(),
    };
    let ctx = HistoryContext::new().user(user.clone());
    LongKey::create_with_history(&mut *conn, row.clone(), &ctx).unwrap();

    let records: Vec<HistoricalLongKey> =
        LongKey::history_of(code.clone()).load(&mut *conn).unwrap();
    let seen: Vec<(usize, Option<usize>)> = records
        .iter()
        .map(|r| (r.code.len(), r.history_user_id.as_ref().map(String::len)))
        .collect();
    assert_eq!(seen, [(600, Some(300))]);
    assert_eq!(
        LongKey::as_of(&mut *conn, &code, chrono::Utc::now()).unwrap(),
        row
    );
}

diesel::table! {
    codes (code) {
        code -> Text,
    }
}

/// Nothing but a bound key: a batch carries one bind per row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, HistoricalRecords)]
#[diesel(table_name = codes, primary_key(code))]
pub struct Code {
    pub code: String,
}

#[test]
fn a_batch_of_bound_keys_reads_back_as_many_rows_as_one_statement_binds() {
    use history_diesel::{BulkOptions, HistoryContext, WriteWithHistory};
    let mut conn = connect();
    conn.batch_execute("CREATE TABLE codes (code VARCHAR(16) PRIMARY KEY)")
        .unwrap();
    conn.batch_execute(&Code::HISTORY_TABLE.up_sql(DIALECT))
        .unwrap();
    // More rows than half the 65,535 binds of a statement, in one batch.
    let rows: Vec<Code> = (0..40_000)
        .rev()
        .map(|i| Code {
            code: format!("c{i:05}"),
        })
        .collect();
    let options = BulkOptions { batch_size: 40_000 };
    let created =
        Code::bulk_create_with_history(&mut *conn, &rows, &HistoryContext::new(), options).unwrap();
    assert_eq!(created, rows, "every row, in input order");
    let records: i64 = historical_codes::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    assert_eq!(records, 40_000);
}

/// A server in `innodb_autoinc_lock_mode = 2` (interleaved), MySQL 8's
/// default, which `.ci/run` starts beside the main one:
/// `MYSQL_INTERLEAVED_URL`, by default port 3307.
fn interleaved_url() -> String {
    std::env::var("MYSQL_INTERLEAVED_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3307/history_test".to_owned())
}

/// Under interleaved AUTO_INCREMENT the values of one multi-row insert need
/// not be consecutive, so bulk create inserts generated keys one row per
/// statement; writers running at once each get back exactly their own rows.
#[test]
fn bulk_create_under_interleaved_auto_increment_reads_back_each_writers_own_rows() {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    use history_diesel::{BulkOptions, HistoryContext, HistoryError, WriteWithHistory};
    const WRITERS: usize = 4;
    const ROWS: usize = 60;

    let url = interleaved_url();
    let mut conn = MysqlConnection::establish(&url).unwrap_or_else(|err| {
        panic!("a MariaDB/MySQL server with innodb_autoinc_lock_mode = 2 is required at {url} (see .ci/run): {err}")
    });
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = BigInt)]
        mode: i64,
    }
    let mode: Mode = diesel::sql_query("SELECT CAST(@@innodb_autoinc_lock_mode AS SIGNED) AS mode")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(mode.mode, 2, "{url} must run innodb_autoinc_lock_mode = 2");
    drop_all_tables(&mut conn);
    create_tables(&mut TestConn::unlocked(
        MysqlConnection::establish(&url).unwrap(),
    ));

    let created: Vec<Vec<Order>> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let url = &url;
                scope.spawn(move || {
                    let mut conn = MysqlConnection::establish(url).unwrap();
                    let status = format!("writer {writer}");
                    let rows: Vec<NewOrder<'_>> = (0..ROWS)
                        .map(|i| NewOrder::new(&status, i as f64))
                        .collect();
                    // Writers at once may deadlock (InnoDB's locks under
                    // REPEATABLE READ); a victim retries, as documented.
                    loop {
                        match Order::bulk_create_with_history(
                            &mut conn,
                            &rows,
                            &HistoryContext::new().user(writer as i64),
                            BulkOptions { batch_size: 20 },
                        ) {
                            Err(HistoryError::Database(DieselError::DatabaseError(
                                DatabaseErrorKind::SerializationFailure,
                                _,
                            ))) => continue,
                            other => break other,
                        }
                    }
                })
            })
            .collect();
        writers
            .into_iter()
            .map(|w| w.join().unwrap().unwrap())
            .collect()
    });
    for (writer, orders) in created.iter().enumerate() {
        let status = format!("writer {writer}");
        let totals: Vec<f64> = orders.iter().map(|o| o.total).collect();
        assert_eq!(
            totals,
            (0..ROWS).map(|i| i as f64).collect::<Vec<_>>(),
            "{status}"
        );
        assert!(
            orders.iter().all(|o| o.status == status),
            "{status} got another's rows"
        );
        let stored: Vec<(i32, f64)> = orders::table
            .filter(orders::status.eq(&status))
            .order(orders::total)
            .select((orders::id, orders::total))
            .load(&mut conn)
            .unwrap();
        let returned: Vec<(i32, f64)> = orders.iter().map(|o| (o.id, o.total)).collect();
        assert_eq!(
            returned, stored,
            "{status}: the rows returned are the rows stored"
        );
        let recorded: Vec<i32> = historical_orders::table
            .filter(historical_orders::history_user_id.eq(writer as i64))
            .order(historical_orders::total)
            .select(historical_orders::id)
            .load(&mut conn)
            .unwrap();
        assert_eq!(
            recorded,
            stored.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            "{status}: one '+' per own row"
        );
    }
    drop_all_tables(&mut conn);
}

/// A database of its own for the trigger-capture tests
/// (`<database>_capture`), whose transactions commit; the tests take turns.
fn capture_database() -> String {
    let main = database_url();
    let (server, name) = main.rsplit_once('/').expect("a database name");
    let name = format!("{name}_capture");
    MysqlConnection::establish(&main)
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE IF NOT EXISTS `{name}`"))
        .unwrap();
    let url = format!("{server}/{name}");
    MysqlConnection::establish(&url)
        .unwrap()
        .batch_execute(
            "DROP TABLE IF EXISTS accounts, vaults, historical_accounts, historical_vaults",
        )
        .unwrap();
    url
}

const CAPTURE_DDL: &str = r#"
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTO_INCREMENT,
    owner VARCHAR(100) NOT NULL,
    balance BIGINT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE vaults (id INTEGER PRIMARY KEY AUTO_INCREMENT, secret TEXT NOT NULL);
"#;

/// A trigger-captured create: the context with `LAST_INSERT_ID()` reset,
/// the insert, the read-back by `LAST_INSERT_ID()`, the context cleared.
const TRIGGER_CREATE_SENDS: &[&str] = &[
    "@history_insert_id = LAST_INSERT_ID(0)",
    "INSERT INTO `accounts`",
    "LAST_INSERT_ID()",
    "@history_user_id = NULL",
];

crate::triggers::trigger_suite!();
