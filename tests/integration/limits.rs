//! Values at the edges of what each backend stores: history must keep every
//! value its source column holds, or refuse the write with a typed error;
//! never keep a cut or wrapped copy.

use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    documents (id) {
        id -> Integer,
        body -> Text,
        data -> Binary,
    }
}

/// Long text and binary, with an unbounded change reason. Each backend
/// creates `documents` with its widest types (`LIMITS_DDL`).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Identifiable,
    AsChangeset,
    Insertable,
    HistoricalRecords,
)]
#[diesel(table_name = documents)]
#[history(change_reason = text)]
pub struct Document {
    pub id: i32,
    pub body: String,
    pub data: Vec<u8>,
}

#[derive(Insertable)]
#[diesel(table_name = documents)]
pub struct NewDocument<'a> {
    pub body: &'a str,
    pub data: &'a [u8],
}

/// One mebibyte: far over MySQL's `TEXT` and `BLOB` (64 KiB).
pub const LONG: usize = 1 << 20;

/// `LONG` copies of `c`.
pub fn long_text(c: char) -> String {
    c.to_string().repeat(LONG)
}

/// `LONG` copies of `b`.
pub fn long_bytes(b: u8) -> Vec<u8> {
    vec![b; LONG]
}

/// A long body and data in short: the one character and byte they repeat
/// (`None` when they repeat none) and their lengths.
pub fn shape(body: &str, data: &[u8]) -> (Option<char>, usize, Option<u8>, usize) {
    let first = body
        .chars()
        .next()
        .filter(|c| body.chars().all(|x| x == *c));
    let byte = data
        .first()
        .copied()
        .filter(|b| data.iter().all(|x| x == b));
    (first, body.len(), byte, data.len())
}

