//! The async path on every backend: diesel-async connections
//! (`AsyncPgConnection`, `AsyncMysqlConnection`,
//! `SyncConnectionWrapper<SqliteConnection>`) and a deadpool pool of them,
//! under a multi-thread tokio runtime.
//!
//! One script calls every write and read helper. It is written once and
//! expanded twice, with the synchronous traits and with the asynchronous
//! ones (their methods have the same names): both runs must send the same
//! statements, transaction control included, and give the same answers.

/// Awaits nothing: a step of the script on a synchronous connection.
macro_rules! sync_step {
    ($step:expr) => {
        $step
    };
}

/// Awaits the step: the script on an asynchronous connection.
macro_rules! async_step {
    ($step:expr) => {
        $step.await
    };
}

/// Every helper, in an order that touches each path once, on `$conn`
/// (`&mut` a connection whose tables `create_tables_*` made). Returns what a
/// user would check: the records, the values read back, the errors.
macro_rules! every_helper {
    ($conn:expr, $step:ident) => {{
        let conn = $conn;
        let mut seen: Vec<String> = Vec::new();
        let ctx = HistoryContext::new().user(7).reason("first");

        let mut order = $step!(Order::create_with_history(
            &mut *conn,
            &NewOrder::new("new", 10.0),
            &ctx
        ))
        .unwrap();
        order.status = "paid".into();
        $step!(order.save_with_history(&mut *conn, &HistoryContext::new().user(8))).unwrap();

        let rows: Vec<NewOrder<'_>> = (0..5).map(|i| NewOrder::new("bulk", f64::from(i))).collect();
        let per_row: Vec<HistoryContext> = (0..5).map(|i| HistoryContext::new().user(100 + i)).collect();
        let bulk = $step!(Order::bulk_create_with_history(
            &mut *conn,
            &rows,
            &per_row,
            BulkOptions { batch_size: 2 }
        ))
        .unwrap();
        seen.push(format!("bulk created {:?}", bulk.iter().map(|o| o.total).collect::<Vec<_>>()));

        let mut whole = bulk.clone();
        for row in &mut whole {
            row.customer_notes = "rewritten".into();
        }
        let updated = $step!(Order::bulk_update_with_history(
            &mut *conn,
            &whole,
            &HistoryContext::new().user(9),
            BulkOptions::default()
        ))
        .unwrap();
        let touched = $step!(Order::update_where_with_history(
            &mut *conn,
            orders::status.eq("bulk"),
            orders::total.eq(orders::total + 1.0),
            &ctx
        ))
        .unwrap();
        let deleted = $step!(Order::delete_where_with_history(
            &mut *conn,
            orders::status.eq("bulk").and(orders::total.gt(3.0)),
            &HistoryContext::new().user(9)
        ))
        .unwrap();
        $step!(order.delete_with_history(&mut *conn, &ctx)).unwrap();
        seen.push(format!("touched {touched}, updated {updated}, deleted {deleted}"));

        let records: Vec<HistoricalOrder> = $step!(Order::history_of(order.id)
            .select(HistoricalOrder::as_select())
            .load(&mut *conn))
        .unwrap();
        let first = records.last().unwrap().clone();
        let next = $step!(first.next_record(&mut *conn)).unwrap().unwrap();
        let back = $step!(next.prev_record(&mut *conn)).unwrap().unwrap();
        let latest = $step!(Order::latest(&mut *conn, &order.id)).unwrap();
        let earliest = $step!(Order::earliest(&mut *conn, &order.id)).unwrap();
        let then = $step!(Order::as_of(&mut *conn, &order.id, next.history_date)).unwrap();
        let record_then = $step!(Order::record_as_of(&mut *conn, &order.id, next.history_date)).unwrap();
        // Later than every record: on SQLite, which keeps milliseconds, a
        // record written within the millisecond of the one before it is
        // stored a millisecond later.
        let later = Utc::now() + chrono::Duration::hours(1);
        let alive = $step!(Order::all_as_of(&mut *conn, later)).unwrap();
        let models = $step!(Order::models_from_records(&mut *conn, vec![first.clone()])).unwrap();
        seen.push(format!(
            "history {} next {} back {} latest {} earliest {} then {} {:?} record_then {} alive {:?} models {:?}",
            records.iter().map(|r| r.history_type.as_str()).collect::<String>(),
            next.status,
            back.history_id == first.history_id,
            latest.history_type,
            earliest.history_type,
            then.status,
            then.internal_notes,
            record_then.history_id == next.history_id,
            alive.iter().map(|o| o.total).collect::<Vec<_>>(),
            models.iter().map(|o| o.status.as_str()).collect::<Vec<_>>(),
        ));

        let restored = $step!(Order::restore_with_history(&mut *conn, &next, &ctx)).unwrap();
        $step!(Order::update_change_reason(&mut *conn, &order.id, "restored by hand")).unwrap();
        let recent = $step!(Order::most_recent(&mut *conn, &order.id)).unwrap();
        let again = $step!(Order::restore_unless_changed(&mut *conn, &first, &latest, &ctx));
        seen.push(format!(
            "restored {} recent {} again {:?}",
            restored.status,
            recent.status,
            again.map(|o| o.status)
        ));

        // The typed errors, each leaving nothing behind.
        let mut gone = order.clone();
        gone.id = 4242;
        seen.push(format!("{:?}", $step!(gone.save_with_history(&mut *conn, &ctx))));
        seen.push(format!("{:?}", $step!(gone.delete_with_history(&mut *conn, &ctx))));
        seen.push(format!(
            "{:?}",
            $step!(Order::create_with_history(
                &mut *conn,
                &NewOrder::new("anonymous", 1.0),
                &HistoryContext::new().require_user()
            ))
        ));
        seen.push(format!(
            "{:?}",
            $step!(Order::bulk_create_with_history(
                &mut *conn,
                &rows[..2],
                &per_row[..1],
                BulkOptions::default()
            ))
        ));
        let twice = [recent.clone(), recent.clone()];
        seen.push(format!(
            "{:?}",
            $step!(Order::bulk_update_with_history(
                &mut *conn,
                &twice,
                &ctx,
                BulkOptions::default()
            ))
        ));
        seen.push(format!("{:?}", $step!(Order::latest(&mut *conn, &4242)).map(|r| r.history_id)));
        seen.push(format!(
            "{:?}",
            $step!(Tag::create_with_history(
                &mut *conn,
                (tags::code.eq("a"), tags::label.eq("A")),
                &HistoryContext::new()
            ))
        ));
        seen.push(format!(
            "{:?}",
            $step!(Tag::create_with_history(
                &mut *conn,
                (tags::code.eq("a"), tags::label.eq("again")),
                &HistoryContext::new()
            ))
            .map_err(|err| matches!(err, HistoryError::KeyExists { .. }))
        ));

        let all: Vec<HistoricalOrder> = $step!(historical_orders::table
            .order(historical_orders::history_id.asc())
            .select(HistoricalOrder::as_select())
            .load(&mut *conn))
        .unwrap();
        for record in &all {
            seen.push(format!(
                "{} {} {} {} {:?} {:?} {:?}",
                record.history_type,
                record.id,
                record.status,
                record.total,
                record.customer_notes,
                record.history_user_id,
                record.history_change_reason
            ));
        }
        let live: Vec<Order> = $step!(orders::table.order(orders::id).select(Order::as_select()).load(&mut *conn)).unwrap();
        seen.push(format!("live {:?}", live.iter().map(|o| (o.id, o.status.as_str(), o.total)).collect::<Vec<_>>()));

        // Keys only: each key names the row of its input position, and each
        // row has its `+`.
        let keyed = $step!(Order::bulk_create_keys_with_history(
            &mut *conn,
            &rows[..3],
            &ctx,
            BulkOptions { batch_size: 2 }
        ))
        .unwrap();
        let keyed_rows: Vec<Order> = $step!(orders::table
            .filter(orders::id.eq_any(&keyed))
            .select(Order::as_select())
            .load(&mut *conn))
        .unwrap();
        // The newest three of those keys' records (SQLite hands out the keys
        // of deleted rows again).
        let keyed_records: Vec<HistoricalOrder> = $step!(historical_orders::table
            .filter(historical_orders::id.eq_any(&keyed))
            .order(historical_orders::history_id.desc())
            .limit(3)
            .select(HistoricalOrder::as_select())
            .load(&mut *conn))
        .unwrap();
        let position = |id: i32| keyed.iter().position(|key| *key == id);
        let mut by_position: Vec<_> = keyed_rows.iter().map(|o| (position(o.id), o.total)).collect();
        by_position.sort_by_key(|(at, _)| *at);
        seen.push(format!(
            "keyed {by_position:?} records {:?}",
            keyed_records
                .iter()
                .map(|r| (r.history_type.as_str(), r.history_user_id))
                .collect::<Vec<_>>()
        ));
        seen
    }};
}

