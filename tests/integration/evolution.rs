//! A model through seven versions, each a change a team makes in a year, and
//! the history migrations that follow it: written by history-diesel, applied
//! and reverted by diesel_migrations, with records written at every step and
//! read back after every later one.
//!
//! The committed folders under `tests/migrations/evolution/<dialect>/` are
//! the snapshot of every generated file; after an intended change:
//! `HISTORY_BLESS=1 cargo test -p history-tests --test integration evolution`.

use std::path::PathBuf;

use history_diesel::migrations::snapshot::Snapshot;
use history_diesel::migrations::{HistoryMigrations, SNAPSHOT_FILE};
use history_diesel::{Dialect, HistoricalRecords, HistoryTableSpec};

use crate::support::{assert_same_folder, scratch_dir, write_history_steps};

/// The first version: four fields.
pub mod v1 {
    use diesel::prelude::*;
    use history_diesel::HistoricalRecords;

    diesel::table! {
        shipments (id) {
            id -> Integer,
            status -> Text,
            total -> Double,
            legacy_code -> Text,
        }
    }

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
    #[diesel(table_name = shipments)]
    pub struct Shipment {
        pub id: i32,
        pub status: String,
        pub total: f64,
        pub legacy_code: String,
    }

    pub const SOURCE: &str =
        "CREATE TABLE shipments (id INTEGER PRIMARY KEY, status TEXT NOT NULL, total DOUBLE PRECISION NOT NULL, legacy_code TEXT NOT NULL)";

    pub fn expected(id: i32, _created_in: u32) -> Shipment {
        Shipment {
            id,
            status: format!("paid-{id}"),
            total: f64::from(id) + 0.5,
            legacy_code: format!("L{id}"),
        }
    }
}

/// Two fields added: a `NOT NULL` one (older records get 0) and an `Option`
/// (older records get None).
pub mod v2 {
    use diesel::prelude::*;
    use history_diesel::HistoricalRecords;

    diesel::table! {
        shipments (id) {
            id -> Integer,
            status -> Text,
            total -> Double,
            legacy_code -> Text,
            priority -> Integer,
            note -> Nullable<Text>,
        }
    }

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
    #[diesel(table_name = shipments)]
    pub struct Shipment {
        pub id: i32,
        pub status: String,
        pub total: f64,
        pub legacy_code: String,
        pub priority: i32,
        pub note: Option<String>,
    }

    pub const SOURCE: &str =
        "ALTER TABLE shipments ADD COLUMN priority INTEGER NOT NULL DEFAULT 0; ALTER TABLE shipments ADD COLUMN note TEXT";

    pub fn expected(id: i32, created_in: u32) -> Shipment {
        Shipment {
            id,
            status: format!("paid-{id}"),
            total: f64::from(id) + 0.5,
            legacy_code: format!("L{id}"),
            priority: if created_in >= 2 { id * 10 } else { 0 },
            note: (created_in >= 2).then(|| format!("n{id}")),
        }
    }
}

/// A field removed: history keeps its column and values.
pub mod v3 {
    use diesel::prelude::*;
    use history_diesel::HistoricalRecords;

    diesel::table! {
        shipments (id) {
            id -> Integer,
            status -> Text,
            total -> Double,
            priority -> Integer,
            note -> Nullable<Text>,
        }
    }

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
    #[diesel(table_name = shipments)]
    pub struct Shipment {
        pub id: i32,
        pub status: String,
        pub total: f64,
        pub priority: i32,
        pub note: Option<String>,
    }

    pub const SOURCE: &str = "ALTER TABLE shipments DROP COLUMN legacy_code";

    pub fn expected(id: i32, created_in: u32) -> Shipment {
        Shipment {
            id,
            status: format!("paid-{id}"),
            total: f64::from(id) + 0.5,
            priority: if created_in >= 2 { id * 10 } else { 0 },
            note: (created_in >= 2).then(|| format!("n{id}")),
        }
    }
}

/// A field retyped: `i32` to `i64`.
pub mod v4 {
    use diesel::prelude::*;
    use history_diesel::HistoricalRecords;

    diesel::table! {
        shipments (id) {
            id -> Integer,
            status -> Text,
            total -> Double,
            priority -> BigInt,
            note -> Nullable<Text>,
        }
    }

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
    #[diesel(table_name = shipments)]
    pub struct Shipment {
        pub id: i32,
        pub status: String,
        pub total: f64,
        pub priority: i64,
        pub note: Option<String>,
    }

    pub fn expected(id: i32, created_in: u32) -> Shipment {
        Shipment {
            id,
            status: format!("paid-{id}"),
            total: f64::from(id) + 0.5,
            priority: if created_in >= 2 {
                i64::from(id) * 10
            } else {
                0
            },
            note: (created_in >= 2).then(|| format!("n{id}")),
        }
    }
}

