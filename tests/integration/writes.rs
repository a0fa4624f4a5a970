//! The write path on every backend: rows in both tables after each write,
//! and nothing in either after a write that fails.

/// Test bodies for writes; expanded inside `backend_suite!`, next to its
/// `connect()` and `create_tables()`.
macro_rules! write_suite {
    () => {
        use history_diesel::{BulkOptions, HistoryContext, HistoryError, WriteWithHistory};
        use std::sync::{Arc, Mutex as StdMutex};

        /// Counts the data statements a connection sends (transaction control
        /// left out), with their text for the failure message.
        fn count_statements(conn: &mut Conn) -> Arc<StdMutex<Vec<String>>> {
            let seen = Arc::new(StdMutex::new(Vec::new()));
            let sink = Arc::clone(&seen);
            conn.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
                if let diesel::connection::InstrumentationEvent::StartQuery { query, .. } = event {
                    let text = query.to_string();
                    // Transaction control, and the read of SQLite's compiled
                    // bind limit that the first bulk write of a process sends.
                    let control = [
                        "BEGIN",
                        "COMMIT",
                        "ROLLBACK",
                        "SAVEPOINT",
                        "RELEASE",
                        "START TRANSACTION",
                        "SELECT (SELECT COMPILE_OPTIONS FROM PRAGMA_COMPILE_OPTIONS",
                    ];
                    if !control
                        .iter()
                        .any(|word| text.trim_start().to_uppercase().starts_with(word))
                    {
                        sink.lock().unwrap().push(text);
                    }
                }
            });
            seen
        }

        fn history_of(conn: &mut Conn) -> Vec<HistoricalOrder> {
            historical_orders::table
                .order(historical_orders::history_id.asc())
                .select(HistoricalOrder::as_select())
                .load(&mut **conn)
                .unwrap()
        }

        fn row_count(conn: &mut Conn) -> (i64, i64) {
            (
                orders::table.count().get_result(&mut **conn).unwrap(),
                historical_orders::table
                    .count()
                    .get_result(&mut **conn)
                    .unwrap(),
            )
        }

        /// Creates `rows` orders with history, in one bulk write.
        fn create_orders(conn: &mut ConcurrentConn, rows: usize) {
            let new: Vec<NewOrder<'_>> = (0..rows).map(|_| NewOrder::new("new", 0.0)).collect();
            Order::bulk_create_with_history(conn, &new, &HistoryContext::new(), BulkOptions::default())
                .unwrap();
        }

        fn kinds(records: &[HistoricalOrder]) -> String {
            records.iter().map(|r| r.history_type.as_str()).collect()
        }

        #[test]
        fn create_save_and_delete_record_plus_tilde_minus_with_user_and_reason() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new().user(7).reason("customer asked");

            let mut order =
                Order::create_with_history(&mut *conn, &NewOrder::new("new", 20.0), &ctx).unwrap();
            assert_eq!(
                (
                    order.status.as_str(),
                    order.total,
                    order.internal_notes.as_str()
                ),
                ("new", 20.0, "secret")
            );
            order.status = "shipped".into();
            order
                .save_with_history(&mut *conn, &HistoryContext::new().user(8))
                .unwrap();
            order.delete_with_history(&mut *conn, &ctx).unwrap();

            let records = history_of(&mut conn);
            assert_eq!(kinds(&records), "+~-");
            assert!(records.iter().all(|r| r.id == order.id));
            let statuses: Vec<&str> = records.iter().map(|r| r.status.as_str()).collect();
            assert_eq!(statuses, ["new", "shipped", "shipped"]);
            let users: Vec<Option<i64>> = records.iter().map(|r| r.history_user_id).collect();
            assert_eq!(users, [Some(7), Some(8), Some(7)]);
            assert_eq!(records[1].history_change_reason, None);
            assert_eq!(
                records[2].history_change_reason.as_deref(),
                Some("customer asked")
            );
            assert!(records
                .windows(2)
                .all(|w| w[0].history_date <= w[1].history_date));
            assert_eq!(row_count(&mut conn), (0, 3));
        }

        #[test]
        fn records_hold_what_the_database_stored() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new();
            let order =
                Order::create_with_history(&mut *conn, &NewOrder::new("new", 1.5), &ctx).unwrap();
            // An expression evaluated by the database, not a Rust value.
            let changed = Order::update_where_with_history(
                &mut *conn,
                orders::id.eq(order.id),
                orders::total.eq(orders::total + 1.0),
                &ctx,
            )
            .unwrap();
            assert_eq!(changed, 1);
            let records = history_of(&mut conn);
            assert_eq!(
                records.iter().map(|r| r.total).collect::<Vec<_>>(),
                [1.5, 2.5]
            );
        }

        #[test]
        fn update_and_delete_by_filter_record_every_row_they_touch() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new().user(3).reason("cleanup");
            let rows = [
                NewOrder::new("pending", 1.0),
                NewOrder::new("paid", 2.0),
                NewOrder::new("pending", 3.0),
            ];
            let created =
                Order::bulk_create_with_history(&mut *conn, &rows, &ctx, BulkOptions::default())
                    .unwrap();
            assert_eq!(created.len(), 3);

            // The filter no longer matches after the update: records still follow the rows.
            let changed = Order::update_where_with_history(
                &mut *conn,
                orders::status.eq("pending"),
                orders::status.eq("cancelled"),
                &ctx,
            )
            .unwrap();
            assert_eq!(changed, 2);
            let records = history_of(&mut conn);
            assert_eq!(kinds(&records), "+++~~");
            let mut changed_ids: Vec<i32> = records[3..].iter().map(|r| r.id).collect();
            changed_ids.sort();
            assert_eq!(changed_ids, [created[0].id, created[2].id]);
            assert!(records[3..].iter().all(|r| r.status == "cancelled"));

            let deleted =
                Order::delete_where_with_history(&mut *conn, orders::status.eq("cancelled"), &ctx)
                    .unwrap();
            assert_eq!(deleted, 2);
            let records = history_of(&mut conn);
            assert_eq!(kinds(&records), "+++~~--");
            assert!(records[5..]
                .iter()
                .all(|r| r.status == "cancelled" && r.history_user_id == Some(3)));
            assert_eq!(row_count(&mut conn), (1, 7));

            // A filter that matches nothing writes nothing.
            assert_eq!(
                Order::delete_where_with_history(&mut *conn, orders::status.eq("none"), &ctx)
                    .unwrap(),
                0
            );
            assert_eq!(row_count(&mut conn), (1, 7));
        }

        #[test]
        fn bulk_create_writes_every_batch_and_a_conflict_writes_nothing() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new().reason("import");
            let rows: Vec<NewOrder<'_>> = (0..7)
                .map(|i| NewOrder::new("imported", f64::from(i)))
                .collect();
            let created = Order::bulk_create_with_history(
                &mut *conn,
                &rows,
                &ctx,
                BulkOptions { batch_size: 3 },
            )
            .unwrap();
            assert_eq!(
                created.iter().map(|o| o.total).collect::<Vec<_>>(),
                [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
            );
            let records = history_of(&mut conn);
            assert_eq!(kinds(&records), "+++++++");
            let mut recorded: Vec<i32> = records.iter().map(|r| r.id).collect();
            recorded.sort();
            assert_eq!(recorded, created.iter().map(|o| o.id).collect::<Vec<_>>());

            // The same key twice in one input: the whole call fails, nothing is kept.
            let twice = [
                Order {
                    id: 100,
                    status: "a".into(),
                    total: 1.0,
                    customer_notes: String::new(),
                    internal_notes: String::new(),
                },
                Order {
                    id: 100,
                    status: "b".into(),
                    total: 2.0,
                    customer_notes: String::new(),
                    internal_notes: String::new(),
                },
            ];
            let err =
                Order::bulk_create_with_history(&mut *conn, &twice, &ctx, BulkOptions::default())
                    .unwrap_err();
            assert!(
                matches!(err, HistoryError::KeyExists { model: "Order", .. }),
                "{err:?}"
            );
            assert_eq!(row_count(&mut conn), (7, 7));

            // A key that already exists, in the last batch: the batches before
            // it are rolled back too.
            let mut taken: Vec<Order> = (200..203)
                .map(|id| Order {
                    id,
                    status: "c".into(),
                    total: 3.0,
                    customer_notes: String::new(),
                    internal_notes: String::new(),
                })
                .collect();
            taken.push(Order {
                id: created[0].id,
                ..taken[0].clone()
            });
            let err = Order::bulk_create_with_history(
                &mut *conn,
                &taken,
                &ctx,
                BulkOptions { batch_size: 2 },
            )
            .unwrap_err();
            assert!(
                matches!(
                    &err,
                    HistoryError::KeyExists {
                        model: "Order",
                        source: diesel::result::Error::DatabaseError(
                            diesel::result::DatabaseErrorKind::UniqueViolation,
                            _
                        ),
                    }
                ),
                "{err:?}"
            );
            assert_eq!(row_count(&mut conn), (7, 7));

            // Printed as a chain, the database's words appear once: in the
            // source, not in our message.
            let source = std::error::Error::source(&err).expect("the database's error");
            assert!(std::error::Error::source(source).is_none(), "{source:?}");
            let ours = err.to_string();
            let theirs = source.to_string();
            assert!(!theirs.is_empty() && !ours.contains(&theirs), "{ours} / {theirs}");
        }

        #[test]
        fn statements_per_write_stay_within_the_documented_counts() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new();
            let rows: Vec<NewOrder<'_>> = (0..12)
                .map(|i| NewOrder::new("bulk", f64::from(i)))
                .collect();
            let seen = count_statements(&mut conn);

            Order::bulk_create_with_history(&mut *conn, &rows, &ctx, BulkOptions { batch_size: 4 })
                .unwrap();
            let bulk = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(bulk.len(), bulk_create_statements(12, 3), "{bulk:#?}");

            Order::update_where_with_history(
                &mut *conn,
                orders::total.lt(6.0),
                orders::status.eq("low"),
                &ctx,
            )
            .unwrap();
            let update = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(update.len(), UPDATE_STATEMENTS, "{update:#?}");

            let mut saved: Order = orders::table.first(&mut *conn).unwrap();
            saved.total += 1.0;
            seen.lock().unwrap().clear();
            saved.save_with_history(&mut *conn, &ctx).unwrap();
            let save = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(save.len(), SAVE_STATEMENTS, "{save:#?}");

            Order::delete_where_with_history(&mut *conn, orders::status.eq("low"), &ctx).unwrap();
            let delete = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(delete.len(), DELETE_STATEMENTS, "{delete:#?}");
            assert_eq!(row_count(&mut conn), (6, 25));

            // Rows without defaultable fields: one INSERT per batch on every backend.
            let rows: Vec<NewOrderRow<'_>> = (0..12)
                .map(|i| NewOrderRow {
                    status: "row",
                    total: f64::from(i),
                    customer_notes: "",
                    internal_notes: "",
                })
                .collect();
            seen.lock().unwrap().clear();
            let created =
                Order::bulk_create_with_history(&mut *conn, &rows, &ctx, BulkOptions { batch_size: 4 })
                    .unwrap();
            let bulk = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(bulk.len(), 3 * BATCH_STATEMENTS, "{bulk:#?}");
            let totals: Vec<f64> = created.iter().map(|order| order.total).collect();
            assert_eq!(totals, (0..12).map(f64::from).collect::<Vec<_>>());
            assert_eq!(row_count(&mut conn), (18, 37));
        }

        /// Every type the derive maps, NULLs among them, through one bulk
        /// create: the rows and their records hold what was given. On
        /// PostgreSQL rows that bind every column travel as one array per
        /// column, and a row that leaves a field to its DEFAULT keeps the
        /// statement a `VALUES` list.
        #[test]
        fn bulk_rows_of_every_type_round_trip_as_given() {
            #[derive(Insertable)]
            #[diesel(table_name = every_types)]
            struct NewEvery<'a> {
                id: i32,
                small: i16,
                big: i64,
                ratio: f32,
                amount: f64,
                active: bool,
                name: &'a str,
                payload: &'a [u8],
                day: chrono::NaiveDate,
                clock: chrono::NaiveTime,
                stamp: chrono::NaiveDateTime,
                #[diesel(treat_none_as_default_value = false)]
                note: Option<&'a str>,
                rank: Option<i32>,
                #[diesel(treat_none_as_default_value = false)]
                seen_at: Option<chrono::NaiveDateTime>,
                display_name: &'a str,
            }
            let day = chrono::NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
            let clock = chrono::NaiveTime::from_hms_opt(23, 59, 58).unwrap();
            let row = |id: i32, rank: Option<i32>| NewEvery {
                id,
                small: -7 * id as i16,
                big: i64::MAX - i64::from(id),
                ratio: 0.5 * id as f32,
                amount: -1.25 * f64::from(id),
                active: id % 2 == 0,
                name: if id == 2 { "" } else { "naïve 'quoted' name" },
                payload: if id == 2 { &[] } else { &[0, 255, 1] },
                day: day + chrono::Days::new(id as u64),
                clock,
                stamp: day.and_time(clock),
                note: (id != 2).then_some("a note"),
                rank,
                seen_at: (id == 3).then(|| day.and_time(clock)),
                display_name: "label",
            };
            let expected = |row: &NewEvery<'_>| EveryType {
                id: row.id,
                small: row.small,
                big: row.big,
                ratio: row.ratio,
                amount: row.amount,
                active: row.active,
                name: row.name.to_owned(),
                payload: row.payload.to_vec(),
                day: row.day,
                clock: row.clock,
                stamp: row.stamp,
                note: row.note.map(str::to_owned),
                rank: row.rank,
                seen_at: row.seen_at,
                label: row.display_name.to_owned(),
            };
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new().user(3);
            let seen = count_statements(&mut conn);
            // Every field bound, NULLs in `note` and `seen_at`.
            let bound = [row(1, Some(10)), row(2, Some(0)), row(3, Some(-3))];
            let created =
                EveryType::bulk_create_with_history(&mut *conn, &bound, &ctx, BulkOptions::default())
                    .unwrap();
            let statements = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(created, bound.iter().map(expected).collect::<Vec<_>>());
            // `rank` left to its DEFAULT (NULL) by the second row.
            let defaulted = [row(4, Some(4)), row(5, None)];
            let more =
                EveryType::bulk_create_with_history(&mut *conn, &defaulted, &ctx, BulkOptions::default())
                    .unwrap();
            let fallback = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(more, defaulted.iter().map(expected).collect::<Vec<_>>());
            if DIALECT == history_diesel::Dialect::Postgres {
                assert!(statements.iter().any(|sql| sql.contains("unnest(")), "{statements:#?}");
                assert!(!statements.iter().any(|sql| sql.contains("VALUES")), "{statements:#?}");
                assert!(fallback.iter().any(|sql| sql.contains(", DEFAULT, ")), "{fallback:#?}");
                assert!(!fallback.iter().any(|sql| sql.contains("unnest(")), "{fallback:#?}");
            }
            let records: Vec<HistoricalEveryType> = historical_every_types::table
                .order(historical_every_types::id.asc())
                .select(HistoricalEveryType::as_select())
                .load(&mut *conn)
                .unwrap();
            assert_eq!(records.len(), 5);
            for (record, row) in records.iter().zip(bound.iter().chain(&defaulted)) {
                let row = expected(row);
                assert_eq!(record.history_type, history_diesel::HistoryType::Created);
                assert_eq!(record.history_user_id, Some(3));
                assert_eq!(
                    (record.id, record.big, &record.name, &record.payload, record.stamp),
                    (row.id, row.big, &row.name, &row.payload, row.stamp)
                );
                assert_eq!((&record.note, record.rank, record.seen_at), (&row.note, row.rank, row.seen_at));
            }
        }

        #[test]
        fn concurrent_updates_by_filter_record_every_row_update_once() {
            const THREADS: usize = 4;
            const ROUNDS: usize = 15;
            const ROWS: i32 = 12;
            let _serial = connect();
            let setup = concurrent_database();
            // Committed tables: dropped however the test ends, or a failure
            // here would fail every later test that creates them.
            let _cleanup = crate::support::OnDrop(|| drop_concurrent_database(&setup));
            create_orders(&mut concurrent_connection(&setup), ROWS as usize);
            let updates: usize = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..THREADS)
                    .map(|thread| {
                        let setup = &setup;
                        scope.spawn(move || {
                            let mut conn = concurrent_connection(setup);
                            let ctx = HistoryContext::new().user(thread as i64);
                            let mut updated = 0;
                            for round in 0..ROUNDS {
                                // Overlapping windows of rows, each moved by a database expression.
                                let low = ((thread + round) % 6) as i32 + 1;
                                let filter = orders::id.between(low, low + 5);
                                loop {
                                    match Order::update_where_with_history(
                                        &mut conn,
                                        filter,
                                        orders::total.eq(orders::total + 1.0),
                                        &ctx,
                                    ) {
                                        Ok(n) => {
                                            updated += n;
                                            break;
                                        }
                                        // A deadlock victim is rolled back whole; the caller retries.
                                        Err(err) if is_retryable(&err) => {
                                            eprintln!("thread {thread} retries after: {err}");
                                            continue;
                                        }
                                        Err(err) => panic!("{err}"),
                                    }
                                }
                            }
                            updated
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|worker| worker.join().unwrap())
                    .sum()
            });

            let mut conn = concurrent_connection(&setup);
            let records: Vec<HistoricalOrder> = historical_orders::table
                .filter(historical_orders::history_type.eq(HistoryType::Changed))
                .order((historical_orders::id, historical_orders::history_id))
                .select(HistoricalOrder::as_select())
                .load(&mut conn)
                .unwrap();
            assert_eq!(records.len(), updates, "one '~' per row update");
            // Every update added one, so a row's records are 1, 2, 3, ... with no
            // value skipped or repeated: each is a state the row really had.
            for id in 1..=ROWS {
                let totals: Vec<f64> = records
                    .iter()
                    .filter(|r| r.id == id)
                    .map(|r| r.total)
                    .collect();
                let expected: Vec<f64> = (1..=totals.len()).map(|n| n as f64).collect();
                assert_eq!(totals, expected, "row {id}");
            }
            let stored: Vec<f64> = orders::table
                .order(orders::id)
                .select(orders::total)
                .load(&mut conn)
                .unwrap();
            let recorded: usize = stored.iter().map(|total| *total as usize).sum();
            assert_eq!(recorded, updates);
        }

        fn is_retryable(err: &HistoryError) -> bool {
            let text = err.to_string().to_lowercase();
            text.contains("deadlock")
                || text.contains("database is locked")
                || text.contains("could not serialize")
        }

        #[test]
        fn bulk_update_writes_whole_rows_in_batches_and_refuses_bad_input() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new().user(5);
            let rows: Vec<NewOrder<'_>> =
                (0..5).map(|i| NewOrder::new("new", f64::from(i))).collect();
            let mut orders =
                Order::bulk_create_with_history(&mut *conn, &rows, &ctx, BulkOptions::default())
                    .unwrap();
            for order in &mut orders[..3] {
                order.total += 100.0;
                order.internal_notes = "rewritten".into();
            }
            let seen = count_statements(&mut conn);
            let updated = Order::bulk_update_with_history(
                &mut *conn,
                &orders[..3],
                &ctx,
                BulkOptions { batch_size: 2 },
            )
            .unwrap();
            assert_eq!(updated, 3);
            let statements = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(
                statements.len(),
                3 * 2 /* key check, upsert, history; per batch on every backend */,
                "{statements:#?}"
            );

            let stored: Vec<Order> = orders::table
                .order(orders::id)
                .select(Order::as_select())
                .load(&mut *conn)
                .unwrap();
            assert_eq!(stored, orders, "every column written, tracked or not");
            let records = history_of(&mut conn);
            assert_eq!(kinds(&records), "+++++~~~");
            assert_eq!(
                records[5..].iter().map(|r| r.total).collect::<Vec<_>>(),
                [100.0, 101.0, 102.0]
            );

            // A key twice, or a row that does not exist: nothing is written.
            let twice = [orders[0].clone(), orders[0].clone()];
            let err =
                Order::bulk_update_with_history(&mut *conn, &twice, &ctx, BulkOptions::default())
                    .unwrap_err();
            assert!(
                matches!(err, HistoryError::DuplicateKey { model: "Order" }),
                "{err:?}"
            );
            assert_eq!(row_count(&mut conn), (5, 8));
            let mut ghost = orders[1].clone();
            ghost.id = 999;
            let mut changed = orders[0].clone();
            changed.status = "changed".into();
            let err = Order::bulk_update_with_history(
                &mut *conn,
                &[changed, ghost],
                &ctx,
                BulkOptions::default(),
            )
            .unwrap_err();
            assert!(matches!(err, HistoryError::NotFound { .. }), "{err:?}");
            assert_eq!(row_count(&mut conn), (5, 8));
            let stored: Vec<Order> = orders::table
                .order(orders::id)
                .select(Order::as_select())
                .load(&mut *conn)
                .unwrap();
            assert_eq!(stored, orders);
        }

        #[test]
        fn bulk_writes_take_per_row_contexts_and_group_their_history_statements() {
            let mut conn = connect();
            create_tables(&mut conn);
            let default = HistoryContext::new().user(1).reason("import");
            let rows: Vec<NewOrder<'_>> =
                (0..4).map(|i| NewOrder::new("new", f64::from(i))).collect();
            let contexts = vec![
                default.clone(),
                default.clone().user(2).reason("row 2"),
                default.clone(),
                default.clone().without_history(),
            ];
            let seen = count_statements(&mut conn);
            let before = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6);
            let mut created = Order::bulk_create_with_history(
                &mut *conn,
                &rows,
                &contexts,
                BulkOptions::default(),
            )
            .unwrap();
            let after = chrono::Utc::now();
            let statements = std::mem::take(&mut *seen.lock().unwrap());
            // Two distinct contexts with history: two history statements.
            assert_eq!(statements.len(), grouped_bulk_create_statements(4, 1, 2), "{statements:#?}");

            for order in &mut created {
                order.total += 10.0;
            }
            let update_contexts: Vec<HistoryContext> = (0..4)
                .map(|i| HistoryContext::new().user(10 + i64::from(i % 2 == 0)))
                .collect();
            Order::bulk_update_with_history(
                &mut *conn,
                &created,
                &update_contexts,
                BulkOptions::default(),
            )
            .unwrap();

            let records = history_of(&mut conn);
            let seen: Vec<(f64, &str, Option<i64>, Option<&str>)> = records
                .iter()
                .map(|r| {
                    (
                        r.total,
                        r.history_type.as_str(),
                        r.history_user_id,
                        r.history_change_reason.as_deref(),
                    )
                })
                .collect();
            let mut expected = vec![
                (0.0, "+", Some(1), Some("import")),
                (1.0, "+", Some(2), Some("row 2")),
                (2.0, "+", Some(1), Some("import")),
            ];
            expected.extend([
                (10.0, "~", Some(11), None),
                (11.0, "~", Some(10), None),
                (12.0, "~", Some(11), None),
                (13.0, "~", Some(10), None),
            ]);
            let mut seen_sorted = seen.clone();
            seen_sorted.sort_by(|a, b| (a.1 != "+", a.0).partial_cmp(&(b.1 != "+", b.0)).unwrap());
            assert_eq!(seen_sorted, expected);
            // The records of a call are dated while it ran (by the database's
            // clock, on this machine).
            assert!(
                records[..3]
                    .iter()
                    .all(|r| (before..=after).contains(&r.history_date)),
                "{records:?} not within {before}..={after}"
            );

            // Per-row contexts must match the rows.
            let err = Order::bulk_create_with_history(
                &mut *conn,
                &rows,
                &contexts[..2],
                BulkOptions::default(),
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    HistoryError::ContextCount {
                        model: "Order",
                        contexts: 2,
                        rows: 4
                    }
                ),
                "{err:?}"
            );
            let err = Order::bulk_update_with_history(
                &mut *conn,
                &created,
                &update_contexts[..3],
                BulkOptions::default(),
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    HistoryError::ContextCount {
                        contexts: 3,
                        rows: 4,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(row_count(&mut conn), (4, 7));
        }

        #[test]
        fn hooks_see_every_record_and_can_veto_the_write() {
            let mut conn = connect();
            create_tables(&mut conn);
            take_note_log();
            let note = Note::create_with_history(&mut *conn, &NewNote { body: "hello", touched: 0 }, &HistoryContext::new().user(3))
                .unwrap();
            Note::update_where_with_history(&mut *conn, notes::id.eq(note.id), notes::body.eq("edited"), &HistoryContext::new().reason("typo"))
                .unwrap();
            Note::delete_where_with_history(&mut *conn, notes::body.eq("edited"), &HistoryContext::new()).unwrap();
            assert_eq!(
                take_note_log(),
                ["+ hello no reason given 3", "~ edited typo 0", "- edited no reason given 0"]
            );
            let reasons: Vec<Option<String>> = historical_notes::table
                .order(historical_notes::history_id)
                .select(historical_notes::history_change_reason)
                .load(&mut *conn)
                .unwrap();
            assert_eq!(reasons[0].as_deref(), Some("no reason given"), "the hook's change is written");

            // A hook's error aborts the write: neither table changes.
            let err = Note::create_with_history(&mut *conn, &NewNote { body: "no", touched: 0 }, &HistoryContext::new().reason("veto"))
                .unwrap_err();
            assert!(matches!(&err, HistoryError::Hook(e) if e.to_string() == "+ of Note vetoed"), "{err:?}");
            let counts: (i64, i64) = (
                notes::table.count().get_result(&mut *conn).unwrap(),
                historical_notes::table.count().get_result(&mut *conn).unwrap(),
            );
            assert_eq!(counts, (0, 3));
            assert!(take_note_log().is_empty());
        }

        #[test]
        fn skip_unchanged_records_only_updates_that_change_a_tracked_column() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new();
            let mut note = Note::create_with_history(
                &mut *conn,
                &NewNote {
                    body: "hello",
                    touched: 0,
                },
                &ctx,
            )
            .unwrap();
            let other = Note::create_with_history(
                &mut *conn,
                &NewNote {
                    body: "other",
                    touched: 0,
                },
                &ctx,
            )
            .unwrap();

            note.touched = 1; // not tracked
            note.save_with_history(&mut *conn, &ctx).unwrap();
            note.save_with_history(&mut *conn, &ctx).unwrap(); // nothing at all
            note.body = "changed".into();
            note.save_with_history(&mut *conn, &ctx).unwrap();
            // A filter update that changes one row and leaves the other as it was.
            let touched = Note::update_where_with_history(
                &mut *conn,
                notes::id.eq_any([note.id, other.id]),
                notes::body.eq("changed"),
                &ctx,
            )
            .unwrap();
            assert_eq!(touched, 2);

            let records: Vec<(i32, String, HistoryType)> = historical_notes::table
                .order(historical_notes::history_id)
                .select((
                    historical_notes::id,
                    historical_notes::body,
                    historical_notes::history_type,
                ))
                .load(&mut *conn)
                .unwrap();
            assert_eq!(
                records,
                [
                    (note.id, "hello".to_owned(), HistoryType::Created),
                    (other.id, "other".to_owned(), HistoryType::Created),
                    (note.id, "changed".to_owned(), HistoryType::Changed),
                    (other.id, "changed".to_owned(), HistoryType::Changed),
                ]
            );
            let stored: i32 = notes::table
                .find(note.id)
                .select(notes::touched)
                .first(&mut *conn)
                .unwrap();
            assert_eq!(stored, 1, "the data write happens either way");
        }

        #[test]
        fn bad_context_is_a_typed_error_and_writes_nothing() {
            let mut conn = connect();
            create_tables(&mut conn);
            let new = NewOrder::new("new", 1.0);

            let err =
                Order::create_with_history(&mut *conn, &new, &HistoryContext::new().require_user())
                    .unwrap_err();
            assert!(
                matches!(err, HistoryError::UserRequired { model: "Order" }),
                "{err:?}"
            );

            let long = "x".repeat(101);
            let err =
                Order::create_with_history(&mut *conn, &new, &HistoryContext::new().reason(long))
                    .unwrap_err();
            assert!(
                matches!(
                    err,
                    HistoryError::ReasonTooLong {
                        max: 100,
                        len: 101,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(row_count(&mut conn), (0, 0));

            let ghost = Order {
                id: 404,
                status: "x".into(),
                total: 0.0,
                customer_notes: String::new(),
                internal_notes: String::new(),
            };
            let err = ghost
                .save_with_history(&mut *conn, &HistoryContext::new())
                .unwrap_err();
            assert!(
                matches!(err, HistoryError::NotFound { model: "Order" }),
                "{err:?}"
            );
            let err = ghost
                .delete_with_history(&mut *conn, &HistoryContext::new())
                .unwrap_err();
            assert!(
                matches!(err, HistoryError::NotFound { model: "Order" }),
                "{err:?}"
            );
            assert_eq!(row_count(&mut conn), (0, 0));
        }

        #[test]
        fn scoped_context_fills_what_the_explicit_one_leaves_empty() {
            let mut conn = connect();
            create_tables(&mut conn);
            let date = at(20, 8, 123_456);
            HistoryContext::<i64>::new()
                .user(9)
                .reason("request 42")
                .scope(|| {
                    let order = Order::create_with_history(
                        &mut *conn,
                        &NewOrder::new("new", 1.0),
                        &HistoryContext::new().at(date),
                    )
                    .unwrap();
                    order
                        .delete_with_history(
                            &mut *conn,
                            &HistoryContext::new().require_user().reason("explicit wins"),
                        )
                        .unwrap();
                });
            let records = history_of(&mut conn);
            assert_eq!(records[0].history_user_id, Some(9));
            assert_eq!(
                records[0].history_change_reason.as_deref(),
                Some("request 42")
            );
            assert_eq!(records[0].history_date, date);
            assert_eq!(records[1].history_user_id, Some(9));
            assert_eq!(
                records[1].history_change_reason.as_deref(),
                Some("explicit wins")
            );

            // A scope of another user id type is an error, not a lost user.
            let err = HistoryContext::<i32>::new().user(9).scope(|| {
                Order::create_with_history(
                    &mut *conn,
                    &NewOrder::new("new", 1.0),
                    &HistoryContext::new(),
                )
                .unwrap_err()
            });
            assert!(
                matches!(
                    err,
                    HistoryError::ScopedUserType {
                        scoped: "i32",
                        expected: "i64",
                        ..
                    }
                ),
                "{err:?}"
            );
        }

        #[test]
        fn without_history_writes_the_data_only() {
            let mut conn = connect();
            create_tables(&mut conn);
            let quiet = HistoryContext::new().without_history();
            let order =
                Order::create_with_history(&mut *conn, &NewOrder::new("new", 1.0), &quiet).unwrap();
            order.save_with_history(&mut *conn, &quiet).unwrap();
            assert_eq!(row_count(&mut conn), (1, 0));
        }

        #[test]
        fn a_failing_history_insert_rolls_the_data_write_back() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::new();
            let order =
                Order::create_with_history(&mut *conn, &NewOrder::new("kept", 1.0), &ctx).unwrap();
            // Inject the failure: the history table is gone.
            conn.batch_execute(&Order::HISTORY_TABLE.down_sql(DIALECT))
                .unwrap();

            let err = Order::create_with_history(&mut *conn, &NewOrder::new("lost", 2.0), &ctx)
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    HistoryError::HistoryTableMissing {
                        table: "historical_orders",
                        ..
                    }
                ),
                "{err:?}"
            );
            // The database's "no such table" is the source, printed once.
            let source = std::error::Error::source(&err).expect("the database's error");
            assert!(!err.to_string().contains(&source.to_string()), "{err}");
            let mut changed = order.clone();
            changed.status = "changed".into();
            assert!(changed.save_with_history(&mut *conn, &ctx).is_err());
            assert!(order.delete_with_history(&mut *conn, &ctx).is_err());
            assert!(Order::update_where_with_history(
                &mut *conn,
                orders::id.eq(order.id),
                orders::status.eq("x"),
                &ctx
            )
            .is_err());

            let rows: Vec<Order> = orders::table
                .select(Order::as_select())
                .load(&mut *conn)
                .unwrap();
            assert_eq!(rows, [order]);
        }
    };
}

pub(crate) use write_suite;