/// The async suite of one backend. The invoking module provides `DIALECT`,
/// `SOURCE_DDL`, `connect()` (which holds the server for the test),
/// `SyncConn` and `raw_connect()` (a connection of its own, in a test
/// transaction where the backend has them), `AsyncConn`, `async
/// connect_async()` (likewise, on a database without our tables) and
/// `async_setup()`, what `connect_async` does after connecting.
macro_rules! async_suite {
    () => {
        mod asynchronous {
            use std::sync::{Arc, Mutex as StdMutex};

            use chrono::Utc;
            use diesel::connection::{Instrumentation, InstrumentationEvent};
            use diesel::prelude::{BoolExpressionMethods, ExpressionMethods, QueryDsl, SelectableHelper};
            use diesel_async::pooled_connection::deadpool::Pool;
            use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
            use diesel_async::{AsyncConnection, SimpleAsyncConnection};
            use futures_util::FutureExt;
            use history_diesel::{BulkOptions, HistoricalRecords, HistoryError, HistoryTableSpec};

            use super::{connect, connect_async, raw_connect, AsyncConn, SyncConn, DIALECT, SOURCE_DDL};
            use history_diesel::HistoryContext;
            use crate::asynchronous::{async_step, every_helper, sync_step};
            use crate::models::*;

            const SPECS: [HistoryTableSpec; 4] =
                [Order::HISTORY_TABLE, Tag::HISTORY_TABLE, Note::HISTORY_TABLE, Ticket::HISTORY_TABLE];

            fn runtime() -> tokio::runtime::Runtime {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap()
            }

            fn create_tables_sync(conn: &mut SyncConn) {
                use diesel::connection::SimpleConnection;
                conn.batch_execute(SOURCE_DDL).unwrap();
                for spec in SPECS {
                    conn.batch_execute(&spec.up_sql(DIALECT)).unwrap();
                }
            }

            async fn create_tables_async(conn: &mut AsyncConn) {
                conn.batch_execute(SOURCE_DDL).await.unwrap();
                for spec in SPECS {
                    conn.batch_execute(&spec.up_sql(DIALECT)).await.unwrap();
                }
            }

            async fn connected() -> AsyncConn {
                let mut conn = connect_async().await;
                create_tables_async(&mut conn).await;
                conn
            }

            /// Every statement a connection sends, without its binds (the
            /// dates differ between runs), SQLite's once-per-process read of
            /// its bind limit left out.
            fn statements() -> (Arc<StdMutex<Vec<String>>>, impl Instrumentation) {
                let seen = Arc::new(StdMutex::new(Vec::new()));
                let sink = Arc::clone(&seen);
                let instrumentation = move |event: InstrumentationEvent<'_>| {
                    if let InstrumentationEvent::StartQuery { query, .. } = event {
                        let text = query.to_string();
                        let sql = text.split(" -- binds:").next().unwrap_or("").trim().to_owned();
                        if !sql.contains("pragma_compile_options") {
                            sink.lock().unwrap().push(sql);
                        }
                    }
                };
                (seen, instrumentation)
            }

            fn script_sync(conn: &mut SyncConn) -> Vec<String> {
                use diesel::RunQueryDsl;
                use history_diesel::prelude::*;
                every_helper!(conn, sync_step)
            }

            async fn script_async(conn: &mut AsyncConn) -> Vec<String> {
                use diesel_async::RunQueryDsl;
                use history_diesel::asynchronous::prelude::*;
                every_helper!(conn, async_step)
            }

            #[test]
            fn every_helper_sends_the_statements_of_the_sync_path_and_gives_its_answers() {
                let _server = connect();
                let mut sync = raw_connect();
                create_tables_sync(&mut sync);
                let (sync_log, instrumentation) = statements();
                diesel::connection::Connection::set_instrumentation(&mut sync, instrumentation);
                let sync_seen = script_sync(&mut sync);
                drop(sync);

                let (async_log, async_seen) = runtime().block_on(async {
                    // Spawned, so the futures are proven Send and may move
                    // between the runtime's workers at every await.
                    tokio::spawn(async {
                        let mut conn = connected().await;
                        let (log, instrumentation) = statements();
                        conn.set_instrumentation(instrumentation);
                        let seen = script_async(&mut conn).await;
                        (log, seen)
                    })
                    .await
                    .unwrap()
                });

                assert_eq!(async_seen, sync_seen);
                let (sync_log, async_log) = (sync_log.lock().unwrap().clone(), async_log.lock().unwrap().clone());
                assert!(sync_log.len() > 40, "{sync_log:#?}");
                assert_eq!(async_log, sync_log);

                // What the script did, as a user checks it.
                assert_eq!(async_seen[0], "bulk created [0.0, 1.0, 2.0, 3.0, 4.0]");
                assert_eq!(async_seen[1], "touched 5, updated 5, deleted 2");
                assert_eq!(
                    async_seen[2],
                    "history -~+ next paid back true latest - earliest + then paid \"\" \
                     record_then true alive [1.0, 2.0, 3.0] models [\"new\"]"
                );
                assert_eq!(async_seen[3], "restored paid recent paid again Err(Stale { model: \"Order\" })");
                assert_eq!(async_seen[4], "Err(NotFound { model: \"Order\" })");
                assert_eq!(async_seen[5], "Err(NotFound { model: \"Order\" })");
                assert_eq!(async_seen[6], "Err(UserRequired { model: \"Order\" })");
                assert_eq!(async_seen[7], "Err(ContextCount { model: \"Order\", contexts: 1, rows: 2 })");
                assert_eq!(async_seen[8], "Err(DuplicateKey { model: \"Order\" })");
                assert_eq!(async_seen[9], "Err(NoRecords { model: \"Order\" })");
                assert!(async_seen[10].starts_with("Ok(Tag { code: \"a\""), "{}", async_seen[10]);
                assert_eq!(async_seen[11], "Err(true)");
                let kinds: String = async_seen[12..async_seen.len() - 2].iter().map(|line| &line[..1]).collect();
                // create, save, 5 bulk, 5 whole, 5 by filter, 2 deletes by
                // filter, the delete, the undelete.
                assert_eq!(kinds, "+~+++++~~~~~~~~~~---+");
                assert_eq!(async_seen[async_seen.len() - 3], "+ 1 paid 10 \"\" Some(7) Some(\"restored by hand\")");
                assert_eq!(
                    async_seen[async_seen.len() - 1],
                    "keyed [(Some(0), 0.0), (Some(1), 1.0), (Some(2), 2.0)] \
                     records [(\"+\", Some(7)), (\"+\", Some(7)), (\"+\", Some(7))]"
                );
                assert_eq!(
                    async_seen[async_seen.len() - 2],
                    "live [(1, \"paid\", 10.0), (2, \"bulk\", 1.0), (3, \"bulk\", 2.0), (4, \"bulk\", 3.0)]"
                );
            }

            #[test]
            fn writes_in_spawned_tasks_carry_their_own_task_scope_and_nothing_after_it() {
                let _server = connect();
                let users = runtime().block_on(async {
                    let conn = Arc::new(tokio::sync::Mutex::new(connected().await));
                    let tasks: Vec<_> = (0..8i64)
                        .map(|user| {
                            let conn = Arc::clone(&conn);
                            tokio::spawn(HistoryContext::<i64>::new().user(user).scope_async(async move {
                                use history_diesel::asynchronous::prelude::*;
                                for _ in 0..3 {
                                    // Yield so that tasks interleave and move
                                    // between workers between their writes.
                                    tokio::task::yield_now().await;
                                    let mut conn = conn.lock().await;
                                    let status = format!("by {user}");
                                    Order::create_with_history(&mut *conn, &NewOrder::new(&status, 1.0), &HistoryContext::new())
                                        .await
                                        .unwrap();
                                }
                            }))
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                    // After the scopes: no user.
                    let mut conn = conn.lock().await;
                    {
                        use history_diesel::asynchronous::prelude::*;
                        Order::create_with_history(&mut *conn, &NewOrder::new("after", 1.0), &HistoryContext::new())
                            .await
                            .unwrap();
                    }
                    use diesel_async::RunQueryDsl;
                    historical_orders::table
                        .order(historical_orders::history_id.asc())
                        .select((historical_orders::status, historical_orders::history_user_id))
                        .load::<(String, Option<i64>)>(&mut *conn)
                        .await
                        .unwrap()
                });
                assert_eq!(users.len(), 25);
                for (status, user) in &users[..24] {
                    assert_eq!(Some(format!("by {}", user.unwrap())), Some(status.clone()));
                }
                assert_eq!(users[24], ("after".to_owned(), None));
            }

            #[test]
            fn a_panicking_hook_rolls_back_and_leaves_the_connection_usable() {
                use diesel_async::RunQueryDsl;
                use history_diesel::asynchronous::prelude::*;
                let _server = connect();
                runtime().block_on(async {
                    let mut conn = connected().await;
                    let ctx = HistoryContext::new().reason("panic before");
                    let panicked = std::panic::AssertUnwindSafe(Note::create_with_history(
                        &mut conn,
                        &NewNote { body: "lost", touched: 0 },
                        &ctx,
                    ))
                    .catch_unwind()
                    .await;
                    assert!(panicked.is_err());
                    let kept: i64 = notes::table.count().get_result(&mut conn).await.unwrap();
                    assert_eq!(kept, 0);
                    // The connection is out of the write's transaction.
                    Note::create_with_history(&mut conn, &NewNote { body: "kept", touched: 0 }, &HistoryContext::new())
                        .await
                        .unwrap();
                    let records: i64 = historical_notes::table.count().get_result(&mut conn).await.unwrap();
                    assert_eq!(records, 1);
                });
            }

            #[test]
            fn writes_in_a_caller_transaction_take_savepoints_and_roll_back_with_it() {
                use diesel_async::RunQueryDsl;
                use history_diesel::asynchronous::prelude::*;
                let _server = connect();
                runtime().block_on(async {
                    let mut conn = connected().await;
                    let outcome: Result<(), HistoryError> = conn
                        .transaction(async |conn| {
                            Order::create_with_history(conn, &NewOrder::new("kept", 1.0), &HistoryContext::new()).await?;
                            // A failing write inside: its savepoint is rolled
                            // back, the caller's transaction stays usable.
                            let refused = Order::create_with_history(
                                conn,
                                &NewOrder::new("refused", 1.0),
                                &HistoryContext::new().require_user(),
                            )
                            .await;
                            assert!(matches!(refused, Err(HistoryError::UserRequired { .. })));
                            Order::create_with_history(conn, &NewOrder::new("kept too", 1.0), &HistoryContext::new()).await?;
                            let inside: i64 = historical_orders::table.count().get_result(conn).await?;
                            assert_eq!(inside, 2);
                            Err(HistoryError::Database(diesel::result::Error::RollbackTransaction))
                        })
                        .await;
                    assert!(outcome.is_err());
                    let (rows, records): (i64, i64) = (
                        orders::table.count().get_result(&mut conn).await.unwrap(),
                        historical_orders::table.count().get_result(&mut conn).await.unwrap(),
                    );
                    assert_eq!((rows, records), (0, 0));
                });
            }

            #[test]
            fn a_pooled_connection_writes_and_reads_as_a_bare_one() {
                use diesel_async::RunQueryDsl;
                use history_diesel::asynchronous::prelude::*;
                let _server = connect();
                runtime().block_on(async {
                    let mut config = ManagerConfig::<AsyncConn>::default();
                    // One connection, set up as the suite's: every checkout
                    // gets it back, in its test transaction.
                    config.custom_setup = Box::new(|_url| {
                        async {
                            let conn = connected().await;
                            Ok(conn)
                        }
                        .boxed()
                    });
                    let manager = AsyncDieselConnectionManager::<AsyncConn>::new_with_config("unused", config);
                    let pool = Pool::builder(manager).max_size(1).build().unwrap();
                    let ctx = HistoryContext::new().user(3);
                    let rows: Vec<NewOrder<'_>> = (0..6).map(|i| NewOrder::new("pooled", f64::from(i))).collect();
                    let created = {
                        let mut conn = pool.get().await.unwrap();
                        Order::bulk_create_with_history(&mut conn, &rows, &ctx, BulkOptions { batch_size: 4 })
                            .await
                            .unwrap()
                    };
                    let mut conn = pool.get().await.unwrap();
                    let latest = Order::latest(&mut conn, &created[5].id).await.unwrap();
                    assert_eq!((latest.total, latest.history_user_id), (5.0, Some(3)));
                    let records: i64 = historical_orders::table.count().get_result(&mut conn).await.unwrap();
                    assert_eq!(records, 6);
                });
            }

            crate::requests::request_suite!();
            crate::browser::browser_suite!();
        }
    };
}

pub(crate) use {async_step, async_suite, every_helper, sync_step};