/// A column renamed: the same field, `#[diesel(column_name = state)]`.
pub mod v5 {
    use diesel::prelude::*;
    use history_diesel::HistoricalRecords;

    diesel::table! {
        shipments (id) {
            id -> Integer,
            state -> Text,
            total -> Double,
            priority -> BigInt,
            note -> Nullable<Text>,
        }
    }

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
    #[diesel(table_name = shipments)]
    pub struct Shipment {
        pub id: i32,
        #[diesel(column_name = state)]
        pub status: String,
        pub total: f64,
        pub priority: i64,
        pub note: Option<String>,
    }

    pub const SOURCE: &str = "ALTER TABLE shipments RENAME COLUMN status TO state";

    pub fn expected(id: i32, created_in: u32) -> Shipment {
        Shipment {
            id,
            status: format!("paid-{id}"),
            total: f64::from(id) + 0.5,
            priority: if created_in >= 2 {
                i64::from(id) * 10
            } else {
                0
            },
            note: (created_in >= 2).then(|| format!("n{id}")),
        }
    }
}

/// Options changed: a field left out of history, a longer change reason.
pub mod v6 {
    use diesel::prelude::*;
    use history_diesel::HistoricalRecords;

    pub use super::v5::shipments;

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
    #[diesel(table_name = shipments)]
    #[history(exclude(note), change_reason = varchar(255))]
    pub struct Shipment {
        pub id: i32,
        #[diesel(column_name = state)]
        pub status: String,
        pub total: f64,
        pub priority: i64,
        pub note: Option<String>,
    }

    pub fn expected(id: i32, created_in: u32) -> Shipment {
        let v5::Shipment {
            id,
            status,
            total,
            priority,
            note,
        } = super::v5::expected(id, created_in);
        Shipment {
            id,
            status,
            total,
            priority,
            note,
        }
    }

    use super::v5;
}

/// Where each change came from: the request columns.
pub mod v7 {
    use diesel::prelude::*;
    use history_diesel::HistoricalRecords;

    pub use super::v5::shipments;

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
    #[diesel(table_name = shipments)]
    #[history(exclude(note), change_reason = varchar(255), request_info)]
    pub struct Shipment {
        pub id: i32,
        #[diesel(column_name = state)]
        pub status: String,
        pub total: f64,
        pub priority: i64,
        pub note: Option<String>,
    }

    pub fn expected(id: i32, created_in: u32) -> Shipment {
        let super::v5::Shipment {
            id,
            status,
            total,
            priority,
            note,
        } = super::v5::expected(id, created_in);
        Shipment {
            id,
            status,
            total,
            priority,
            note,
        }
    }
}

/// Every version's history table, in order: the folder's seven migrations.
pub const STEPS: [HistoryTableSpec; 7] = [
    v1::Shipment::HISTORY_TABLE,
    v2::Shipment::HISTORY_TABLE,
    v3::Shipment::HISTORY_TABLE,
    v4::Shipment::HISTORY_TABLE,
    v5::Shipment::HISTORY_TABLE,
    v6::Shipment::HISTORY_TABLE,
    v7::Shipment::HISTORY_TABLE,
];

/// Writes the seven migrations of [`STEPS`] into `dir`.
pub fn write_steps(dir: &std::path::Path, dialect: Dialect) -> Vec<PathBuf> {
    let steps: Vec<&[HistoryTableSpec]> = STEPS.iter().map(std::slice::from_ref).collect();
    write_history_steps(dir, dialect, &steps)
}

/// The snapshot a migration folder carries.
pub fn snapshot_of(folder: &std::path::Path) -> Snapshot {
    Snapshot::from_json(&std::fs::read_to_string(folder.join(SNAPSHOT_FILE)).unwrap()).unwrap()
}

#[test]
fn committed_evolution_equals_the_generated_files() {
    for dialect in Dialect::ALL {
        let generated = scratch_dir(&format!("evolution-{}", dialect.name()));
        write_steps(&generated, dialect);
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("migrations/evolution")
            .join(dialect.name());
        assert_same_folder(&committed, &generated);
        // The same models and folder give the same files: nothing is left.
        let last = HistoryMigrations::new(&committed, dialect, [&v7::Shipment::HISTORY_TABLE]);
        assert!(last.pending().unwrap().is_empty());
        std::fs::remove_dir_all(&generated).unwrap();
    }
}

