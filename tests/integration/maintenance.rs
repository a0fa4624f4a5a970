//! Backfill, deduplication, pruning and stats against each real database,
//! on committed tables (each chunk commits, so no test transaction).

/// Test bodies of the maintenance operations; expanded inside
/// `backend_suite!`, next to its `connect()`, `concurrent_database()` and
/// `concurrent_connection()`.
macro_rules! maintenance_suite {
    () => {
        mod maintenance {
            use std::ops::ControlFlow;

            use chrono::{DateTime, Duration, Utc};
            use history_diesel::maintenance::{
                history_stats, Archive, ArchiveFormat, CleanDuplicates, CleanOld, Populate, Prune,
                DEFAULT_POPULATE_REASON,
            };
            use history_diesel::{
                HistoryContext, HistoryError, ReadHistory, RecordNavigation, WriteWithHistory,
            };

            use super::*;

            fn go(_: &history_diesel::maintenance::Progress) -> ControlFlow<()> {
                ControlFlow::Continue(())
            }

            fn order(id: i32, status: &str) -> Order {
                Order {
                    id,
                    status: status.to_owned(),
                    total: f64::from(id) + 0.5,
                    customer_notes: format!("notes {id}"),
                    internal_notes: "secret".to_owned(),
                }
            }

            /// Rows written without history, as an application that adopts
            /// history finds them.
            fn plain_rows(conn: &mut ConcurrentConn, ids: std::ops::RangeInclusive<i32>) {
                let rows: Vec<Order> = ids.map(|id| order(id, "legacy")).collect();
                for chunk in rows.chunks(500) {
                    diesel::insert_into(orders::table)
                        .values(chunk)
                        .execute(conn)
                        .unwrap();
                }
            }

            fn records(conn: &mut ConcurrentConn) -> Vec<HistoricalOrder> {
                historical_orders::table
                    .order((
                        historical_orders::id.asc(),
                        historical_orders::history_date.asc(),
                        historical_orders::history_id.asc(),
                    ))
                    .select(HistoricalOrder::as_select())
                    .load(conn)
                    .unwrap()
            }

            /// The server's turn, held until the committed tables are
            /// dropped: fields drop in declaration order.
            struct Turn<F: FnMut()> {
                _cleanup: crate::support::OnDrop<F>,
                _serial: Conn,
            }

            fn setup() -> (ConcurrentConn, Turn<impl FnMut()>) {
                let serial = connect();
                let setup = concurrent_database();
                let conn = concurrent_connection(&setup);
                let cleanup = crate::support::OnDrop(move || drop_concurrent_database(&setup));
                (
                    conn,
                    Turn {
                        _cleanup: cleanup,
                        _serial: serial,
                    },
                )
            }

            #[test]
            fn populate_records_each_row_once_with_the_context_and_a_dry_run_writes_nothing() {
                let (mut conn, _turn) = setup();
                plain_rows(&mut conn, 1..=23);
                // Two rows already have history: they get no second `+`.
                Order::create_with_history(&mut conn, order(24, "new"), &HistoryContext::new())
                    .unwrap();
                let kept = records(&mut conn);
                let spec = &Order::HISTORY_TABLE;

                let dry = Populate::new(spec)
                    .chunk_size(4)
                    .dry_run(true)
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!(
                    (dry.records, dry.dry_run, dry.interrupted),
                    (23, true, false)
                );
                assert_eq!(records(&mut conn), kept);

                let ctx = HistoryContext::new().user(7).reason("adopting history");
                let done = Populate::new(spec)
                    .chunk_size(4)
                    .context(&ctx)
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!((done.records, done.chunks, done.dry_run), (23, 6, false));
                let all = records(&mut conn);
                assert_eq!(all.len(), 24);
                for record in all.iter().filter(|record| record.id <= 23) {
                    assert_eq!(record.history_type, HistoryType::Created);
                    assert_eq!(record.status, "legacy");
                    assert_eq!(record.total, f64::from(record.id) + 0.5);
                    assert_eq!(record.customer_notes, format!("notes {}", record.id));
                    assert_eq!(record.history_user_id, Some(7));
                    assert_eq!(
                        record.history_change_reason.as_deref(),
                        Some("adopting history")
                    );
                }
                assert!(all
                    .iter()
                    .any(|record| record.id == 24 && record.history_change_reason.is_none()));

                let again = Populate::new(spec).run(&mut conn, go).unwrap();
                assert_eq!(again.records, 0);
                assert_eq!(records(&mut conn), all);

                // Without a reason, the documented default.
                plain_rows(&mut conn, 30..=30);
                Populate::new(spec).run(&mut conn, go).unwrap();
                let last = records(&mut conn).pop().unwrap();
                assert_eq!(
                    last.history_change_reason.as_deref(),
                    Some(DEFAULT_POPULATE_REASON)
                );
                assert_eq!(last.history_user_id, None);
            }

            #[test]
            fn an_interrupted_populate_resumes_where_it_stopped() {
                let (mut conn, _turn) = setup();
                plain_rows(&mut conn, 1..=20);
                let spec = &Order::HISTORY_TABLE;
                let stopped = Populate::new(spec)
                    .chunk_size(6)
                    .run(&mut conn, |_| ControlFlow::Break(()))
                    .unwrap();
                assert_eq!(
                    (stopped.records, stopped.chunks, stopped.interrupted),
                    (6, 1, true)
                );
                assert_eq!(records(&mut conn).len(), 6);
                let mut seen = Vec::new();
                let rest = Populate::new(spec)
                    .chunk_size(6)
                    .run(&mut conn, |progress| {
                        seen.push((progress.records, progress.total));
                        ControlFlow::Continue(())
                    })
                    .unwrap();
                assert_eq!((rest.records, rest.interrupted), (14, false));
                assert_eq!(seen.last(), Some(&(14, 20)));
                let all = records(&mut conn);
                let ids: Vec<i32> = all.iter().map(|record| record.id).collect();
                assert_eq!(ids, (1..=20).collect::<Vec<_>>());
            }

            #[test]
            fn maintenance_refuses_to_run_inside_a_transaction() {
                let (mut conn, _turn) = setup();
                let err = conn
                    .transaction(|conn| {
                        Populate::new(&Order::HISTORY_TABLE)
                            .run(conn, go)
                            .map(|_| ())
                    })
                    .unwrap_err();
                assert!(
                    matches!(err, HistoryError::InTransaction { model: "Order" }),
                    "{err}"
                );
            }

            /// Writes one object's versions at the given days (hours after
            /// `start`), `None` deleting it and the next version recreating it.
            fn versions(
                conn: &mut ConcurrentConn,
                id: i32,
                start: DateTime<Utc>,
                steps: &[(i64, Option<&str>)],
            ) {
                let mut live: Option<Order> = None;
                for (hours, status) in steps {
                    let ctx = HistoryContext::new().at(start + Duration::hours(*hours));
                    live = match (live, status) {
                        (None, Some(status)) => Some(
                            Order::create_with_history(&mut *conn, order(id, status), &ctx)
                                .unwrap(),
                        ),
                        (Some(row), Some(status)) => {
                            let row = Order {
                                status: (*status).to_owned(),
                                ..row
                            };
                            row.save_with_history(&mut *conn, &ctx).unwrap();
                            Some(row)
                        }
                        (Some(row), None) => {
                            row.delete_with_history(&mut *conn, &ctx).unwrap();
                            None
                        }
                        (None, None) => None,
                    };
                }
            }

            fn statuses(conn: &mut ConcurrentConn, id: i32) -> Vec<(HistoryType, String)> {
                records(conn)
                    .into_iter()
                    .filter(|record| record.id == id)
                    .map(|record| (record.history_type, record.status))
                    .collect()
            }

            #[test]
            fn clean_duplicates_keeps_the_first_of_each_run_and_a_dry_run_deletes_nothing() {
                use HistoryType::*;
                let (mut conn, _turn) = setup();
                let start = Utc::now() - Duration::days(10);
                let steps = [
                    (0, Some("a")),
                    (1, Some("a")),
                    (2, Some("a")),
                    (3, Some("b")),
                    (4, Some("b")),
                    (5, Some("a")),
                ];
                versions(&mut conn, 1, start, &steps);
                versions(
                    &mut conn,
                    2,
                    start,
                    &[(0, Some("a")), (1, Some("b")), (2, None)],
                );
                // A save that changes nothing records a duplicate too.
                versions(&mut conn, 3, start, &[(0, Some("x")), (100, Some("x"))]);
                let spec = &Order::HISTORY_TABLE;
                let before = records(&mut conn);

                let dry = CleanDuplicates::new(spec)
                    .chunk_size(2)
                    .dry_run(true)
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!(dry.records, 4);
                assert_eq!(records(&mut conn), before);

                // Only the last 50 hours: object 3's duplicate alone.
                let recent = CleanDuplicates::new(spec)
                    .since(start + Duration::hours(50))
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!(recent.records, 1);
                assert_eq!(statuses(&mut conn, 3), [(Created, "x".to_owned())]);

                let done = CleanDuplicates::new(spec)
                    .chunk_size(2)
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!(done.records, 3);
                let s = |kind, status: &str| (kind, status.to_owned());
                assert_eq!(
                    statuses(&mut conn, 1),
                    [s(Created, "a"), s(Changed, "b"), s(Changed, "a")]
                );
                assert_eq!(
                    statuses(&mut conn, 2),
                    [s(Created, "a"), s(Changed, "b"), s(Deleted, "b")]
                );
                assert_eq!(
                    CleanDuplicates::new(spec)
                        .run(&mut conn, go)
                        .unwrap()
                        .records,
                    0
                );
            }

            /// The state of every object at `times`, as `as_of` answers it.
            fn answers(
                conn: &mut ConcurrentConn,
                ids: &[i32],
                times: &[DateTime<Utc>],
            ) -> Vec<Result<Order, String>> {
                let mut out = Vec::new();
                for id in ids {
                    for at in times {
                        // An object deleted before the cutoff keeps no record:
                        // from then on it is absent either way.
                        out.push(Order::as_of(&mut *conn, id, *at).map_err(|err| match err {
                            HistoryError::Deleted { .. } | HistoryError::NotCreatedYet { .. } => {
                                "absent".to_owned()
                            }
                            other => other.to_string(),
                        }));
                    }
                }
                out
            }

            #[test]
            fn compaction_keeps_every_as_of_answer_after_the_cutoff() {
                let (mut conn, _turn) = setup();
                let start = Utc::now() - Duration::days(60);
                // A small generator: reproducible random histories.
                let mut seed = 0x9e37_79b9_u64;
                let mut next = |below: u64| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 33) % below
                };
                let ids: Vec<i32> = (1..=12).collect();
                for id in &ids {
                    let mut hour = next(200) as i64;
                    let mut steps = Vec::new();
                    let mut alive = false;
                    for n in 0..(2 + next(10)) {
                        hour += 1 + next(150) as i64;
                        let status = if alive && next(5) == 0 {
                            None
                        } else {
                            Some(["new", "paid", "sent"][(n % 3) as usize])
                        };
                        alive = status.is_some();
                        steps.push((hour, status));
                    }
                    let steps: Vec<(i64, Option<&str>)> = steps;
                    versions(&mut conn, *id, start, &steps);
                }
                let cutoff = start + Duration::hours(700);
                let times: Vec<DateTime<Utc>> = std::iter::once(cutoff)
                    .chain((0..15).map(|_| cutoff + Duration::minutes(next(60 * 1400) as i64)))
                    .collect();
                let before = answers(&mut conn, &ids, &times);
                let all_before = records(&mut conn);
                let spec = &Order::HISTORY_TABLE;

                let dry = CleanOld::new(spec, cutoff)
                    .mode(Prune::Compact)
                    .dry_run(true)
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!(records(&mut conn), all_before);
                let done = CleanOld::new(spec, cutoff)
                    .mode(Prune::Compact)
                    .chunk_size(7)
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!(done.records, dry.records);
                assert!(
                    done.records > 0,
                    "the histories reach back before the cutoff"
                );
                assert_eq!(answers(&mut conn, &ids, &times), before);

                let after = records(&mut conn);
                for id in &ids {
                    let mine: Vec<&HistoricalOrder> =
                        after.iter().filter(|record| record.id == *id).collect();
                    let old: Vec<&&HistoricalOrder> = mine
                        .iter()
                        .filter(|record| record.history_date < cutoff)
                        .collect();
                    assert!(
                        old.len() <= 1,
                        "object {id} keeps one record before the cutoff"
                    );
                    if let Some(first) = old.first() {
                        assert_ne!(first.history_type, HistoryType::Deleted);
                        assert!(first.prev_record(&mut conn).unwrap().is_none());
                    }
                }
            }

            #[test]
            fn clean_old_prunes_all_or_keeps_the_newest_and_archives_what_it_deletes() {
                use HistoryType::*;
                let (mut conn, _turn) = setup();
                let start = Utc::now() - Duration::days(30);
                for id in 1..=3 {
                    versions(
                        &mut conn,
                        id,
                        start,
                        &[
                            (0, Some("a")),
                            (1, Some("b")),
                            (2, Some("c")),
                            (500, Some("d")),
                        ],
                    );
                }
                let cutoff = start + Duration::hours(100);
                let spec = &Order::HISTORY_TABLE;
                let before = records(&mut conn);

                let mut kept_two = Vec::new();
                let mut archive = Archive::new(&mut kept_two, ArchiveFormat::JsonLines);
                let done = CleanOld::new(spec, cutoff)
                    .mode(Prune::KeepNewest(2))
                    .chunk_size(5)
                    .archive(&mut archive)
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!(done.records, 6);
                let s = |kind, status: &str| (kind, status.to_owned());
                assert_eq!(statuses(&mut conn, 2), [s(Changed, "c"), s(Changed, "d")]);
                let lines: Vec<serde_json::Value> = String::from_utf8(kept_two)
                    .unwrap()
                    .lines()
                    .map(|line| serde_json::from_str(line).unwrap())
                    .collect();
                assert_eq!(lines.len(), 6);
                let deleted: Vec<&HistoricalOrder> = before
                    .iter()
                    .filter(|r| r.status == "a" || r.status == "b")
                    .collect();
                for (line, record) in lines.iter().zip(&deleted) {
                    assert_eq!(line["history_id"].as_i64(), Some(record.history_id));
                    assert_eq!(line["id"].as_i64(), Some(i64::from(record.id)));
                    assert_eq!(line["status"].as_str(), Some(record.status.as_str()));
                    assert_eq!(line["total"].as_f64(), Some(record.total));
                    assert_eq!(
                        line["history_type"].as_str(),
                        Some(record.history_type.as_str())
                    );
                }

                let mut csv = Vec::new();
                {
                    let mut archive = Archive::new(&mut csv, ArchiveFormat::Csv);
                    let dry = CleanOld::new(spec, cutoff)
                        .dry_run(true)
                        .archive(&mut archive)
                        .run(&mut conn, go)
                        .unwrap();
                    assert_eq!(dry.records, 3);
                }
                assert!(csv.is_empty(), "a dry run archives nothing");
                let mut archive = Archive::new(&mut csv, ArchiveFormat::Csv);
                let done = CleanOld::new(spec, cutoff)
                    .archive(&mut archive)
                    .run(&mut conn, go)
                    .unwrap();
                assert_eq!(done.records, 3);
                let csv = String::from_utf8(csv).unwrap();
                let mut rows = csv.lines();
                assert_eq!(rows.next().unwrap(), spec.column_names().join(","));
                let row: Vec<&str> = rows.next().unwrap().split(',').collect();
                assert_eq!(&row[1..4], ["1", "c", "1.5"]);
                assert_eq!(rows.count(), 2);
                assert_eq!(statuses(&mut conn, 3), [s(Changed, "d")]);
            }

            #[test]
            fn stats_count_records_by_type_with_their_dates() {
                let (mut conn, _turn) = setup();
                let spec = &Order::HISTORY_TABLE;
                let empty = history_stats(&mut conn, spec).unwrap();
                assert_eq!(
                    (empty.records, empty.oldest, empty.bytes_per_record()),
                    (0, None, None)
                );
                let start = crate::support::at(1, 8, 0);
                versions(
                    &mut conn,
                    1,
                    start,
                    &[(0, Some("a")), (1, Some("b")), (2, None)],
                );
                versions(&mut conn, 2, start, &[(3, Some("a"))]);
                let stats = history_stats(&mut conn, spec).unwrap();
                assert_eq!(
                    (stats.records, stats.created, stats.changed, stats.deleted),
                    (4, 2, 1, 1)
                );
                assert_eq!(stats.oldest, Some(start));
                assert_eq!(stats.newest, Some(start + Duration::hours(3)));
                assert_eq!(stats.history_table, "historical_orders");
                assert_eq!(
                    stats.bytes.is_some(),
                    DIALECT == history_diesel::Dialect::Postgres
                );
            }

            /// A writer creating and changing rows while the backfill runs:
            /// every row ends with its current values recorded, and none with
            /// two `+` records or a `+` after its `~`.
            #[test]
            fn a_concurrent_writer_during_populate_loses_nothing_and_gets_no_second_create() {
                let _serial = connect();
                let setup = concurrent_database();
                let _cleanup = crate::support::OnDrop(|| drop_concurrent_database(&setup));
                plain_rows(&mut concurrent_connection(&setup), 1..=300);
                let spec = &Order::HISTORY_TABLE;
                let writer_done = std::sync::atomic::AtomicBool::new(false);
                std::thread::scope(|scope| {
                    let writer = scope.spawn(|| {
                        let mut conn = concurrent_connection(&setup);
                        let ctx = HistoryContext::new().user(9);
                        for n in 0..60 {
                            let created = order(1000 + n, "fresh");
                            Order::create_with_history(&mut conn, created, &ctx).unwrap();
                            let id = 1 + (n * 5) % 300;
                            let mut row: Order = orders::table.find(id).first(&mut conn).unwrap();
                            row.status = format!("changed {n}");
                            row.save_with_history(&mut conn, &ctx).unwrap();
                        }
                        writer_done.store(true, std::sync::atomic::Ordering::SeqCst);
                    });
                    let mut conn = concurrent_connection(&setup);
                    let outcome = Populate::new(spec)
                        .chunk_size(7)
                        .run(&mut conn, |_| {
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            ControlFlow::Continue(())
                        })
                        .unwrap();
                    assert!(!outcome.interrupted);
                    writer.join().unwrap();
                });
                assert!(writer_done.load(std::sync::atomic::Ordering::SeqCst));
                let mut conn = concurrent_connection(&setup);
                Populate::new(spec).run(&mut conn, go).unwrap();
                let live: Vec<Order> = orders::table.order(orders::id).load(&mut conn).unwrap();
                let all = records(&mut conn);
                assert_eq!(live.len(), 360);
                for row in &live {
                    let mine: Vec<&HistoricalOrder> =
                        all.iter().filter(|r| r.id == row.id).collect();
                    let creates = mine
                        .iter()
                        .filter(|r| r.history_type == HistoryType::Created)
                        .count();
                    assert!(creates <= 1, "object {} has {creates} `+` records", row.id);
                    if creates == 1 {
                        assert_eq!(
                            mine[0].history_type,
                            HistoryType::Created,
                            "object {}: `+` first",
                            row.id
                        );
                    }
                    let latest = mine
                        .last()
                        .unwrap_or_else(|| panic!("object {} has no record", row.id));
                    assert_eq!(latest.status, row.status, "object {}", row.id);
                }
            }
        }
    };
}

pub(crate) use maintenance_suite;
