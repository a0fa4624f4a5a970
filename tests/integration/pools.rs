//! Writes through pooled connections batch as on a bare connection.
//!
//! A pool hands out its own connection type (r2d2's `PooledConnection`), or
//! a bare connection inside a closure (deadpool-diesel's `interact`). Bulk
//! create on SQLite once batched only on a bare `SqliteConnection`, and fell
//! back to one `INSERT` per row behind any other connection type.

use std::sync::{Arc, Mutex};

use diesel::connection::{InstrumentationEvent, LoadConnection, SimpleConnection};
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryDsl, RunQueryDsl};
use history_diesel::{BulkOptions, Dialect, HistoricalRecords, HistoryContext, WriteWithHistory};

use crate::models::{historical_orders, NewOrder, Order};

const ORDERS: &str = "CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL, \
    total DOUBLE NOT NULL, customer_notes TEXT NOT NULL, internal_notes TEXT NOT NULL);";

/// Creates 12 orders, 4 per statement, on `conn`; returns the data and
/// history statements it sent and the totals read back, in input order.
fn bulk_create_counting<C>(conn: &mut C) -> (Vec<String>, Vec<f64>, i64)
where
    C: LoadConnection<Backend = Sqlite> + SimpleConnection,
{
    conn.batch_execute(ORDERS).unwrap();
    conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            if text.starts_with("INSERT") {
                sink.lock().unwrap().push(text);
            }
        }
    });
    let rows: Vec<NewOrder<'_>> = (0..12)
        .map(|i| NewOrder::new("pooled", f64::from(i)))
        .collect();
    let created = Order::bulk_create_with_history(
        conn,
        &rows,
        &HistoryContext::new().user(3),
        BulkOptions { batch_size: 4 },
    )
    .unwrap();
    let records: i64 = historical_orders::table.count().get_result(conn).unwrap();
    let statements = std::mem::take(&mut *seen.lock().unwrap());
    (
        statements,
        created.iter().map(|order| order.total).collect(),
        records,
    )
}

fn assert_batched((statements, totals, records): (Vec<String>, Vec<f64>, i64)) {
    // Three batches: one multi-row INSERT and one history INSERT each.
    assert_eq!(statements.len(), 6, "{statements:#?}");
    assert_eq!(
        statements
            .iter()
            .filter(|s| s.starts_with("INSERT INTO \"orders\""))
            .count(),
        3
    );
    let expected: Vec<f64> = (0..12).map(f64::from).collect();
    assert_eq!(totals, expected);
    assert_eq!(records, 12);
}

#[test]
fn bulk_create_through_an_r2d2_pooled_connection_batches() {
    let pool = Pool::builder()
        .max_size(1)
        .build(ConnectionManager::<SqliteConnection>::new(":memory:"))
        .unwrap();
    let mut pooled = pool.get().unwrap();
    // The pool's own connection type, not the `SqliteConnection` inside.
    assert_batched(bulk_create_counting(&mut pooled));
}

#[test]
fn bulk_create_inside_deadpool_interact_batches() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        let manager =
            deadpool_diesel::sqlite::Manager::new(":memory:", deadpool_diesel::Runtime::Tokio1);
        let pool = deadpool_diesel::sqlite::Pool::builder(manager)
            .max_size(1)
            .build()
            .unwrap();
        let object = pool.get().await.unwrap();
        object.interact(bulk_create_counting).await.unwrap()
    });
    assert_batched(outcome);
}

/// A closure given to deadpool's `interact` runs on tokio's blocking pool,
/// where neither the handler's task-local scope nor any thread scope is in
/// force: the handler resolves its context and moves it in.
#[test]
fn a_task_scope_reaches_interact_only_when_moved_in() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let users = runtime.block_on(HistoryContext::<i64>::new().user(7).scope_async(async {
        let manager =
            deadpool_diesel::sqlite::Manager::new(":memory:", deadpool_diesel::Runtime::Tokio1);
        let pool = deadpool_diesel::sqlite::Pool::builder(manager)
            .max_size(1)
            .build()
            .unwrap();
        let object = pool.get().await.unwrap();
        // The scope, made explicit on this task, travels with the closure.
        let ctx = HistoryContext::<i64>::new().resolved();
        object
            .interact(move |conn| {
                conn.batch_execute(ORDERS).unwrap();
                conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)
                    .unwrap();
                Order::create_with_history(conn, &NewOrder::new("moved", 1.0), &ctx).unwrap();
                // Not moved: the blocking thread has no scope of its own.
                Order::create_with_history(
                    conn,
                    &NewOrder::new("left", 1.0),
                    &HistoryContext::new(),
                )
                .unwrap();
                historical_orders::table
                    .order(historical_orders::history_id)
                    .select(historical_orders::history_user_id)
                    .load::<Option<i64>>(conn)
                    .unwrap()
            })
            .await
            .unwrap()
    }));
    assert_eq!(users, [Some(7), None]);
}
