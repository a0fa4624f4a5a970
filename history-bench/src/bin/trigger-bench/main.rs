//! trigger-bench: the write workloads W1–W3 of history-bench for both
//! capture modes side by side, in one run, against plain Diesel and the
//! in-database floors. See `--help`.

mod model;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use history_diesel::prelude::*;
use history_diesel::{with_context, BulkOptions, Dialect, HistoricalRecords, HistoryError};

use crate::model::*;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const HELP: &str = "\
trigger-bench: single create (W1), single update (W2) and bulk create (W3)
through both capture modes, against plain Diesel and the floors in the
database, in one run

USAGE:
    cargo run --release -p history-bench --features postgres,mysql \\
        --bin trigger-bench -- [OPTIONS]

Systems, each on a table of its own with the same columns and (for history)
the library's own index set:
    plain     plain Diesel, no history (the ratio's base)
    floor     plain Diesel on a table with a hand-written row trigger that
              copies NEW/OLD with constant user and reason: the least a
              trigger costs
    trigger   #[history(capture = trigger)] through the write helpers
    trig-raw  (W3) trigger capture through with_context + plain Diesel
    client    #[history(capture = client)] (the default) through the helpers
    client-keys (W3) client capture, bulk_create_keys_with_history: the
              rows' keys come back instead of the rows
    unnest    (W3, PostgreSQL) one statement: INSERT .. SELECT FROM unnest of
              array binds RETURNING, feeding the history INSERT: client
              capture's floor
W1 and W2 return what the helpers return (the row as stored for W1): plain
Diesel reads the row back too (RETURNING, or LAST_INSERT_ID() on MySQL).
W3 inserts batches of 500 rows; the helpers return the rows (client-keys
their keys), plain Diesel, trig-raw and unnest do not. Each operation (W1, W2) or batch (W3) is timed alone;
the systems take turns in chunks of 20, the first one changing every chunk.
Reported: the median and the ratio to plain.

OPTIONS:
    --backend LIST      sqlite, postgres, mysql, comma-separated   [sqlite]
    --ops N             operations per system for W1 and W2       [2000]
    --batches N         batches per system for W3                 [200]
    -h, --help          this text

ENVIRONMENT:
    BENCH_PG_URL        [postgres://postgres@127.0.0.1:5432/history_bench]
    BENCH_MYSQL_URL     [mysql://root@127.0.0.1:3306/history_bench]
    SQLite uses trigger-bench.sqlite3 in the temp directory (deleted first),
    with its default journal and synchronous settings.
";

const CHUNK: usize = 20;
const BATCH: usize = 500;

struct Config {
    backends: Vec<String>,
    ops: usize,
    batches: usize,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Option<Config>, String> {
    let mut config = Config {
        backends: vec!["sqlite".to_owned()],
        ops: 2000,
        batches: 200,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--backend" => {
                config.backends = value("--backend")?.split(',').map(str::to_owned).collect()
            }
            "--ops" => config.ops = value("--ops")?.parse().map_err(|e| format!("--ops: {e}"))?,
            "--batches" => {
                config.batches = value("--batches")?
                    .parse()
                    .map_err(|e| format!("--batches: {e}"))?
            }
            other => return Err(format!("unknown option `{other}`; see --help")),
        }
    }
    if config.ops < CHUNK || config.batches < 2 {
        return Err(format!(
            "--ops must be at least {CHUNK}, --batches at least 2"
        ));
    }
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
            eprintln!("trigger-bench: {message}");
            return ExitCode::from(2);
        }
    };
    for backend in &config.backends {
        let outcome = match backend.as_str() {
            "sqlite" => sqlite::run(&config),
            #[cfg(feature = "postgres")]
            "postgres" => postgres::run(&config),
            #[cfg(feature = "mysql")]
            "mysql" => mysql::run(&config),
            other => Err(format!("backend `{other}` is unknown or not built in").into()),
        };
        if let Err(err) = outcome {
            eprintln!("trigger-bench: {backend}: {err}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// One system's operation: the connection and the operation's index.
type Op<'a, C> = dyn FnMut(&mut C, usize) -> Result<()> + 'a;

/// The times of one system in one workload.
#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn median(&self) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        sorted[sorted.len() / 2]
    }
}

/// Runs `systems` in turns: chunks of `CHUNK` operations, the first system
/// of each chunk rotating, each operation timed alone.
fn take_turns<C>(
    conn: &mut C,
    ops: usize,
    systems: &mut [(&str, &mut Op<'_, C>)],
) -> Result<Vec<(String, Samples)>> {
    let mut samples: Vec<Samples> = systems.iter().map(|_| Samples::default()).collect();
    let count = systems.len();
    for (round, start) in (0..ops).step_by(CHUNK).enumerate() {
        for turn in 0..count {
            let which = (turn + round) % count;
            let op = &mut systems[which].1;
            for i in start..(start + CHUNK).min(ops) {
                let began = Instant::now();
                op(conn, i)?;
                samples[which].0.push(began.elapsed());
            }
        }
    }
    Ok(systems
        .iter()
        .zip(samples)
        .map(|((name, _), samples)| ((*name).to_owned(), samples))
        .collect())
}

fn report(backend: &str, workload: &str, results: &[(String, Samples)]) {
    let plain = results[0].1.median().as_secs_f64();
    let mut line = format!("{backend:<9} {workload:<18}");
    for (name, samples) in results {
        let median = samples.median().as_secs_f64();
        line.push_str(&format!(
            " | {name} {:.3} ms {:.2}x",
            median * 1e3,
            median / plain
        ));
    }
    println!("{line}");
}

fn check(what: &str, found: i64, expected: i64) -> Result<()> {
    if found == expected {
        Ok(())
    } else {
        Err(format!("{what}: {found} rows, expected {expected}").into())
    }
}

/// `ClientOrder`'s history table as a plain table of another name: the
/// floors' history, with the library's own columns and index set.
fn floor_history_ddl(dialect: Dialect, name: &str) -> String {
    ClientOrder::history_migration(dialect)
        .up
        .replace("historical_client_orders", name)
}

/// The hand-written row trigger of `floor_orders`, per backend.
fn floor_triggers(dialect: Dialect) -> String {
    let columns = "id, status, total, note, history_date, history_type, history_user_id, history_change_reason";
    let values = |row: &str, kind: char, clock: &str| {
        format!(
            "{row}.id, {row}.status, {row}.total, {row}.note, {clock}, '{kind}', 42, 'benchmark'"
        )
    };
    match dialect {
        Dialect::Sqlite => {
            let clock = "strftime('%Y-%m-%d %H:%M:%f', 'now')";
            [
                ("INSERT", "NEW", '+'),
                ("UPDATE", "NEW", '~'),
                ("DELETE", "OLD", '-'),
            ]
            .iter()
            .map(|(event, row, kind)| {
                format!(
                    "CREATE TRIGGER floor_{} AFTER {event} ON floor_orders BEGIN \
                         INSERT INTO floor_history ({columns}) VALUES ({}); END;\n",
                    event.to_lowercase(),
                    values(row, *kind, clock)
                )
            })
            .collect()
        }
        Dialect::Mysql => {
            let clock = "UTC_TIMESTAMP(6)";
            [
                ("INSERT", "NEW", '+'),
                ("UPDATE", "NEW", '~'),
                ("DELETE", "OLD", '-'),
            ]
            .iter()
            .map(|(event, row, kind)| {
                format!(
                    "CREATE TRIGGER floor_{} AFTER {event} ON floor_orders FOR EACH ROW \
                         INSERT INTO floor_history ({columns}) VALUES ({});\n",
                    event.to_lowercase(),
                    values(row, *kind, clock)
                )
            })
            .collect()
        }
        Dialect::Postgres => {
            let clock = "clock_timestamp() AT TIME ZONE 'UTC'";
            format!(
                "CREATE OR REPLACE FUNCTION floor_capture() RETURNS trigger LANGUAGE plpgsql AS $floor$\n\
                 BEGIN\n\
                 IF TG_OP = 'DELETE' THEN INSERT INTO floor_history ({columns}) VALUES ({});\n\
                 ELSIF TG_OP = 'UPDATE' THEN INSERT INTO floor_history ({columns}) VALUES ({});\n\
                 ELSE INSERT INTO floor_history ({columns}) VALUES ({}); END IF;\n\
                 RETURN NULL;\nEND\n$floor$;\n\
                 CREATE TRIGGER floor_capture AFTER INSERT OR UPDATE OR DELETE ON floor_orders \
                 FOR EACH ROW EXECUTE FUNCTION floor_capture();\n",
                values("OLD", '-', clock),
                values("NEW", '~', clock),
                values("NEW", '+', clock),
            )
        }
    }
}

/// Every table of the run, dropped and created again.
fn schema(dialect: Dialect, key: &str, double: &str) -> String {
    let tables = [
        "plain_orders",
        "floor_orders",
        "client_orders",
        "trigger_orders",
        "cte_orders",
        "floor_history",
        "cte_history",
        "historical_client_orders",
        "historical_trigger_orders",
    ];
    let mut sql = String::new();
    for table in tables {
        sql.push_str(&format!("DROP TABLE IF EXISTS {table};\n"));
    }
    for table in &tables[..5] {
        sql.push_str(&format!(
            "CREATE TABLE {table} (id {key}, status VARCHAR(50) NOT NULL, total {double} NOT NULL, \
             note TEXT NOT NULL);\n"
        ));
    }
    sql.push_str(&floor_history_ddl(dialect, "floor_history"));
    sql.push_str(&floor_history_ddl(dialect, "cte_history"));
    sql.push_str(&ClientOrder::history_migration(dialect).up);
    sql.push_str(&TriggerOrder::history_migration(dialect).up);
    sql.push_str(&floor_triggers(dialect));
    sql
}

fn ctx() -> HistoryContext<i64> {
    HistoryContext::new().user(42).reason("benchmark")
}

/// The benchmark for one backend's connection type: `$read_back` is how
/// plain Diesel inserts one row and gets it back there.
macro_rules! backend {
    ($module:ident, $conn:ty, $dialect:expr, $key:expr, $double:expr, $open:expr, $read_back:ident, $unnest:path) => {
        mod $module {
            use super::*;

            type Conn = $conn;

            pub fn run(config: &Config) -> Result<()> {
                let dialect: Dialect = $dialect;
                let mut conn: Conn = $open?;
                conn.batch_execute(&schema(dialect, $key, $double))?;
                let name = dialect.name();
                let ctx = ctx();
                let n = config.ops;
                let note = "x".repeat(64);

                // W1: create one row, get it back.
                let mut plain_w1 = |c: &mut Conn, i: usize| -> Result<()> {
                    let new = NewPlain::nth(i, &note);
                    $read_back!(c, plain_orders, new, PlainOrder);
                    Ok(())
                };
                let mut floor_w1 = |c: &mut Conn, i: usize| -> Result<()> {
                    let new = NewFloor::nth(i, &note);
                    $read_back!(c, floor_orders, new, FloorOrder);
                    Ok(())
                };
                let mut trigger_w1 = |c: &mut Conn, i: usize| -> Result<()> {
                    let new = NewTrigger::nth(i, &note);
                    TriggerOrder::create_with_history(c, new, &ctx)?;
                    Ok(())
                };
                let mut client_w1 = |c: &mut Conn, i: usize| -> Result<()> {
                    let new = NewClient::nth(i, &note);
                    ClientOrder::create_with_history(c, new, &ctx)?;
                    Ok(())
                };
                let results = take_turns(
                    &mut conn,
                    n,
                    &mut [
                        ("plain", &mut plain_w1),
                        ("floor", &mut floor_w1),
                        ("trigger", &mut trigger_w1),
                        ("client", &mut client_w1),
                    ],
                )?;
                report(name, "W1 single create", &results);
                let count = |c: &mut Conn, table: &str| -> Result<i64> {
                    #[derive(QueryableByName)]
                    struct Count {
                        #[diesel(sql_type = diesel::sql_types::BigInt)]
                        n: i64,
                    }
                    let rows: Vec<Count> =
                        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).load(c)?;
                    Ok(rows[0].n)
                };
                for table in [
                    "floor_history",
                    "historical_trigger_orders",
                    "historical_client_orders",
                ] {
                    check(table, count(&mut conn, table)?, n as i64)?;
                }

                // W2: update one row by key.
                let mut plain_w2 = |c: &mut Conn, i: usize| -> Result<()> {
                    let row = PlainOrder::changed(i, n, &note);
                    diesel::update(plain_orders::table.find(row.id))
                        .set(&row)
                        .execute(c)?;
                    Ok(())
                };
                let mut floor_w2 = |c: &mut Conn, i: usize| -> Result<()> {
                    let row = FloorOrder::changed(i, n, &note);
                    diesel::update(floor_orders::table.find(row.id))
                        .set(&row)
                        .execute(c)?;
                    Ok(())
                };
                let mut trigger_w2 = |c: &mut Conn, i: usize| -> Result<()> {
                    let row = TriggerOrder::changed(i, n, &note);
                    row.save_with_history(c, &ctx)?;
                    Ok(())
                };
                let mut client_w2 = |c: &mut Conn, i: usize| -> Result<()> {
                    let row = ClientOrder::changed(i, n, &note);
                    row.save_with_history(c, &ctx)?;
                    Ok(())
                };
                let results = take_turns(
                    &mut conn,
                    n,
                    &mut [
                        ("plain", &mut plain_w2),
                        ("floor", &mut floor_w2),
                        ("trigger", &mut trigger_w2),
                        ("client", &mut client_w2),
                    ],
                )?;
                report(name, "W2 single update", &results);
                for table in [
                    "floor_history",
                    "historical_trigger_orders",
                    "historical_client_orders",
                ] {
                    check(table, count(&mut conn, table)?, 2 * n as i64)?;
                }

                // W3: batches of 500 rows.
                let batches = config.batches;
                let plain_rows: Vec<NewPlain<'_>> =
                    (0..BATCH).map(|i| NewPlain::nth(i, &note)).collect();
                let floor_rows: Vec<NewFloor<'_>> =
                    (0..BATCH).map(|i| NewFloor::nth(i, &note)).collect();
                let trigger_rows: Vec<NewTrigger<'_>> =
                    (0..BATCH).map(|i| NewTrigger::nth(i, &note)).collect();
                let client_rows: Vec<NewClient<'_>> =
                    (0..BATCH).map(|i| NewClient::nth(i, &note)).collect();
                let mut plain_w3 = |c: &mut Conn, _: usize| -> Result<()> {
                    diesel::insert_into(plain_orders::table)
                        .values(&plain_rows)
                        .execute(c)?;
                    Ok(())
                };
                let mut floor_w3 = |c: &mut Conn, _: usize| -> Result<()> {
                    diesel::insert_into(floor_orders::table)
                        .values(&floor_rows)
                        .execute(c)?;
                    Ok(())
                };
                let mut trigger_w3 = |c: &mut Conn, _: usize| -> Result<()> {
                    TriggerOrder::bulk_create_with_history(
                        c,
                        &trigger_rows,
                        &ctx,
                        BulkOptions { batch_size: BATCH },
                    )?;
                    Ok(())
                };
                let mut raw_w3 = |c: &mut Conn, _: usize| -> Result<()> {
                    with_context(c, &ctx, |c| {
                        diesel::insert_into(trigger_orders::table)
                            .values(&trigger_rows)
                            .execute(c)?;
                        Ok::<_, HistoryError>(())
                    })?;
                    Ok(())
                };
                let mut client_w3 = |c: &mut Conn, _: usize| -> Result<()> {
                    ClientOrder::bulk_create_with_history(
                        c,
                        &client_rows,
                        &ctx,
                        BulkOptions { batch_size: BATCH },
                    )?;
                    Ok(())
                };
                let mut keys_w3 = |c: &mut Conn, _: usize| -> Result<()> {
                    let keys = ClientOrder::bulk_create_keys_with_history(
                        c,
                        &client_rows,
                        &ctx,
                        BulkOptions { batch_size: BATCH },
                    )?;
                    check("client-keys keys", keys.len() as i64, BATCH as i64)?;
                    Ok(())
                };
                let mut systems: Vec<(&str, &mut Op<'_, Conn>)> = vec![
                    ("plain", &mut plain_w3),
                    ("floor", &mut floor_w3),
                    ("trigger", &mut trigger_w3),
                    ("trig-raw", &mut raw_w3),
                    ("client", &mut client_w3),
                    ("client-keys", &mut keys_w3),
                ];
                let statuses: Vec<&str> = plain_rows.iter().map(|row| row.status).collect();
                let mut unnest_w3 = $unnest(&statuses, &note);
                if let Some(unnest) = unnest_w3.as_mut() {
                    systems.push(("unnest", unnest));
                }
                let results = take_turns(&mut conn, batches, &mut systems)?;
                report(name, "W3 bulk create 500", &results);
                let rows = (batches * BATCH) as i64;
                check(
                    "floor_history",
                    count(&mut conn, "floor_history")?,
                    2 * n as i64 + rows,
                )?;
                check(
                    "historical_trigger_orders",
                    count(&mut conn, "historical_trigger_orders")?,
                    2 * n as i64 + 2 * rows,
                )?;
                check(
                    "historical_client_orders",
                    count(&mut conn, "historical_client_orders")?,
                    2 * n as i64 + 2 * rows,
                )?;
                Ok(())
            }
        }
    };
}

/// Inserts one row and reads it back with `RETURNING`.
macro_rules! returning {
    ($c:expr, $table:ident, $new:expr, $row:ty) => {
        diesel::insert_into($table::table)
            .values($new)
            .returning(<$row>::as_returning())
            .get_result::<$row>($c)?
    };
}

/// MySQL: insert, then read the row back by `LAST_INSERT_ID()`.
#[cfg(feature = "mysql")]
macro_rules! last_insert_id {
    ($c:expr, $table:ident, $new:expr, $row:ty) => {{
        diesel::insert_into($table::table)
            .values($new)
            .execute($c)?;
        $table::table
            .filter(
                $table::id.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
                    "LAST_INSERT_ID()",
                )),
            )
            .select(<$row>::as_select())
            .get_result::<$row>($c)?
    }};
}

fn sqlite_open() -> Result<diesel::SqliteConnection> {
    let path = std::env::temp_dir().join("trigger-bench.sqlite3");
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(&file);
    }
    Ok(diesel::SqliteConnection::establish(
        path.to_str().ok_or("temp dir is not UTF-8")?,
    )?)
}