#[test]
fn a_forgotten_migration_fails_the_check_naming_the_model_and_the_command() {
    let dir = scratch_dir("forgotten");
    let steps: Vec<&[HistoryTableSpec]> = STEPS[..2].iter().map(std::slice::from_ref).collect();
    write_history_steps(&dir, Dialect::Sqlite, &steps);
    let behind = HistoryMigrations::new(&dir, Dialect::Sqlite, [&v3::Shipment::HISTORY_TABLE]);
    std::env::remove_var(history_diesel::migrations::WRITE_ENV);
    let message = std::panic::catch_unwind(|| behind.assert_up_to_date())
        .expect_err("the folder lacks v3's migration")
        .downcast::<String>()
        .unwrap();
    assert!(
        message.contains(&format!(
            "the history migrations in {} are behind the models",
            dir.display()
        )),
        "{message}"
    );
    assert!(
        message.contains(
            "  - Shipment: column `legacy_code` is no longer in the model: kept with its values, now nullable\n"
        ),
        "{message}"
    );
    assert!(
        message.contains("HISTORY_WRITE_MIGRATIONS=1 cargo test"),
        "{message}"
    );
    assert!(
        message.contains("cargo run --bin history -- migrations write"),
        "{message}"
    );
    // SQLite makes a column nullable by copying the table.
    assert!(
        message.contains("CREATE TABLE \"historical_shipments__rebuild\""),
        "{message}"
    );
    // The folder is not touched by a failed check.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);

    // Asked to, the check writes the migration and passes; then the folder
    // is up to date. (One test sets and clears the variable: tests share the
    // process environment.)
    std::env::set_var(history_diesel::migrations::WRITE_ENV, "1");
    behind.assert_up_to_date();
    std::env::remove_var(history_diesel::migrations::WRITE_ENV);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
    assert!(behind.pending().unwrap().is_empty());
    behind.assert_up_to_date();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The walk through the seven versions on one backend; the invoking module
/// provides `DIALECT`, `connect()` and `impl Inspect` for its connection.
macro_rules! evolution_suite {
    () => {
        mod evolution {
            use diesel::connection::SimpleConnection;
            use diesel::prelude::*;
            use diesel_migrations::{FileBasedMigrations, MigrationHarness};
            use history_diesel::migrations::snapshot::Snapshot;
            use history_diesel::migrations::HistoryMigrations;
            use history_diesel::{HistoricalRecords, HistoryContext, HistoryQueries, ReadHistory, WriteWithHistory};

            use super::{connect, DIALECT};
            use crate::evolution::*;
            use crate::support::{scratch_dir, Inspect};

            /// The history table's columns (name, nullable) as the catalog
            /// has them, against the snapshot of the migration last run.
            fn assert_matches(conn: &mut impl Inspect, snapshot: Option<&Snapshot>) {
                let have: Vec<(String, bool)> = conn
                    .columns("historical_shipments")
                    .into_iter()
                    .map(|column| (column.name, column.nullable))
                    .collect();
                let want: Vec<(String, bool)> = snapshot
                    .and_then(|snapshot| snapshot.table("Shipment"))
                    .map(|table| table.columns.iter().map(|c| (c.name.clone(), c.nullable)).collect())
                    .unwrap_or_default();
                assert_eq!(have, want);
            }

            /// One version: the source table changes as the user's own
            /// migration would, the next history migration runs, a new
            /// shipment is created and updated, and every shipment created so
            /// far reads back as the version's model.
            macro_rules! step {
                ($conn:expr, $migrations:expr, $folders:expr, $version:ident, $n:expr, $source:expr) => {{
                    let conn = &mut *$conn;
                    if !$source.is_empty() {
                        conn.batch_execute($source).unwrap();
                    }
                    conn.run_next_migration($migrations.clone()).unwrap();
                    assert_matches(conn, Some(&snapshot_of(&$folders[$n - 1])));

                    let id: i32 = $n;
                    let shipment = $version::expected(id, $n);
                    let created = $version::Shipment::create_with_history(
                        conn,
                        $version::Shipment { status: format!("new-{id}"), ..shipment.clone() },
                        &HistoryContext::new().user(i64::from(id)),
                    )
                    .unwrap();
                    assert_eq!(created.status, format!("new-{id}"));
                    shipment.save_with_history(conn, &history_context(id)).unwrap();
                    // After both records: SQLite dates a record written within
                    // the millisecond of the one before a millisecond later.
                    let now = chrono::Utc::now() + chrono::Duration::seconds(1);
                    for earlier in 1..=id {
                        let created_in = earlier as u32;
                        let then = $version::Shipment::as_of(conn, &earlier, now).unwrap();
                        assert_eq!(then, $version::expected(earlier, created_in), "version {}, shipment {earlier}", $n);
                        let records: Vec<$version::HistoricalShipment> = then.history().load(conn).unwrap();
                        assert_eq!(records.len(), 2, "version {}, shipment {earlier}", $n);
                        assert_eq!(records[1].history_user_id, Some(i64::from(earlier)));
                    }
                }};
            }

            fn history_context(id: i32) -> HistoryContext<i64> {
                HistoryContext::new()
                    .user(i64::from(id))
                    .reason("paid")
                    .client_ip(std::net::IpAddr::from([192, 0, 2, id as u8]))
                    .request_id(format!("req-{id}"))
            }

            fn count(conn: &mut super::Conn, filter: &str) -> i64 {
                diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                    "(SELECT COUNT(*) FROM historical_shipments WHERE {filter})"
                )))
                .get_result(&mut **conn)
                .unwrap()
            }

            #[test]
            fn a_baseline_adopts_tables_created_before_and_the_next_change_follows() {
                let mut conn = connect();
                conn.batch_execute(&v1::Shipment::HISTORY_TABLE.up_sql(DIALECT)).unwrap();
                let dir = scratch_dir(&format!("baseline-{}", DIALECT.name()));
                let v1_models = [&v1::Shipment::HISTORY_TABLE];
                HistoryMigrations::new(&dir, DIALECT, v1_models).baseline(Some("2026-11-01-000000")).unwrap();
                // The next version's migration is an ALTER, not a CREATE.
                let v2_migrations = HistoryMigrations::new(&dir, DIALECT, [&v2::Shipment::HISTORY_TABLE]);
                let pending = v2_migrations.pending().unwrap();
                assert!(pending.up.contains("ADD COLUMN"), "{}", pending.up);
                assert!(!pending.up.contains("CREATE TABLE"), "{}", pending.up);
                v2_migrations.write(Some("2026-11-02-000000"), None).unwrap();
                conn.run_pending_migrations(FileBasedMigrations::from_path(&dir).unwrap()).unwrap();
                let folder = v2_migrations.folder().unwrap();
                let report = history_diesel::verify_history_schema(&mut *conn, [&v2::Shipment::HISTORY_TABLE], Some(&folder)).unwrap();
                assert!(report.is_ok(), "{report}");
                std::fs::remove_dir_all(&dir).unwrap();
            }

            #[test]
            fn history_migrations_follow_six_model_changes_and_revert() {
                let mut conn = connect();
                let dir = scratch_dir(&format!("walk-{}", DIALECT.name()));
                let folders = write_steps(&dir, DIALECT);
                let migrations = FileBasedMigrations::from_path(&dir).unwrap();

                step!(conn, migrations, folders, v1, 1, v1::SOURCE);
                step!(conn, migrations, folders, v2, 2, v2::SOURCE);
                step!(conn, migrations, folders, v3, 3, v3::SOURCE);
                // The removed field's values stay in the records written
                // before (2 records each of shipments 1 and 2); newer hold NULL.
                assert_eq!(count(&mut conn, "legacy_code IS NOT NULL"), 4);
                assert_eq!(count(&mut conn, "legacy_code IS NULL"), 2);

                // A record id taken and given back before a retype (a
                // rebuild, on SQLite) is not handed out again.
                v3::Shipment::create_with_history(&mut *conn, v3::expected(99, 3), &HistoryContext::new()).unwrap();
                let taken: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    "(SELECT MAX(history_id) FROM historical_shipments)",
                ))
                .get_result(&mut *conn)
                .unwrap();
                conn.batch_execute("DELETE FROM historical_shipments WHERE id = 99; DELETE FROM shipments WHERE id = 99").unwrap();
                let retype = match DIALECT {
                    history_diesel::Dialect::Postgres => "ALTER TABLE shipments ALTER COLUMN priority TYPE BIGINT",
                    history_diesel::Dialect::Mysql => "ALTER TABLE shipments MODIFY COLUMN priority BIGINT NOT NULL DEFAULT 0",
                    history_diesel::Dialect::Sqlite => "",
                };
                step!(conn, migrations, folders, v4, 4, retype);
                assert_eq!(count(&mut conn, &format!("history_id <= {taken} AND id = 4")), 0);

                step!(conn, migrations, folders, v5, 5, v5::SOURCE);
                step!(conn, migrations, folders, v6, 6, "");
                // `note` left history: its values stay in the older records.
                assert_eq!(count(&mut conn, "note IS NOT NULL"), 2 * 4);
                step!(conn, migrations, folders, v7, 7, "");
                let records: Vec<v7::HistoricalShipment> = v7::expected(7, 7).history().load(&mut *conn).unwrap();
                assert_eq!(records[0].history_request_id.as_deref(), Some("req-7"));
                assert_eq!(records[0].history_change_reason.as_deref(), Some("paid"));

                // Every down.sql takes the table back to the migration before.
                for n in (0..folders.len()).rev() {
                    conn.revert_last_migration(migrations.clone()).unwrap();
                    let before = n.checked_sub(1).map(|previous| snapshot_of(&folders[previous]));
                    assert_matches(&mut *conn, before.as_ref());
                }
                std::fs::remove_dir_all(&dir).unwrap();
            }
        }
    };
}
pub(crate) use evolution_suite;
