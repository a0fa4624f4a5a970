//! What every backend suite shares: schema inspection, serialised access to a
//! shared server, and the test bodies themselves (`backend_suite!`), written
//! once and instantiated with each backend's concrete connection.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use history_diesel::migrations::HistoryMigrations;
use history_diesel::{Dialect, HistoryTableSpec};

/// A column as the database itself reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: String,
    pub nullable: bool,
}

/// Reads a table's shape from the database's own catalog.
pub trait Inspect {
    /// Columns in table order; empty when the table does not exist.
    fn columns(&mut self, table: &str) -> Vec<Column>;

    /// The primary key (`primary`) or the secondary indexes, as (name,
    /// columns in index order), sorted by name.
    fn index_columns(&mut self, table: &str, primary: bool) -> Vec<(String, Vec<String>)>;

    /// Secondary indexes.
    fn indexes(&mut self, table: &str) -> Vec<(String, Vec<String>)> {
        self.index_columns(table, false)
    }

    /// Primary-key columns in key order.
    fn primary_key(&mut self, table: &str) -> Vec<String> {
        self.index_columns(table, true)
            .into_iter()
            .flat_map(|(_, columns)| columns)
            .collect()
    }
}

/// A connection held together with the lock of the server it talks to:
/// suites on a shared server run one test at a time, as DDL on MySQL commits
/// and cannot be isolated in a test transaction.
pub struct TestConn<C> {
    conn: C,
    _lock: Option<MutexGuard<'static, ()>>,
}

impl<C> TestConn<C> {
    pub fn unlocked(conn: C) -> Self {
        TestConn { conn, _lock: None }
    }

    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub fn locked(lock: &'static Mutex<()>, connect: impl FnOnce() -> C) -> Self {
        // A failed test poisons the lock; the next test cleans up anyway.
        let guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        TestConn {
            conn: connect(),
            _lock: Some(guard),
        }
    }
}

impl<C> Deref for TestConn<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.conn
    }
}

impl<C> DerefMut for TestConn<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.conn
    }
}

/// A UTC instant with microseconds, the precision history dates keep.
pub fn at(day: u32, hour: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
        + chrono::Duration::microseconds(i64::from(micros))
}

pub fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
}

/// The (name, type) pairs of `columns`, for comparing with an expected list.
pub fn names_and_types(columns: &[Column]) -> Vec<(&str, &str)> {
    columns
        .iter()
        .map(|column| (column.name.as_str(), column.ty.as_str()))
        .collect()
}

