//! The order of an object's records is the order in which its writes
//! committed, under concurrent writers and with explicit import dates.

/// Test bodies for record order; expanded inside `backend_suite!`, next to
/// its `connect()`, `concurrent_database()` and `concurrent_connection()`.
macro_rules! ordering_suite {
    () => {
        mod ordering {
            use super::*;
            use history_diesel::{
                HistoryContext, HistoryError, ReadHistory, WriteWithHistory,
            };

            const THREADS: usize = 8;
            const ROWS: i32 = 50;

            /// How long the writers run: `HISTORY_STRESS_SECONDS`, 15 s by default.
            fn stress_duration() -> std::time::Duration {
                let seconds = std::env::var("HISTORY_STRESS_SECONDS")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(15);
                std::time::Duration::from_secs(seconds)
            }

            /// Outcomes a racing writer may meet: the row went away
            /// (`NotFound`) or came back under it (`KeyExists`), or the
            /// database chose it as a lock victim.
            fn benign(err: &HistoryError) -> bool {
                use diesel::result::{DatabaseErrorKind, Error};
                matches!(
                    err,
                    HistoryError::NotFound { .. }
                        | HistoryError::KeyExists { .. }
                        | HistoryError::Database(Error::DatabaseError(
                            DatabaseErrorKind::SerializationFailure,
                            _
                        ))
                ) || err.to_string().contains("database is locked")
            }

            /// A small deterministic generator, so each thread's mix is reproducible.
            struct Lcg(u64);
            impl Lcg {
                fn next(&mut self, below: u64) -> u64 {
                    self.0 = self
                        .0
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (self.0 >> 33) % below
                }
            }

            /// The live row of object `id`, if it exists.
            fn live_row(conn: &mut ConcurrentConn, id: i32) -> Option<Order> {
                orders::table.find(id).first(conn).optional().unwrap_or(None)
            }

            /// Records of one object ordered as the library orders them.
            fn records_by_date(
                conn: &mut ConcurrentConn,
                id: i32,
            ) -> Vec<HistoricalOrder> {
                historical_orders::table
                    .filter(historical_orders::id.eq(id))
                    .order((
                        historical_orders::history_date.asc(),
                        historical_orders::history_id.asc(),
                    ))
                    .select(HistoricalOrder::as_select())
                    .load(conn)
                    .unwrap()
            }

            #[test]
            fn an_import_older_than_the_latest_record_is_stored_just_after_it() {
                let mut conn = connect();
                create_tables(&mut conn);
                let order = Order::create_with_history(
                    &mut *conn,
                    &NewOrder::new("new", 1.0),
                    &HistoryContext::new().at(at(20, 12, 0)),
                )
                .unwrap();
                let older = HistoryContext::new().at(at(10, 12, 0));
                let changed = Order::update_where_with_history(
                    &mut *conn,
                    orders::id.eq(order.id),
                    orders::status.eq("imported"),
                    &older,
                )
                .unwrap();
                assert_eq!(changed, 1);
                let latest = Order::latest(&mut *conn, &order.id).unwrap();
                assert_eq!(latest.status, "imported");
                // One tick after the latest record: a microsecond, or the
                // millisecond SQLite's date functions keep.
                let tick = match DIALECT {
                    history_diesel::Dialect::Sqlite => chrono::Duration::milliseconds(1),
                    _ => chrono::Duration::microseconds(1),
                };
                assert_eq!(latest.history_date, at(20, 12, 0) + tick);
                assert_eq!(
                    Order::as_of(&mut *conn, &order.id, at(20, 12, 0)).unwrap().status,
                    "new"
                );
            }

            #[test]
            fn a_history_date_in_the_future_is_refused_before_anything_is_written() {
                let mut conn = connect();
                create_tables(&mut conn);
                let order = Order::create_with_history(
                    &mut *conn,
                    &NewOrder::new("new", 1.0),
                    &HistoryContext::new(),
                )
                .unwrap();
                let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
                let err = Order::update_where_with_history(
                    &mut *conn,
                    orders::id.eq(order.id),
                    orders::status.eq("later"),
                    &HistoryContext::new().at(tomorrow),
                )
                .unwrap_err();
                assert!(
                    matches!(err, HistoryError::DateInFuture { model: "Order", date } if date == tomorrow),
                    "{err:?}"
                );
                let status: String = orders::table
                    .find(order.id)
                    .select(orders::status)
                    .first(&mut *conn)
                    .unwrap();
                assert_eq!(status, "new");
                let records: i64 = historical_orders::table.count().get_result(&mut *conn).unwrap();
                assert_eq!(records, 1);
            }

            #[test]
            fn concurrent_writers_record_every_object_in_commit_order() {
                let _serial = connect();
                let setup = concurrent_database();
                // Committed tables: dropped however the test ends, or a failure
                // here would fail every later test that creates them.
                let _cleanup = crate::support::OnDrop(|| drop_concurrent_database(&setup));
                create_orders(&mut concurrent_connection(&setup), ROWS as usize);
                let deadline = std::time::Instant::now() + stress_duration();
                let done: usize = std::thread::scope(|scope| {
                    let workers: Vec<_> = (0..THREADS)
                        .map(|thread| {
                            let setup = &setup;
                            scope.spawn(move || {
                                let mut conn = stress_connection(setup);
                                let mut rng = Lcg(thread as u64 + 1);
                                let ctx = HistoryContext::new().user(thread as i64);
                                let mut done = 0;
                                while std::time::Instant::now() < deadline {
                                    let id = rng.next(ROWS as u64) as i32 + 1;
                                    let outcome = match rng.next(5) {
                                        0 => {
                                            match live_row(&mut conn, id) {
                                                Some(mut order) => {
                                                    order.total = rng.next(1000) as f64;
                                                    order.status = format!("saved-{thread}");
                                                    order.save_with_history(&mut conn, &ctx)
                                                }
                                                None => Ok(()),
                                            }
                                        }
                                        1 => Order::update_where_with_history(
                                            &mut conn,
                                            orders::id.between(id, id + 3),
                                            orders::total.eq(orders::total + 1.0),
                                            &ctx,
                                        )
                                        .map(drop),
                                        2 => {
                                            match live_row(&mut conn, id) {
                                                Some(order) => {
                                                    order.delete_with_history(&mut conn, &ctx)
                                                }
                                                None => Ok(()),
                                            }
                                        }
                                        // An import dated long before the rows' latest records.
                                        3 => Order::update_where_with_history(
                                            &mut conn,
                                            orders::id.eq(id),
                                            orders::status.eq("imported"),
                                            &ctx.clone().at(crate::support::at(1, 0, 0)),
                                        )
                                        .map(drop),
                                        _ => Order::earliest(&mut conn, &id).and_then(|first| {
                                            Order::restore_with_history(&mut conn, &first, &ctx)
                                                .map(drop)
                                        }),
                                    };
                                    match outcome {
                                        Ok(()) => done += 1,
                                        Err(err) if benign(&err) => {}
                                        Err(err) => panic!("thread {thread}: {err}"),
                                    }
                                }
                                done
                            })
                        })
                        .collect();
                    workers.into_iter().map(|w| w.join().unwrap()).sum()
                });
                assert!(done > 0, "no write succeeded");

                let mut conn = concurrent_connection(&setup);
                let mut wrong = Vec::new();
                for id in 1..=ROWS {
                    let records = records_by_date(&mut conn, id);
                    // Writers of one object take its row lock, so history ids
                    // grow in commit order; the dates must agree with them.
                    let by_date: Vec<i64> = records.iter().map(|r| r.history_id).collect();
                    let mut by_id = by_date.clone();
                    by_id.sort_unstable();
                    if by_date != by_id {
                        wrong.push(format!("object {id}: records by date {by_date:?}"));
                    }
                    let live: Option<Order> = orders::table
                        .find(id)
                        .first(&mut conn)
                        .optional()
                        .unwrap();
                    let latest = Order::latest(&mut conn, &id).unwrap();
                    assert_eq!(
                        latest.history_id,
                        records.last().unwrap().history_id,
                        "object {id}: latest() is the last record by date"
                    );
                    let now = chrono::Utc::now() + chrono::Duration::seconds(1);
                    match (&live, latest.history_type()) {
                        (Some(order), HistoryType::Created | HistoryType::Changed) => {
                            let as_of = Order::as_of(&mut conn, &id, now).unwrap();
                            if (as_of.status.as_str(), as_of.total)
                                != (order.status.as_str(), order.total)
                            {
                                wrong.push(format!("object {id}: as_of(now) {as_of:?}, live {order:?}"));
                            }
                        }
                        (None, HistoryType::Deleted) => {
                            let err = Order::as_of(&mut conn, &id, now).unwrap_err();
                            assert!(matches!(err, HistoryError::Deleted { .. }), "{err}");
                        }
                        (live, kind) => wrong.push(format!(
                            "object {id}: live row {live:?}, latest record {kind:?}"
                        )),
                    }
                }
                assert!(
                    wrong.is_empty(),
                    "{} of {ROWS} objects out of order after {done} writes; the first:\n{}",
                    wrong.len(),
                    wrong[..wrong.len().min(4)].join("\n")
                );
            }
        }
    };
}

pub(crate) use ordering_suite;
