//! browser-bench: the history browser's pages on a history of a million
//! records, through its router, against the hand-written SQL each page
//! sends, on the same connection in the same run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use futures_util::FutureExt;
use history_diesel::browser::{self, BrowserOptions, Models};
use history_diesel::{Dialect, HistoricalRecords};
use tower::ServiceExt;

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

const HELP: &str = "\
browser-bench: the history browser's pages on a large history, against the
same reads in plain Diesel

USAGE:
    cargo run --release -p history-bench --features browser --bin browser-bench -- \\
        [--backend sqlite,postgres] [--records 1000000] [--requests 30]

A history of RECORDS records over RECORDS / 10 objects and 100 users, one
record every 30 seconds, synthesised with INSERT .. SELECT. Each page is
requested through the router (tower's oneshot, no socket) REQUESTS times after
3 warm-ups; its floor is the same reads written in plain Diesel (the same
filters, order and LIMIT, the rows loaded as `HistoricalItem`), run with
diesel-async on the same pooled connection. Reported: the median of each,
their ratio, and the statements each request sent (the pool's health check
left out).";

diesel::table! {
    bb_items (id) {
        id -> Integer,
        name -> Text,
        qty -> Integer,
        note -> Text,
    }
}

/// The browsed model.
#[derive(Debug, Clone, Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = bb_items)]
pub struct Item {
    pub id: i32,
    pub name: String,
    pub qty: i32,
    pub note: String,
}

struct Config {
    backends: Vec<String>,
    records: u64,
    requests: usize,
}

fn parse() -> Result<Option<Config>> {
    let mut config = Config {
        backends: vec!["sqlite".to_owned()],
        records: 1_000_000,
        requests: 30,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--backend" => config.backends = value.split(',').map(str::to_owned).collect(),
            "--records" => config.records = value.replace('_', "").parse()?,
            "--requests" => config.requests = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if config.records < 100 || config.requests == 0 {
        return Err("--records must be at least 100 and --requests at least 1".into());
    }
    Ok(Some(config))
}

/// Counts the statements a connection sends, but the pool's `SELECT 1`.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Counter {
    fn instrumentation(&self) -> impl Instrumentation {
        let count = Arc::clone(&self.0);
        move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                let sql = query.to_string();
                let sql = sql.split(" -- binds:").next().unwrap_or("").trim();
                if sql != "SELECT ?"
                    && sql != "SELECT $1"
                    && !sql.contains("pragma_compile_options")
                {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn take(&self) -> usize {
        self.0.swap(0, Ordering::Relaxed)
    }
}

/// The synthetic history, as one statement: record `i` is version
/// `(i - 1) / objects` of object `(i - 1) % objects + 1`, 30 seconds after
/// record `i - 1`.
fn synthesis(dialect: Dialect, records: u64) -> String {
    let objects = records / 10;
    let columns =
        "id, name, qty, note, history_date, history_type, history_user_id, history_change_reason";
    let row = |i: &str, date: &str| {
        format!(
            "SELECT ({i} - 1) % {objects} + 1, 'item ' || (({i} - 1) % {objects} + 1), \
             CAST({i} % 97 AS INTEGER), 'note of version ' || (({i} - 1) / {objects}), {date}, \
             CASE WHEN {i} <= {objects} THEN '+' ELSE '~' END, {i} % 100, \
             'reason ' || ({i} % 7)"
        )
    };
    match dialect {
        Dialect::Postgres => format!(
            "INSERT INTO historical_bb_items ({columns}) {} FROM generate_series(1, {records}) AS i",
            row("i", "TIMESTAMP '2026-01-01' + i * INTERVAL '30 seconds'")
        ),
        _ => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {records}) \
             INSERT INTO historical_bb_items ({columns}) {} FROM n",
            row("i", "datetime('2026-01-01', '+' || (i * 30) || ' seconds')")
        ),
    }
}

/// The date of record `i`, as the cursor and the floors spell it.
fn date_of(i: u64) -> chrono::DateTime<chrono::Utc> {
    let base = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .expect("a date")
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    base + chrono::Duration::seconds(30 * i as i64)
}

/// What a page reads, as plain Diesel would read it: the floor.
#[derive(Clone)]
enum Read {
    Count,
    /// 51 records newest first (the page and one more), filtered.
    Newest {
        object: Option<i32>,
        user: Option<i64>,
        created_between: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
        before: Option<(chrono::DateTime<chrono::Utc>, i64)>,
    },
    /// One record by key, and the one before it.
    RecordAndPrevious {
        object: i32,
        history_id: i64,
        date: chrono::DateTime<chrono::Utc>,
    },
}

/// One page: its path under the router, and what it reads.
struct Page {
    name: &'static str,
    path: String,
    floor: Read,
}

fn pages(records: u64) -> Vec<Page> {
    let objects = records / 10;
    let middle = records / 2;
    let cursor = format!(
        "{},bb_items,{middle}",
        date_of(middle).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );
    let object = objects / 2 + 1;
    // The object's newest record: version 9, record 9 * objects + object.
    let newest = 9 * objects + object;
    let newest_first = |object, user, created_between, before| Read::Newest {
        object,
        user,
        created_between,
        before,
    };
    let day = |d: u32| {
        chrono::NaiveDate::from_ymd_opt(2026, 1, d)
            .expect("a date")
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    };
    vec![
        Page {
            name: "models (counts)",
            path: "/h".to_owned(),
            floor: Read::Count,
        },
        Page {
            name: "recent changes, page 1",
            path: "/h/changes".to_owned(),
            floor: newest_first(None, None, None, None),
        },
        Page {
            name: "recent changes, half-way down",
            path: format!(
                "/h/changes?after={}",
                cursor.replace(':', "%3A").replace(',', "%2C")
            ),
            floor: newest_first(None, None, None, Some((date_of(middle), middle as i64))),
        },
        Page {
            name: "recent changes of one user",
            path: "/h/changes?user=42".to_owned(),
            floor: newest_first(None, Some(42), None, None),
        },
        Page {
            name: "recent changes of a type in a week",
            path: "/h/changes?type=%2B&from=2026-01-03&until=2026-01-09".to_owned(),
            floor: newest_first(None, None, Some((day(3), day(10))), None),
        },
        Page {
            name: "an object's timeline",
            path: format!("/h/bb_items/{object}"),
            floor: newest_first(Some(object as i32), None, None, None),
        },
        Page {
            name: "a record against the one before",
            path: format!("/h/bb_items/{object}/{newest}"),
            floor: Read::RecordAndPrevious {
                object: object as i32,
                history_id: newest as i64,
                date: date_of(newest),
            },
        },
    ]
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The page's SQL, by hand, on a connection of the pool.
type Floor = futures_util::future::BoxFuture<'static, Result<()>>;

async fn measure(
    router: &Router,
    floor: &(dyn Fn(&Page) -> Floor + Sync),
    counter: &Counter,
    page: &Page,
    requests: usize,
) -> Result<()> {
    let request = || {
        Request::get(&page.path)
            .body(Body::empty())
            .expect("a request")
    };
    let mut page_ms = Vec::new();
    let mut floor_ms = Vec::new();
    let mut statements = 0;
    for turn in 0..requests + 3 {
        counter.take();
        let start = Instant::now();
        let response = router.clone().oneshot(request()).await?;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        if status != StatusCode::OK {
            return Err(format!(
                "{} answered {status}: {}",
                page.path,
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        statements = counter.take();
        let start = Instant::now();
        floor(page).await?;
        let floor = start.elapsed().as_secs_f64() * 1e3;
        if turn >= 3 {
            page_ms.push(elapsed);
            floor_ms.push(floor);
        }
    }
    let (page_ms, floor_ms) = (median(page_ms), median(floor_ms));
    println!(
        "| {} | {:.2} | {:.2} | {:.2} | {} |",
        page.name,
        page_ms,
        floor_ms,
        page_ms / floor_ms,
        statements
    );
    Ok(())
}

/// Every page on one backend's pool of one connection.
macro_rules! run_pages {
    ($conn:ty, $url:expr, $counter:expr, $config:expr) => {{
        let counter: Counter = $counter;
        let mut setup = ManagerConfig::<$conn>::default();
        let instrumented = counter.clone();
        setup.custom_setup = Box::new(move |url| {
            let counter = instrumented.clone();
            async move {
                let mut conn = <$conn>::establish(url).await?;
                conn.set_instrumentation(counter.instrumentation());
                Ok(conn)
            }
            .boxed()
        });
        let manager = AsyncDieselConnectionManager::<$conn>::new_with_config($url, setup);
        let pool: Pool<$conn> = Pool::builder(manager).max_size(1).build().expect("a pool");
        let models = Models::new(pool.clone()).model::<Item>();
        let router: Router =
            Router::new().nest("/h", browser::router(models, BrowserOptions::new()));
        let floor = |page: &Page| -> Floor {
            let pool = pool.clone();
            let read = page.floor.clone();
            async move {
                use diesel_async::RunQueryDsl as Run;
                use historical_bb_items::dsl as h;
                type Backend = <$conn as diesel_async::AsyncConnectionCore>::Backend;
                let mut conn = pool.get().await?;
                let order = (h::history_date.desc(), h::history_id.desc());
                let at = |date: chrono::DateTime<chrono::Utc>| date.naive_utc();
                match read {
                    Read::Count => {
                        let _: i64 =
                            Run::get_result(h::historical_bb_items.count(), &mut *conn).await?;
                    }
                    Read::Newest {
                        object,
                        user,
                        created_between,
                        before,
                    } => {
                        let mut query = h::historical_bb_items.into_boxed::<Backend>();
                        if let Some(object) = object {
                            query = query.filter(h::id.eq(object));
                        }
                        if let Some(user) = user {
                            query = query.filter(h::history_user_id.eq(user));
                        }
                        if let Some((from, until)) = created_between {
                            query = query
                                .filter(h::history_type.eq(history_diesel::HistoryType::Created))
                                .filter(h::history_date.ge(at(from)))
                                .filter(h::history_date.lt(at(until)));
                        }
                        if let Some((date, id)) = before {
                            query = query
                                .filter(h::history_date.le(at(date)))
                                .filter(h::history_date.lt(at(date)).or(h::history_id.lt(id)));
                        }
                        let query = query
                            .order(order)
                            .limit(51)
                            .select(HistoricalItem::as_select());
                        let _: Vec<HistoricalItem> = Run::load(query, &mut *conn).await?;
                    }
                    Read::RecordAndPrevious {
                        object,
                        history_id,
                        date,
                    } => {
                        let record = h::historical_bb_items
                            .filter(h::id.eq(object))
                            .filter(h::history_id.eq(history_id))
                            .select(HistoricalItem::as_select());
                        let _: HistoricalItem = Run::first(record, &mut *conn).await?;
                        let previous = h::historical_bb_items
                            .filter(h::id.eq(object))
                            .filter(
                                h::history_date.lt(at(date)).or(h::history_date
                                    .eq(at(date))
                                    .and(h::history_id.lt(history_id))),
                            )
                            .order(order)
                            .limit(1)
                            .select(HistoricalItem::as_select());
                        let _: Vec<HistoricalItem> = Run::load(previous, &mut *conn).await?;
                    }
                }
                Ok(())
            }
            .boxed()
        };
        println!("| page | page (ms) | plain Diesel (ms) | ratio | statements |");
        println!("|---|---:|---:|---:|---:|");
        for page in pages($config.records) {
            measure(&router, &floor, &counter, &page, $config.requests).await?;
        }
        Ok(())
    }};
}

async fn backend(name: &str, config: &Config) -> Result<()> {
    let counter = Counter::default();
    eprintln!(
        "browser-bench: {name}: synthesising {} records ...",
        config.records
    );
    let started = Instant::now();
    match name {
        "sqlite" => {
            let path = std::env::temp_dir().join("browser-bench.sqlite3");
            let _ = std::fs::remove_file(&path);
            let url = path.to_str().ok_or("the temp dir is not UTF-8")?.to_owned();
            let mut setup = diesel::SqliteConnection::establish(&url)?;
            setup.batch_execute(
                "CREATE TABLE bb_items (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, qty INTEGER NOT NULL, note TEXT NOT NULL)",
            )?;
            setup.batch_execute(&Item::history_migration(Dialect::Sqlite).up)?;
            setup.batch_execute(&synthesis(Dialect::Sqlite, config.records))?;
            setup.batch_execute("ANALYZE")?;
            eprintln!(
                "browser-bench: {name}: synthesised in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            type Conn = diesel_async::sync_connection_wrapper::SyncConnectionWrapper<
                diesel::SqliteConnection,
            >;
            run_pages!(Conn, url, counter, config)
        }
        "postgres" => {
            let url = std::env::var("BENCH_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/history_bench".to_owned());
            let mut setup = diesel_async::AsyncPgConnection::establish(&url).await?;
            setup
                .batch_execute(
                    "DROP TABLE IF EXISTS historical_bb_items; DROP TABLE IF EXISTS bb_items; \
                     CREATE TABLE bb_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL, note TEXT NOT NULL)",
                )
                .await?;
            setup
                .batch_execute(&Item::history_migration(Dialect::Postgres).up)
                .await?;
            setup
                .batch_execute(&synthesis(Dialect::Postgres, config.records))
                .await?;
            setup.batch_execute("ANALYZE historical_bb_items").await?;
            eprintln!(
                "browser-bench: {name}: synthesised in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            run_pages!(diesel_async::AsyncPgConnection, url, counter, config)
        }
        other => Err(format!("unknown backend {other}: sqlite or postgres").into()),
    }
}

fn main() -> std::process::ExitCode {
    let config = match parse() {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{HELP}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("browser-bench: {err}\n\n{HELP}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    for name in &config.backends {
        println!("\n### {name}, {} records\n", config.records);
        if let Err(err) = runtime.block_on(backend(name, &config)) {
            eprintln!("browser-bench: {name}: {err}");
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}
