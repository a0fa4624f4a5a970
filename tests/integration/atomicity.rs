//! Nothing half-written: a write that fails or panics anywhere leaves both
//! tables as they were and the connection usable.

/// Test bodies for atomicity; expanded inside `backend_suite!`, next to its
/// `connect()` and `create_tables()`.
macro_rules! atomicity_suite {
    () => {
        mod atomicity {
            use super::*;
            use history_diesel::{
                BulkOptions, HistoryContext, HistoryError, ReadHistory, WriteWithHistory,
            };

            /// How deep in transactions the connection is (`None`: in none).
            fn depth<C: diesel::Connection>(conn: &mut C) -> Option<u32> {
                use diesel::connection::TransactionManager;
                C::TransactionManager::transaction_manager_status_mut(conn)
                    .transaction_depth()
                    .expect("the transaction manager is usable")
                    .map(|depth| depth.get())
            }

            /// (notes, history records, bodies in key order).
            fn state(conn: &mut Conn) -> (i64, i64, Vec<String>) {
                (
                    notes::table.count().get_result(&mut **conn).unwrap(),
                    historical_notes::table
                        .count()
                        .get_result(&mut **conn)
                        .unwrap(),
                    notes::table
                        .order(notes::id)
                        .select(notes::body)
                        .load(&mut **conn)
                        .unwrap(),
                )
            }

            /// Runs `$call`, which must panic in a hook, and checks that it
            /// rolled back whole and left no transaction of its own open
            /// (`$depth`: the connection's depth before the call; the server
            /// suites run every test in a test transaction).
            macro_rules! panics_cleanly {
                ($conn:ident, $what:expr, $depth:expr, $call:expr) => {{
                    let before = state(&mut $conn);
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $call));
                    assert!(
                        outcome.is_err(),
                        "{}: the hook's panic reaches the caller",
                        $what
                    );
                    assert_eq!(
                        depth(&mut *$conn),
                        $depth,
                        "{}: the write's transaction is closed",
                        $what
                    );
                    assert_eq!(state(&mut $conn), before, "{}: nothing is kept", $what);
                }};
            }

            #[test]
            fn a_panicking_hook_rolls_the_write_back_and_leaves_the_connection_usable() {
                let mut conn = connect();
                create_tables(&mut conn);
                let base = depth(&mut *conn);
                let plain = HistoryContext::new();
                let note = Note::create_with_history(
                    &mut *conn,
                    &NewNote {
                        body: "kept",
                        touched: 0,
                    },
                    &plain,
                )
                .unwrap();
                let created = Note::earliest(&mut *conn, &note.id).unwrap();
                // Changed since, so that a restore of the creation is a change
                // (`Note` skips records equal to its latest).
                Note::update_where_with_history(
                    &mut *conn,
                    notes::id.eq(note.id),
                    notes::body.eq("drifted"),
                    &plain,
                )
                .unwrap();
                let mut changed = note.clone();
                changed.body = "changed".into();
                for reason in ["panic before", "panic after"] {
                    let ctx = HistoryContext::new().reason(reason);
                    let new = [
                        NewNote {
                            body: "a",
                            touched: 0,
                        },
                        NewNote {
                            body: "b",
                            touched: 0,
                        },
                    ];
                    panics_cleanly!(
                        conn,
                        format!("create, {reason}"),
                        base,
                        Note::create_with_history(&mut *conn, &new[0], &ctx)
                    );
                    panics_cleanly!(
                        conn,
                        format!("bulk create, {reason}"),
                        base,
                        Note::bulk_create_with_history(
                            &mut *conn,
                            &new,
                            &ctx,
                            BulkOptions::default()
                        )
                    );
                    panics_cleanly!(
                        conn,
                        format!("save, {reason}"),
                        base,
                        changed.save_with_history(&mut *conn, &ctx)
                    );
                    panics_cleanly!(
                        conn,
                        format!("update by filter, {reason}"),
                        base,
                        Note::update_where_with_history(
                            &mut *conn,
                            notes::id.eq(note.id),
                            notes::body.eq("changed"),
                            &ctx
                        )
                    );
                    panics_cleanly!(
                        conn,
                        format!("bulk update, {reason}"),
                        base,
                        Note::bulk_update_with_history(
                            &mut *conn,
                            std::slice::from_ref(&changed),
                            &ctx,
                            BulkOptions::default()
                        )
                    );
                    panics_cleanly!(
                        conn,
                        format!("delete, {reason}"),
                        base,
                        note.delete_with_history(&mut *conn, &ctx)
                    );
                    panics_cleanly!(
                        conn,
                        format!("delete by filter, {reason}"),
                        base,
                        Note::delete_where_with_history(&mut *conn, notes::id.eq(note.id), &ctx)
                    );
                    panics_cleanly!(
                        conn,
                        format!("restore, {reason}"),
                        base,
                        Note::restore_with_history(&mut *conn, &created, &ctx)
                    );
                }

                // Inside the caller's transaction, only the write's savepoint
                // goes: the caller's transaction stays open and usable.
                let ctx = HistoryContext::new().reason("panic before");
                conn.transaction::<_, HistoryError, _>(|inner| {
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        Note::update_where_with_history(
                            inner,
                            notes::id.eq(note.id),
                            notes::body.eq("changed"),
                            &ctx,
                        )
                    }));
                    assert!(outcome.is_err());
                    assert_eq!(
                        depth(inner),
                        Some(base.unwrap_or(0) + 1),
                        "the caller's transaction is still open"
                    );
                    Note::update_where_with_history(
                        inner,
                        notes::id.eq(note.id),
                        notes::body.eq("in caller"),
                        &plain,
                    )?;
                    Ok(())
                })
                .unwrap();

                // The connection writes and commits as before.
                assert_eq!(depth(&mut *conn), base);
                changed.body = "after".into();
                changed.save_with_history(&mut *conn, &plain).unwrap();
                assert_eq!(depth(&mut *conn), base);
                assert_eq!(state(&mut conn), (1, 4, vec!["after".to_owned()]));
            }

            /// 20,000 rows in one batch bind 80,000 values on insert and
            /// 100,000 on update: more than any backend takes in one
            /// statement (PostgreSQL and MySQL 65,535, SQLite 32,766).
            #[test]
            fn bulk_writes_split_batches_that_would_pass_the_bind_limit() {
                const ROWS: usize = 20_000;
                let mut conn = connect();
                create_tables(&mut conn);
                let rows: Vec<NewOrder<'_>> =
                    (0..ROWS).map(|i| NewOrder::new("new", i as f64)).collect();
                let one_batch = BulkOptions { batch_size: ROWS };
                let mut created = Order::bulk_create_with_history(
                    &mut *conn,
                    &rows,
                    &HistoryContext::new(),
                    one_batch,
                )
                .unwrap();
                assert_eq!(created.len(), ROWS);
                for order in &mut created {
                    order.total += 1.0;
                }
                let updated = Order::bulk_update_with_history(
                    &mut *conn,
                    &created,
                    &HistoryContext::new(),
                    one_batch,
                )
                .unwrap();
                assert_eq!(updated, ROWS);
                let counts: Vec<(String, i64)> = historical_orders::table
                    .group_by(historical_orders::history_type)
                    .select((historical_orders::history_type, diesel::dsl::count_star()))
                    .order(historical_orders::history_type)
                    .load::<(HistoryType, i64)>(&mut *conn)
                    .unwrap()
                    .into_iter()
                    .map(|(kind, n)| (kind.as_str().to_owned(), n))
                    .collect();
                assert_eq!(
                    counts,
                    [("+".to_owned(), ROWS as i64), ("~".to_owned(), ROWS as i64)]
                );
                let total: f64 = orders::table
                    .select(diesel::dsl::sum(orders::total))
                    .first::<Option<f64>>(&mut *conn)
                    .unwrap()
                    .unwrap();
                assert_eq!(total, (0..ROWS).map(|i| i as f64 + 1.0).sum::<f64>());
            }

            #[test]
            fn a_reason_set_by_a_hook_is_checked_against_the_column() {
                let mut conn = connect();
                create_tables(&mut conn);
                let note = Note::create_with_history(
                    &mut *conn,
                    &NewNote {
                        body: "kept",
                        touched: 0,
                    },
                    &HistoryContext::new(),
                )
                .unwrap();
                let err = Note::update_where_with_history(
                    &mut *conn,
                    notes::id.eq(note.id),
                    notes::body.eq("changed"),
                    &HistoryContext::new().reason("lengthen"),
                )
                .unwrap_err();
                assert!(
                    matches!(
                        err,
                        HistoryError::ReasonTooLong {
                            model: "Note",
                            max: 100,
                            len: 150
                        }
                    ),
                    "{err:?}"
                );
                assert_eq!(state(&mut conn), (1, 1, vec!["kept".to_owned()]));
            }
        }
    };
}

pub(crate) use atomicity_suite;