/// The unnest floor exists on PostgreSQL only.
fn no_unnest<'a, C>(_: &'a [&'a str], _: &'a str) -> Option<Box<Op<'a, C>>> {
    None
}

backend!(
    sqlite,
    diesel::SqliteConnection,
    Dialect::Sqlite,
    "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL",
    "DOUBLE PRECISION",
    sqlite_open(),
    returning,
    no_unnest
);

#[cfg(feature = "postgres")]
fn pg_open() -> Result<diesel::PgConnection> {
    let url = std::env::var("BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/history_bench".to_owned());
    let (base, name) = url
        .rsplit_once('/')
        .ok_or("BENCH_PG_URL names no database")?;
    let mut admin = diesel::PgConnection::establish(&format!("{base}/postgres"))?;
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let found: Found =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(&mut admin)?;
    if !found.found {
        admin.batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
    }
    Ok(diesel::PgConnection::establish(&url)?)
}

/// Client capture's floor on PostgreSQL: one statement per batch, its rows
/// bound as one array per column (one prepared statement for every batch
/// size), the insert's `RETURNING` feeding the history insert.
#[cfg(feature = "postgres")]
fn pg_unnest<'a>(
    statuses: &'a [&'a str],
    note: &'a str,
) -> Option<Box<Op<'a, diesel::PgConnection>>> {
    use diesel::sql_types::{Array, Double, Text};
    let totals: Vec<f64> = (0..statuses.len()).map(|i| i as f64).collect();
    let notes: Vec<&str> = statuses.iter().map(|_| note).collect();
    Some(Box::new(move |c: &mut diesel::PgConnection, _| {
        diesel::sql_query(
            "WITH ins AS (INSERT INTO cte_orders (status, total, note) \
             SELECT * FROM unnest($1::text[], $2::float8[], $3::text[]) \
             RETURNING id, status, total, note) \
             INSERT INTO cte_history (id, status, total, note, history_date, history_type, \
             history_user_id, history_change_reason) \
             SELECT id, status, total, note, clock_timestamp() AT TIME ZONE 'UTC', '+', $4, $5 FROM ins",
        )
        .bind::<Array<Text>, _>(statuses)
        .bind::<Array<Double>, _>(&totals)
        .bind::<Array<Text>, _>(&notes)
        .bind::<diesel::sql_types::BigInt, _>(42_i64)
        .bind::<Text, _>("benchmark")
        .execute(c)?;
        Ok(())
    }))
}

#[cfg(feature = "postgres")]
backend!(
    postgres,
    diesel::PgConnection,
    Dialect::Postgres,
    "SERIAL PRIMARY KEY",
    "DOUBLE PRECISION",
    pg_open(),
    returning,
    pg_unnest
);

#[cfg(feature = "mysql")]
fn mysql_open() -> Result<diesel::MysqlConnection> {
    let url = std::env::var("BENCH_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/history_bench".to_owned());
    let (base, name) = url
        .rsplit_once('/')
        .ok_or("BENCH_MYSQL_URL names no database")?;
    diesel::MysqlConnection::establish(base)?
        .batch_execute(&format!("CREATE DATABASE IF NOT EXISTS `{name}`"))?;
    Ok(diesel::MysqlConnection::establish(&url)?)
}

#[cfg(feature = "mysql")]
backend!(
    mysql,
    diesel::MysqlConnection,
    Dialect::Mysql,
    "INTEGER PRIMARY KEY AUTO_INCREMENT",
    "DOUBLE",
    mysql_open(),
    last_insert_id,
    no_unnest
);