/// Test bodies for the limits; expanded inside `backend_suite!`, next to
/// its `connect()` and the write and read suites' imports. The backend
/// module provides `LIMITS_DDL`.
macro_rules! limits_suite {
    () => {
        use crate::limits::{
            documents, historical_documents, long_bytes, long_text, shape, Document,
            HistoricalDocument, NewDocument, LONG,
        };

        fn create_limit_tables(conn: &mut Conn) {
            conn.batch_execute(LIMITS_DDL).expect("limits tables");
            conn.batch_execute(&Document::HISTORY_TABLE.up_sql(DIALECT))
                .expect("historical_documents");
        }

        fn document_records(conn: &mut Conn) -> Vec<HistoricalDocument> {
            historical_documents::table
                .order(historical_documents::history_id.asc())
                .select(HistoricalDocument::as_select())
                .load(&mut **conn)
                .unwrap()
        }

        #[test]
        fn a_mebibyte_of_text_and_binary_reaches_history_whole_through_every_write() {
            let mut conn = connect();
            create_limit_tables(&mut conn);
            let reason = long_text('r');
            let ctx = HistoryContext::new().reason(reason.clone());
            let (a, b, c) = (long_text('a'), long_text('b'), long_text('c'));

            // create, save, update by filter
            let first = Document::create_with_history(
                &mut *conn,
                &NewDocument {
                    body: &a,
                    data: &long_bytes(1),
                },
                &ctx,
            )
            .unwrap();
            let saved = Document {
                body: b.clone(),
                data: long_bytes(2),
                ..first.clone()
            };
            saved.save_with_history(&mut *conn, &ctx).unwrap();
            let changed = Document::update_where_with_history(
                &mut *conn,
                documents::id.eq(first.id),
                (documents::body.eq(&c), documents::data.eq(long_bytes(3))),
                &ctx,
            )
            .unwrap();
            assert_eq!(changed, 1);

            // bulk create, bulk update
            let (d, e, f) = (long_text('d'), long_text('e'), long_text('f'));
            let (bytes_4, bytes_5) = (long_bytes(4), long_bytes(5));
            let created = Document::bulk_create_with_history(
                &mut *conn,
                &[
                    NewDocument {
                        body: &d,
                        data: &bytes_4,
                    },
                    NewDocument {
                        body: &e,
                        data: &bytes_5,
                    },
                ],
                &ctx,
                BulkOptions::default(),
            )
            .unwrap();
            assert_eq!(created.len(), 2);
            let updated = Document {
                body: f.clone(),
                data: long_bytes(6),
                ..created[0].clone()
            };
            Document::bulk_update_with_history(
                &mut *conn,
                &[updated],
                &ctx,
                BulkOptions::default(),
            )
            .unwrap();

            // delete, then restore the saved version (an undelete)
            let current = Document {
                body: c.clone(),
                data: long_bytes(3),
                ..first.clone()
            };
            current.delete_with_history(&mut *conn, &ctx).unwrap();
            let saved_record = document_records(&mut conn)
                .into_iter()
                .find(|r| r.id == first.id && r.history_type == HistoryType::Changed)
                .unwrap();
            let restored = Document::restore_with_history(&mut *conn, &saved_record, &ctx).unwrap();
            assert_eq!(
                shape(&restored.body, &restored.data),
                (Some('b'), LONG, Some(2), LONG)
            );

            // the reason, after the fact
            Document::update_change_reason(&mut *conn, &created[1].id, &long_text('s')).unwrap();

            let records = document_records(&mut conn);
            let seen: Vec<_> = records
                .iter()
                .map(|r| (r.id, r.history_type, shape(&r.body, &r.data)))
                .collect();
            let (one, two, three) = (first.id, created[0].id, created[1].id);
            let whole = |c, b| (Some(c), LONG, Some(b), LONG);
            assert_eq!(
                seen,
                [
                    (one, HistoryType::Created, whole('a', 1)),
                    (one, HistoryType::Changed, whole('b', 2)),
                    (one, HistoryType::Changed, whole('c', 3)),
                    (two, HistoryType::Created, whole('d', 4)),
                    (three, HistoryType::Created, whole('e', 5)),
                    (two, HistoryType::Changed, whole('f', 6)),
                    (one, HistoryType::Deleted, whole('c', 3)),
                    (one, HistoryType::Created, whole('b', 2)),
                ]
            );
            let reasons: Vec<(usize, bool)> = records
                .iter()
                .map(|r| {
                    let reason = r.history_change_reason.as_deref().unwrap_or("");
                    (reason.len(), reason.starts_with('s'))
                })
                .collect();
            let mut expected = vec![(LONG, false); records.len()];
            expected[4] = (LONG, true);
            assert_eq!(reasons, expected);
            assert!(records
                .iter()
                .filter(|r| r.id != three)
                .all(|r| r.history_change_reason.as_deref() == Some(reason.as_str())));
        }

        /// The first and the last instant this backend stores as a history date.
        fn date_range() -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
            let range = DIALECT.history_date_range();
            (range.start().and_utc(), range.end().and_utc())
        }

        #[test]
        fn history_dates_across_the_backend_range_are_written_and_read_back() {
            let mut conn = connect();
            create_tables(&mut conn);
            let (first, last) = date_range();
            // Before 1970, where MariaDB's TIMESTAMP starts.
            let sixties = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 1960, 6, 1, 12, 0, 0).unwrap();
            let mut order = Order::create_with_history(
                &mut *conn,
                &NewOrder::new("first", 1.0),
                &HistoryContext::new().at(first),
            )
            .unwrap();
            order.status = "sixties".into();
            order.save_with_history(&mut *conn, &HistoryContext::new().at(sixties)).unwrap();
            order.status = "now".into();
            order.save_with_history(&mut *conn, &HistoryContext::new()).unwrap();
            let dates: Vec<_> = history_of(&mut conn).iter().map(|r| r.history_date).collect();
            assert_eq!(dates[..2], [first, sixties]);
            let now = dates[2];

            // After 2038, where MariaDB's TIMESTAMP stops, and past what the
            // backend stores: as of the latest record.
            let later = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2050, 6, 1, 12, 0, 0).unwrap();
            let end = chrono::DateTime::<chrono::Utc>::MAX_UTC;
            let cases = [(first, "first"), (sixties, "sixties"), (now, "now"), (later, "now"), (last, "now"), (end, "now")];
            for (date, status) in cases {
                assert_eq!(Order::as_of(&mut *conn, &order.id, date).unwrap().status, status, "{date}");
                let all = Order::all_as_of(&mut *conn, date).unwrap();
                assert_eq!(all.iter().map(|o| o.status.as_str()).collect::<Vec<_>>(), [status], "{date}");
            }
            assert_eq!(Order::record_as_of(&mut *conn, &order.id, end).unwrap().history_date, now);
            let state: Vec<HistoricalOrder> = Order::state_as_of(end)
                .select(HistoricalOrder::as_select())
                .load(&mut *conn)
                .unwrap();
            assert_eq!(state.iter().map(|r| r.history_date).collect::<Vec<_>>(), [now]);

            // Before what the backend stores: nothing yet.
            let micro = chrono::Duration::microseconds(1);
            for before in [first - micro, chrono::DateTime::<chrono::Utc>::MIN_UTC] {
                let answer = Order::as_of(&mut *conn, &order.id, before);
                assert!(matches!(answer, Err(HistoryError::NotCreatedYet { .. })), "{before}: {answer:?}");
                assert_eq!(Order::all_as_of(&mut *conn, before).unwrap(), [], "{before}");
            }
        }

        #[test]
        fn history_dates_outside_the_backend_range_are_refused_before_anything_is_written() {
            let mut conn = connect();
            create_tables(&mut conn);
            let (first, last) = date_range();
            let micro = chrono::Duration::microseconds(1);
            let outside = [
                first.checked_sub_signed(micro),
                last.checked_add_signed(micro),
                Some(chrono::DateTime::<chrono::Utc>::MIN_UTC),
                Some(chrono::DateTime::<chrono::Utc>::MAX_UTC)
                    .filter(|max| max.date_naive() > last.date_naive()),
            ];
            for date in outside.into_iter().flatten() {
                let ctx = HistoryContext::new().at(date);
                let err = Order::create_with_history(&mut *conn, &NewOrder::new("new", 1.0), &ctx)
                    .unwrap_err();
                assert!(
                    matches!(
                        err,
                        HistoryError::DateOutOfRange { date: refused, dialect, min, max, .. }
                            if refused == date && dialect == DIALECT && (min, max) == (first, last)
                    ),
                    "{date}: {err:?}"
                );
                assert_eq!(row_count(&mut conn), (0, 0), "{date}");
            }
        }
    };
}

pub(crate) use limits_suite;
