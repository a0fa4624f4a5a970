//! The read path on every backend: time travel over histories written with
//! explicit dates, so every boundary (before, at, between, after) is exact.

/// Test bodies for reads; expanded inside `backend_suite!`, next to its
/// `connect()`, `create_tables()` and the write suite's helpers.
macro_rules! read_suite {
    () => {
        use history_diesel::{
            DiffOptions, DiffRecords, FieldChange, HistoryQueries, ReadHistory, RecordNavigation,
        };

        /// A context that writes at a fixed instant.
        fn ctx_at(day: u32, hour: u32, micros: u32) -> HistoryContext<i64> {
            HistoryContext::new().at(at(day, hour, micros))
        }

        /// Creates the next order and checks it got key `id` (tables start
        /// empty, so keys count from 1).
        fn create_with_id(
            conn: &mut Conn,
            id: i32,
            status: &str,
            ctx: &HistoryContext<i64>,
        ) -> Order {
            let order =
                Order::create_with_history(&mut **conn, &NewOrder::new(status, 1.0), ctx).unwrap();
            assert_eq!(order.id, id);
            order
        }

        /// Brings a deleted order back under its key: the restore of its
        /// deletion record, then a new status.
        fn recreate(conn: &mut Conn, id: i32, status: &str, ctx: &HistoryContext<i64>) {
            let deletion = Order::latest(&mut **conn, &id).unwrap();
            assert_eq!(deletion.history_type, HistoryType::Deleted);
            Order::restore_with_history(&mut **conn, &deletion, ctx).unwrap();
            set_status(conn, id, status, ctx);
        }

        fn set_status(conn: &mut Conn, id: i32, status: &str, ctx: &HistoryContext<i64>) {
            let changed = Order::update_where_with_history(
                &mut **conn,
                orders::id.eq(id),
                orders::status.eq(status),
                ctx,
            )
            .unwrap();
            assert_eq!(changed, 1);
        }

        fn delete(conn: &mut Conn, id: i32, ctx: &HistoryContext<i64>) {
            let deleted =
                Order::delete_where_with_history(&mut **conn, orders::id.eq(id), ctx).unwrap();
            assert_eq!(deleted, 1);
        }

        fn status_as_of(
            conn: &mut Conn,
            id: i32,
            day: u32,
            hour: u32,
            micros: u32,
        ) -> Result<String, HistoryError> {
            Order::as_of(&mut **conn, &id, at(day, hour, micros)).map(|order| order.status)
        }

        #[test]
        fn as_of_one_object_before_at_between_after_deletion_and_recreation() {
            let mut conn = connect();
            create_tables(&mut conn);
            create_with_id(&mut conn, 1, "new", &ctx_at(10, 12, 0));
            set_status(&mut conn, 1, "paid", &ctx_at(11, 12, 0));
            delete(&mut conn, 1, &ctx_at(12, 12, 0));
            recreate(&mut conn, 1, "again", &ctx_at(13, 12, 0));

            assert!(matches!(
                status_as_of(&mut conn, 1, 10, 11, 999_999),
                Err(HistoryError::NotCreatedYet { model: "Order", .. })
            ));
            // Bounds are inclusive, to the microsecond.
            assert_eq!(status_as_of(&mut conn, 1, 10, 12, 0).unwrap(), "new");
            assert_eq!(status_as_of(&mut conn, 1, 11, 11, 999_999).unwrap(), "new");
            assert_eq!(status_as_of(&mut conn, 1, 11, 12, 0).unwrap(), "paid");
            match status_as_of(&mut conn, 1, 12, 12, 0) {
                Err(HistoryError::Deleted {
                    model: "Order",
                    deleted_at,
                }) => {
                    assert_eq!(deleted_at, at(12, 12, 0))
                }
                other => panic!("expected Deleted, got {other:?}"),
            }
            assert!(matches!(
                status_as_of(&mut conn, 1, 13, 11, 0),
                Err(HistoryError::Deleted { .. })
            ));
            // The undelete and the status after it were asked for one instant:
            // the later write is stored just after the earlier one (1 ms on
            // SQLite, 1 µs elsewhere).
            assert_eq!(status_as_of(&mut conn, 1, 13, 12, 0).unwrap(), "paid");
            assert_eq!(status_as_of(&mut conn, 1, 13, 12, 1_000).unwrap(), "again");

            // The record form returns the deletion itself.
            let record = Order::record_as_of(&mut *conn, &1, at(12, 13, 0)).unwrap();
            assert_eq!(
                (record.history_type, record.status.as_str()),
                (HistoryType::Deleted, "paid")
            );

            // A field left out of history comes from the live row, which the
            // undelete wrote with the field's default.
            let order = Order::as_of(&mut *conn, &1, at(10, 12, 0)).unwrap();
            assert_eq!(order.internal_notes, "");
            diesel::update(orders::table)
                .set(orders::internal_notes.eq("kept"))
                .execute(&mut *conn)
                .unwrap();
            let order = Order::as_of(&mut *conn, &1, at(10, 12, 0)).unwrap();
            assert_eq!(order.internal_notes, "kept");
            assert_eq!(Order::most_recent(&mut *conn, &1).unwrap().status, "again");
            assert_eq!(Order::earliest(&mut *conn, &1).unwrap().status, "new");
            assert_eq!(
                Order::latest(&mut *conn, &1).unwrap().history_type,
                HistoryType::Changed
            );
            let recreated = Order::latest(&mut *conn, &1)
                .unwrap()
                .prev_record(&mut *conn)
                .unwrap()
                .unwrap();
            assert_eq!(
                (recreated.history_type, recreated.status.as_str()),
                (HistoryType::Created, "paid")
            );
            // An unknown key has no records: every read of one says so.
            assert!(matches!(
                Order::latest(&mut *conn, &99),
                Err(HistoryError::NoRecords { model: "Order" })
            ));
            assert!(matches!(
                Order::earliest(&mut *conn, &99),
                Err(HistoryError::NoRecords { model: "Order" })
            ));
            assert!(matches!(
                Order::most_recent(&mut *conn, &99),
                Err(HistoryError::NoRecords { model: "Order" })
            ));
        }

        #[test]
        fn models_of_deleted_rows_take_defaults_for_left_out_fields() {
            let mut conn = connect();
            create_tables(&mut conn);
            create_with_id(&mut conn, 1, "new", &ctx_at(10, 12, 0));
            delete(&mut conn, 1, &ctx_at(11, 12, 0));
            let order = Order::as_of(&mut *conn, &1, at(10, 13, 0)).unwrap();
            assert_eq!(
                (order.status.as_str(), order.internal_notes.as_str()),
                ("new", "")
            );
            assert!(matches!(
                Order::most_recent(&mut *conn, &1),
                Err(HistoryError::Deleted { .. })
            ));
        }

        /// Objects around `t = day 12, 12:00`: created after, deleted before,
        /// alive across, modified before, and deleted after.
        fn whole_table_fixture(conn: &mut Conn) {
            // Dates are explicit: every create comes first, so no key is reused.
            create_with_id(conn, 1, "created after", &ctx_at(13, 12, 0));
            create_with_id(conn, 2, "deleted before", &ctx_at(10, 12, 0));
            create_with_id(conn, 3, "alive across", &ctx_at(10, 12, 0));
            create_with_id(conn, 4, "first", &ctx_at(10, 12, 0));
            create_with_id(conn, 5, "deleted after", &ctx_at(10, 12, 0));
            delete(conn, 2, &ctx_at(11, 12, 0));
            set_status(conn, 4, "modified before", &ctx_at(12, 12, 0));
            set_status(conn, 4, "modified after", &ctx_at(12, 12, 1));
            delete(conn, 5, &ctx_at(12, 12, 1));
        }

        #[test]
        fn whole_table_as_of_keeps_each_objects_state_at_t() {
            let mut conn = connect();
            create_tables(&mut conn);
            whole_table_fixture(&mut conn);
            let t = at(12, 12, 0);

            let mut models = Order::all_as_of(&mut *conn, t).unwrap();
            models.sort_by_key(|order| order.id);
            let states: Vec<(i32, &str, &str)> = models
                .iter()
                .map(|o| (o.id, o.status.as_str(), o.internal_notes.as_str()))
                .collect();
            assert_eq!(
                states,
                [
                    (3, "alive across", "secret"),
                    (4, "modified before", "secret"),
                    // Deleted since: the left-out field has its default.
                    (5, "deleted after", ""),
                ]
            );

            // The query composes with further filters.
            let shipped: Vec<HistoricalOrder> = Order::state_as_of(t)
                .filter(historical_orders::status.eq("modified before"))
                .load(&mut *conn)
                .unwrap();
            assert_eq!(shipped.len(), 1);
            assert_eq!(shipped[0].id, 4);

            // The record form keeps the deletion of 2.
            let mut latest: Vec<(i32, HistoryType)> = Order::latest_records_as_of(t)
                .select((historical_orders::id, historical_orders::history_type))
                .load(&mut *conn)
                .unwrap();
            latest.sort();
            assert_eq!(
                latest,
                [
                    (2, HistoryType::Deleted),
                    (3, HistoryType::Created),
                    (4, HistoryType::Changed),
                    (5, HistoryType::Created),
                ]
            );
            assert!(Order::all_as_of(&mut *conn, at(9, 0, 0))
                .unwrap()
                .is_empty());
        }

        #[test]
        fn records_sharing_a_date_are_ordered_by_history_id_everywhere() {
            let mut conn = connect();
            create_tables(&mut conn);
            // One instant for every write: an import.
            let same = ctx_at(10, 12, 0);
            create_with_id(&mut conn, 1, "a", &same);
            set_status(&mut conn, 1, "b", &same);
            set_status(&mut conn, 1, "c", &same);
            create_with_id(&mut conn, 2, "x", &same);
            // The library stores each later record of an object just after its
            // latest one; records loaded by other means may still share an
            // instant, and reads must order them by history_id.
            let dates: Vec<chrono::NaiveDateTime> = historical_orders::table
                .filter(historical_orders::id.eq(1))
                .order(historical_orders::history_id)
                .select(historical_orders::history_date)
                .load(&mut *conn)
                .unwrap();
            assert_eq!(dates.len(), 3);
            assert!(dates.windows(2).all(|w| w[0] < w[1]), "{dates:?}");
            diesel::update(historical_orders::table)
                .set(historical_orders::history_date.eq(at(10, 12, 0).naive_utc()))
                .execute(&mut *conn)
                .unwrap();

            let order = Order::as_of(&mut *conn, &1, at(10, 12, 0)).unwrap();
            assert_eq!(order.status, "c");
            let records: Vec<HistoricalOrder> = order.history().load(&mut *conn).unwrap();
            let statuses: Vec<&str> = records.iter().map(|r| r.status.as_str()).collect();
            assert_eq!(statuses, ["c", "b", "a"]);
            assert!(records
                .windows(2)
                .all(|w| w[0].history_id > w[1].history_id));

            // One answer per object, never two.
            let mut latest: Vec<(i32, String)> = Order::latest_records_as_of(at(10, 12, 0))
                .select((historical_orders::id, historical_orders::status))
                .load(&mut *conn)
                .unwrap();
            latest.sort();
            assert_eq!(latest, [(1, "c".to_owned()), (2, "x".to_owned())]);

            // Neighbours walk the same order, and stop at either end.
            let prev = records[0].prev_record(&mut *conn).unwrap().unwrap();
            assert_eq!(prev.status, "b");
            let first = prev.prev_record(&mut *conn).unwrap().unwrap();
            assert_eq!(first.status, "a");
            assert_eq!(first.prev_record(&mut *conn).unwrap(), None);
            assert_eq!(first.next_record(&mut *conn).unwrap().unwrap(), prev);
            assert_eq!(records[0].next_record(&mut *conn).unwrap(), None);
        }

        #[test]
        fn history_queries_filter_paginate_and_span_the_model() {
            let mut conn = connect();
            create_tables(&mut conn);
            create_with_id(&mut conn, 1, "a", &ctx_at(10, 12, 0).user(7));
            set_status(&mut conn, 1, "b", &ctx_at(11, 12, 0).user(8));
            create_with_id(&mut conn, 2, "x", &ctx_at(12, 12, 0).user(7));
            delete(&mut conn, 2, &ctx_at(13, 12, 0));

            let page: Vec<HistoricalOrder> = Order::history_of(1)
                .limit(1)
                .offset(1)
                .load(&mut *conn)
                .unwrap();
            assert_eq!(page.len(), 1);
            assert_eq!(page[0].status, "a");

            let by_seven: Vec<(i32, String)> = Order::all_history()
                .filter(historical_orders::history_user_id.eq(7))
                .select((historical_orders::id, historical_orders::status))
                .load(&mut *conn)
                .unwrap();
            assert_eq!(by_seven, [(2, "x".to_owned()), (1, "a".to_owned())]);

            let deletions: Vec<i32> = Order::all_history()
                .filter(historical_orders::history_type.eq(HistoryType::Deleted))
                .select(historical_orders::id)
                .load(&mut *conn)
                .unwrap();
            assert_eq!(deletions, [2]);

            let in_range: Vec<String> = Order::all_history()
                .filter(historical_orders::history_date.ge(at(11, 0, 0).naive_utc()))
                .filter(historical_orders::history_date.lt(at(13, 0, 0).naive_utc()))
                .select(historical_orders::status)
                .load(&mut *conn)
                .unwrap();
            assert_eq!(in_range, ["x", "b"]);
        }

        #[test]
        fn diff_reports_changed_fields_sorted_with_typed_values() {
            let mut conn = connect();
            create_tables(&mut conn);
            create_with_id(&mut conn, 1, "new", &ctx_at(10, 12, 0));
            Order::update_where_with_history(
                &mut *conn,
                orders::id.eq(1),
                (orders::total.eq(5.0), orders::status.eq("paid")),
                &ctx_at(11, 12, 0),
            )
            .unwrap();
            let newer = Order::latest(&mut *conn, &1).unwrap();
            let older = newer.prev_record(&mut *conn).unwrap().unwrap();

            let diff = newer.diff_against(&older).unwrap();
            assert_eq!(diff.changed_fields(), ["status", "total"]);
            assert_eq!(
                diff.changes[0],
                FieldChange {
                    field: "status",
                    old: HistoricalOrderValue::Status("new".into()),
                    new: HistoricalOrderValue::Status("paid".into()),
                }
            );
            assert_eq!(diff.changes[1].new, HistoricalOrderValue::Total(5.0));
            assert_eq!(diff.changes[1].new.field(), "total");

            let only = newer
                .diff_against_with(
                    &older,
                    &DiffOptions::new().include(&["total", "customer_notes"]),
                )
                .unwrap();
            assert_eq!(only.changed_fields(), ["total"]);
            let without = newer
                .diff_against_with(&older, &DiffOptions::new().exclude(&["total"]))
                .unwrap();
            assert_eq!(without.changed_fields(), ["status"]);
            assert!(newer.diff_against(&newer).unwrap().is_empty());
            match newer.diff_against_with(&older, &DiffOptions::new().exclude(&["internal_notes"]))
            {
                Err(HistoryError::UnknownField {
                    model: "Order",
                    field,
                }) => {
                    assert_eq!(field, "internal_notes")
                }
                other => panic!("expected UnknownField, got {other:?}"),
            }
        }

        #[test]
        fn restore_writes_an_old_version_back_and_undeletes() {
            let mut conn = connect();
            create_tables(&mut conn);
            create_with_id(&mut conn, 1, "new", &ctx_at(10, 12, 0));
            set_status(&mut conn, 1, "paid", &ctx_at(11, 12, 0));
            diesel::update(orders::table)
                .set(orders::internal_notes.eq("kept"))
                .execute(&mut *conn)
                .unwrap();
            let first = Order::earliest(&mut *conn, &1).unwrap();
            let latest = Order::latest(&mut *conn, &1).unwrap();

            let ctx = HistoryContext::new().user(9).reason("revert");
            let restored = Order::restore_with_history(&mut *conn, &first, &ctx).unwrap();
            assert_eq!(
                (restored.status.as_str(), restored.internal_notes.as_str()),
                ("new", "kept")
            );
            let live: Order = orders::table.find(1).first(&mut *conn).unwrap();
            assert_eq!(live, restored);
            let newest = Order::latest(&mut *conn, &1).unwrap();
            assert_eq!(
                (
                    newest.history_type,
                    newest.status.as_str(),
                    newest.history_user_id,
                    newest.history_change_reason.as_deref()
                ),
                (HistoryType::Changed, "new", Some(9), Some("revert"))
            );

            // The guard: `latest` is no longer the newest record.
            let before = history_of(&mut conn).len();
            assert!(matches!(
                Order::restore_unless_changed(&mut *conn, &latest, &latest, &ctx),
                Err(HistoryError::Stale { model: "Order" })
            ));
            assert_eq!(history_of(&mut conn).len(), before);
            Order::restore_unless_changed(&mut *conn, &latest, &newest, &ctx).unwrap();

            // Undelete: the row comes back under its key, recorded as `+`.
            delete(&mut conn, 1, &HistoryContext::new());
            let gone = Order::latest(&mut *conn, &1).unwrap();
            let back = Order::restore_with_history(&mut *conn, &gone, &ctx).unwrap();
            assert_eq!(
                (back.id, back.status.as_str(), back.internal_notes.as_str()),
                (1, "paid", "")
            );
            assert_eq!(
                Order::latest(&mut *conn, &1).unwrap().history_type,
                HistoryType::Created
            );
            assert_eq!(kinds(&history_of(&mut conn)), "+~~~-+");
        }

        #[test]
        fn update_change_reason_edits_the_newest_record_only() {
            let mut conn = connect();
            create_tables(&mut conn);
            create_with_id(&mut conn, 1, "new", &ctx_at(10, 12, 0).reason("first"));
            set_status(&mut conn, 1, "paid", &ctx_at(11, 12, 0));
            Order::update_change_reason(&mut *conn, &1, "paid by card").unwrap();
            let reasons: Vec<Option<String>> = history_of(&mut conn)
                .into_iter()
                .map(|r| r.history_change_reason)
                .collect();
            assert_eq!(
                reasons,
                [Some("first".to_owned()), Some("paid by card".to_owned())]
            );
            assert!(matches!(
                Order::update_change_reason(&mut *conn, &1, &"x".repeat(101)),
                Err(HistoryError::ReasonTooLong {
                    max: 100,
                    len: 101,
                    ..
                })
            ));
            assert!(matches!(
                Order::update_change_reason(&mut *conn, &2, "none"),
                Err(HistoryError::NoRecords { model: "Order" })
            ));
        }

        #[test]
        fn text_keys_and_uuid_history_ids_read_back() {
            let mut conn = connect();
            create_tables(&mut conn);
            let ctx = HistoryContext::<String>::new().at(at(10, 12, 0));
            diesel::insert_into(tags::table)
                .values((tags::code.eq("red"), tags::label.eq("Red")))
                .execute(&mut *conn)
                .unwrap();
            Tag::update_where_with_history(
                &mut *conn,
                tags::code.eq("red"),
                tags::label.eq("Crimson"),
                &ctx,
            )
            .unwrap();
            Tag::update_where_with_history(
                &mut *conn,
                tags::code.eq("red"),
                tags::label.eq("Scarlet"),
                &HistoryContext::new().at(at(11, 12, 0)),
            )
            .unwrap();
            let code = "red".to_owned();
            assert_eq!(
                Tag::as_of(&mut *conn, &code, at(10, 12, 0)).unwrap().label,
                "Crimson"
            );
            let newest = Tag::latest(&mut *conn, &code).unwrap();
            let prev = newest.prev_record(&mut *conn).unwrap().unwrap();
            assert_eq!(prev.label, "Crimson");
            assert_eq!(
                prev.next_record(&mut *conn).unwrap().unwrap().label,
                "Scarlet"
            );
            let all = Tag::all_as_of(&mut *conn, at(11, 12, 0)).unwrap();
            assert_eq!(
                all,
                [Tag {
                    code,
                    label: "Scarlet".into()
                }]
            );
        }

        #[test]
        fn each_read_helper_sends_its_documented_statements() {
            let mut conn = connect();
            create_tables(&mut conn);
            create_with_id(&mut conn, 1, "new", &ctx_at(10, 12, 0));
            set_status(&mut conn, 1, "paid", &ctx_at(11, 12, 0));
            let record = Order::latest(&mut *conn, &1).unwrap();
            let seen = count_statements(&mut conn);
            let count = |conn: &mut Conn, run: &dyn Fn(&mut Conn)| {
                seen.lock().unwrap().clear();
                run(conn);
                let sent = seen.lock().unwrap();
                sent.len()
            };
            assert_eq!(
                count(&mut conn, &|c| {
                    Order::record_as_of(&mut **c, &1, at(11, 0, 0)).unwrap();
                }),
                1
            );
            // Order leaves a field out: one more read for the live row.
            assert_eq!(
                count(&mut conn, &|c| {
                    Order::as_of(&mut **c, &1, at(11, 0, 0)).unwrap();
                }),
                2
            );
            assert_eq!(
                count(&mut conn, &|c| {
                    Order::all_as_of(&mut **c, at(11, 0, 0)).unwrap();
                }),
                2
            );
            assert_eq!(
                count(&mut conn, &|c| {
                    record.prev_record(&mut **c).unwrap();
                }),
                1
            );
            assert_eq!(
                count(&mut conn, &|c| {
                    record.next_record(&mut **c).unwrap();
                }),
                1
            );
            assert_eq!(
                count(&mut conn, &|c| {
                    Order::earliest(&mut **c, &1).unwrap();
                }),
                1
            );
            assert_eq!(
                count(&mut conn, &|c| {
                    Order::latest(&mut **c, &1).unwrap();
                }),
                1
            );
            assert_eq!(
                count(&mut conn, &|c| {
                    Order::update_change_reason(&mut **c, &1, "why").unwrap();
                }),
                2
            );
            assert_eq!(
                count(&mut conn, &|_| {
                    record.diff_against(&record).unwrap();
                }),
                0
            );
            // Restore: lock and read the live row, then the locked key check,
            // the upsert and the record of a bulk update.
            assert_eq!(
                count(&mut conn, &|c| {
                    Order::restore_with_history(&mut **c, &record, &HistoryContext::new()).unwrap();
                }),
                4
            );
            // A model that tracks every field needs no live read.
            assert_eq!(
                count(&mut conn, &|c| {
                    Tag::all_as_of(&mut **c, at(11, 0, 0)).unwrap();
                }),
                1
            );
        }
    };
}

pub(crate) use read_suite;