/// The test bodies of one backend. The invoking module provides `DIALECT`,
/// `connect()`, `SOURCE_DDL`, `LIMITS_DDL`, `ORDER_HISTORY_COLUMNS`,
/// `TAG_HISTORY_COLUMNS`, `TICKET_HISTORY_COLUMNS`, `CHECK_VIOLATION`, and
/// `impl Inspect` for its connection type.
macro_rules! backend_suite {
    (embedded_migrations = $embedded:literal) => {
        use chrono::{NaiveTime, Timelike};
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;
        use diesel_migrations::{embed_migrations, EmbeddedMigrations, FileBasedMigrations, MigrationHarness};
        use history_diesel::sql_types::UuidValue;
        use history_diesel::{HistoricalRecords, HistoryRecord, HistoryTableSpec, HistoryType};

        use crate::models::*;
        use crate::support::{at, date, names_and_types};

        const EMBEDDED: EmbeddedMigrations = embed_migrations!($embedded);

        const SPECS: [HistoryTableSpec; 4] =
            [Order::HISTORY_TABLE, EveryType::HISTORY_TABLE, Tag::HISTORY_TABLE, Ticket::HISTORY_TABLE];

        fn create_tables(conn: &mut Conn) {
            conn.batch_execute(SOURCE_DDL).expect("source tables");
            for spec in SPECS {
                conn.batch_execute(&spec.up_sql(DIALECT)).expect(spec.history_table);
            }
            conn.batch_execute(&Note::HISTORY_TABLE.up_sql(DIALECT)).expect("historical_notes");
        }

        #[test]
        fn written_migration_folders_run_and_revert_with_diesel_migrations() {
            let mut conn = connect();
            let dir = crate::support::scratch_dir(&format!("written-{}", DIALECT.name()));
            let steps: Vec<&[HistoryTableSpec]> = (1..=SPECS.len()).map(|n| &SPECS[..n]).collect();
            crate::support::write_history_steps(&dir, DIALECT, &steps);
            let migrations = FileBasedMigrations::from_path(&dir).unwrap();

            let applied = conn.run_pending_migrations(migrations.clone()).unwrap();
            assert_eq!(applied.len(), SPECS.len());
            for spec in SPECS {
                let columns = conn.columns(spec.history_table);
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                assert_eq!(names, spec.column_names(), "{}", spec.history_table);
            }

            let reverted = conn.revert_all_migrations(migrations).unwrap();
            assert_eq!(reverted.len(), SPECS.len());
            for spec in SPECS {
                assert!(conn.columns(spec.history_table).is_empty(), "{} still exists", spec.history_table);
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }

        #[test]
        fn committed_migrations_run_through_embed_migrations() {
            let mut conn = connect();
            let applied = conn.run_pending_migrations(EMBEDDED).unwrap();
            assert_eq!(applied.len(), SPECS.len());
            assert_eq!(conn.columns("historical_orders").len(), Order::HISTORY_TABLE.column_names().len());
            conn.revert_all_migrations(EMBEDDED).unwrap();
            assert!(conn.columns("historical_orders").is_empty());
        }

        #[test]
        fn database_reports_the_columns_types_keys_and_indexes() {
            let mut conn = connect();
            create_tables(&mut conn);

            let columns = conn.columns("historical_orders");
            assert_eq!(names_and_types(&columns), ORDER_HISTORY_COLUMNS);
            let nullable: Vec<&str> = columns.iter().filter(|c| c.nullable).map(|c| c.name.as_str()).collect();
            assert_eq!(nullable, ["history_user_id", "history_change_reason"]);
            assert_eq!(conn.primary_key("historical_orders"), ["history_id"]);
            assert_eq!(
                conn.indexes("historical_orders"),
                [
                    ("historical_orders_history_date_idx".to_owned(), vec!["history_date".to_owned()]),
                    ("historical_orders_history_user_id_idx".to_owned(), vec!["history_user_id".to_owned()]),
                    (
                        "historical_orders_object_history_idx".to_owned(),
                        vec!["id".to_owned(), "history_date".to_owned(), "history_id".to_owned()],
                    ),
                ]
            );

            let columns = conn.columns("tag_history");
            assert_eq!(names_and_types(&columns), TAG_HISTORY_COLUMNS);
            assert_eq!(
                conn.indexes("tag_history")[2],
                (
                    "tag_history_object_history_idx".to_owned(),
                    vec!["code".to_owned(), "history_date".to_owned(), "history_id".to_owned()],
                )
            );

            // Nullability of every tracked column follows the model's `Option`s.
            let columns = conn.columns("historical_every_types");
            for spec in EveryType::HISTORY_TABLE.columns {
                let column = columns.iter().find(|c| c.name == spec.name).expect(spec.name);
                assert_eq!(column.nullable, spec.nullable, "{}", spec.name);
            }
        }

        #[test]
        fn every_type_round_trips_through_the_history_table() {
            let mut conn = connect();
            create_tables(&mut conn);
            let first = HistoricalEveryType {
                history_id: 0,
                id: 1,
                small: -3,
                big: 1 << 40,
                ratio: 1.5,
                amount: 12345.678,
                active: true,
                name: "naïve 'quoted' text".into(),
                payload: vec![0, 255, 10, 13],
                day: date(22),
                clock: NaiveTime::from_hms_micro_opt(13, 14, 15, 123_456).unwrap(),
                stamp: at(22, 9, 654_321).naive_utc(),
                note: None,
                rank: Some(7),
                seen_at: None,
                label: "shown".into(),
                history_date: at(22, 10, 1),
                history_type: HistoryType::Created,
                history_user_id: Some(42),
                history_change_reason: Some("import".into()),
            };
            let second = HistoricalEveryType {
                note: Some("now set".into()),
                rank: None,
                seen_at: Some(at(23, 8, 5).naive_utc()),
                active: false,
                history_date: at(22, 10, 2),
                history_type: HistoryType::Changed,
                history_user_id: None,
                history_change_reason: None,
                ..first.clone()
            };
            for record in [&first, &second] {
                diesel::insert_into(historical_every_types::table)
                    .values(record.clone())
                    .execute(&mut *conn)
                    .unwrap();
            }

            let loaded: Vec<HistoricalEveryType> = historical_every_types::table
                .order(historical_every_types::history_id.asc())
                .select(HistoricalEveryType::as_select())
                .load(&mut *conn)
                .unwrap();
            assert_eq!(loaded.len(), 2);
            assert!(loaded[0].history_id < loaded[1].history_id, "ids increase");
            for (stored, written) in loaded.iter().zip([&first, &second]) {
                let expected = HistoricalEveryType {
                    history_id: stored.history_id,
                    ..written.clone()
                };
                assert_eq!(stored, &expected);
            }
            assert_eq!(loaded[0].history_date.nanosecond(), 1_000, "microseconds kept");
        }

        #[test]
        fn text_primary_key_uuid_history_id_and_text_user_round_trip() {
            let mut conn = connect();
            create_tables(&mut conn);
            let id = uuid::Uuid::new_v4();
            let record = TagVersion {
                history_id: id,
                code: "alpha".into(),
                label: "Alpha".into(),
                history_date: at(22, 11, 0),
                history_type: HistoryType::Deleted,
                history_user_id: Some("alice@example.com".into()),
                // `change_reason = text`: longer than the default VARCHAR(100).
                history_change_reason: Some("r".repeat(500)),
            };
            diesel::insert_into(tag_history::table)
                .values(record.clone())
                .execute(&mut *conn)
                .unwrap();
            diesel::insert_into(tag_history::table)
                .values(TagVersion { history_id: uuid::Uuid::new_v4(), code: "beta".into(), ..record.clone() })
                .execute(&mut *conn)
                .unwrap();

            let loaded: TagVersion = tag_history::table
                .filter(tag_history::history_id.eq(UuidValue(id)))
                .select(TagVersion::as_select())
                .first(&mut *conn)
                .unwrap();
            assert_eq!(loaded, record);
            assert_eq!(loaded.history_id(), &id);
            assert_eq!(loaded.history_user_id().map(String::as_str), Some("alice@example.com"));
        }

        #[test]
        fn order_history_is_queryable_by_type_date_and_user() {
            let mut conn = connect();
            create_tables(&mut conn);
            let order = |status: &str, kind, hour, user| HistoricalOrder {
                history_id: 0,
                id: 1,
                status: status.into(),
                total: 10.0,
                customer_notes: String::new(),
                history_date: at(22, hour, 0),
                history_type: kind,
                history_user_id: user,
                history_change_reason: None,
            };
            // The same primary key many times: the source key is not unique here.
            let records = [
                order("new", HistoryType::Created, 8, Some(7)),
                order("paid", HistoryType::Changed, 9, Some(8)),
                order("shipped", HistoryType::Changed, 10, Some(7)),
                order("shipped", HistoryType::Deleted, 11, None),
            ];
            for record in &records {
                diesel::insert_into(historical_orders::table)
                    .values(record.clone())
                    .execute(&mut *conn)
                    .unwrap();
            }

            use historical_orders::dsl as h;
            let changed: Vec<String> = h::historical_orders
                .filter(h::history_type.eq(HistoryType::Changed))
                .order((h::history_date.desc(), h::history_id.desc()))
                .select(h::status)
                .load(&mut *conn)
                .unwrap();
            assert_eq!(changed, ["shipped", "paid"]);

            let until_nine: i64 = h::historical_orders
                .filter(h::history_date.le(at(22, 9, 0).naive_utc()))
                .count()
                .get_result(&mut *conn)
                .unwrap();
            assert_eq!(until_nine, 2);

            let by_user_7: Vec<HistoricalOrder> = h::historical_orders
                .filter(h::history_user_id.eq(7))
                .order(h::history_id.asc())
                .select(HistoricalOrder::as_select())
                .load(&mut *conn)
                .unwrap();
            assert_eq!(by_user_7.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(), ["new", "shipped"]);
            assert_eq!(by_user_7[0].history_type(), HistoryType::Created);
        }

        #[test]
        fn history_type_accepts_only_the_three_kinds() {
            let mut conn = connect();
            create_tables(&mut conn);
            let insert = |kind: &str| {
                format!(
                    "INSERT INTO historical_orders (id, status, total, customer_notes, history_date, history_type) \
                     VALUES (1, 'new', 1.5, '', '2026-11-22 10:00:00', '{kind}')"
                )
            };
            for kind in ["+", "~", "-"] {
                diesel::sql_query(insert(kind)).execute(&mut *conn).unwrap();
            }
            let err = diesel::sql_query(insert("x")).execute(&mut *conn).unwrap_err();
            assert!(err.to_string().to_lowercase().contains(CHECK_VIOLATION), "{err}");
        }

        crate::writes::write_suite!();
        crate::reads::read_suite!();
        crate::names::names_suite!();
        crate::ordering::ordering_suite!();
        crate::maintenance::maintenance_suite!();
        crate::atomicity::atomicity_suite!();
        crate::limits::limits_suite!();
        crate::request_info::request_info_suite!();
        crate::serialization::serialization_suite!();

        #[test]
        fn down_migration_drops_the_history_table() {
            let mut conn = connect();
            create_tables(&mut conn);
            assert!(!conn.columns("historical_orders").is_empty());
            conn.batch_execute(&Order::HISTORY_TABLE.down_sql(DIALECT)).unwrap();
            assert!(conn.columns("historical_orders").is_empty());
        }
    };
}

pub(crate) use backend_suite;

/// Groups (index, column) rows, already ordered by index then position.
pub fn group_index_columns(
    rows: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, Vec<String>)> {
    let mut indexes: Vec<(String, Vec<String>)> = Vec::new();
    for (index, column) in rows {
        match indexes.last_mut() {
            Some((name, columns)) if *name == index => columns.push(column),
            _ => indexes.push((index, vec![column])),
        }
    }
    indexes
}

/// Writes one history migration per step into `dir` (emptied first), each
/// bringing the folder up to that step's models, with versions
/// `2026-11-22-000000`, `2026-11-22-000001`, ..; returns the folders.
pub fn write_history_steps(
    dir: &Path,
    dialect: Dialect,
    steps: &[&[HistoryTableSpec]],
) -> Vec<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    steps
        .iter()
        .enumerate()
        .map(|(i, models)| {
            let version = format!("2026-11-22-{i:06}");
            HistoryMigrations::new(dir, dialect, models.iter())
                .write(Some(&version), None)
                .unwrap_or_else(|err| panic!("step {i}: {err}"))
                .unwrap_or_else(|| panic!("step {i} changes nothing"))
        })
        .collect()
}

/// Asserts that `committed` holds exactly the files of `generated`, byte for
/// byte; with `HISTORY_BLESS=1`, makes it so first.
pub fn assert_same_folder(committed: &Path, generated: &Path) {
    if std::env::var_os("HISTORY_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(committed);
        copy_tree(generated, committed);
    }
    let (want, have) = (files_under(generated), files_under(committed));
    let names = |files: &[(PathBuf, String)]| {
        files
            .iter()
            .map(|(path, _)| path.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&have),
        names(&want),
        "{} holds other files than are generated; run with HISTORY_BLESS=1 to rewrite it",
        committed.display()
    );
    for ((path, have), (_, want)) in have.iter().zip(&want) {
        assert_eq!(
            have,
            want,
            "{} differs from the generated file; run with HISTORY_BLESS=1 to rewrite it",
            committed.join(path).display()
        );
    }
}

fn files_under(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path.strip_prefix(root).unwrap().to_owned(), text));
            }
        }
    }
    files.sort();
    files
}

fn copy_tree(from: &Path, to: &Path) {
    for (path, text) in files_under(from) {
        let target = to.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
}

/// A fresh, empty folder under the system's temporary directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("history-tests-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs its closure when dropped, also while a failed test unwinds.
pub struct OnDrop<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}
