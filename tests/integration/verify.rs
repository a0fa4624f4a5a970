//! `verify_history_schema` against each real database: nothing to report on
//! tables the migrations created, and each kind of drift exactly once.

/// The verify tests of one backend; the invoking module provides `DIALECT`
/// and `connect()`.
macro_rules! verify_suite {
    () => {
        mod verify {
            use diesel::connection::SimpleConnection;
            use diesel_migrations::{FileBasedMigrations, MigrationHarness};
            use history_diesel::migrations::HistoryMigrations;
            use history_diesel::verify::{verify_history_schema, ProblemKind};
            use history_diesel::{
                ColumnType, Dialect, HistoricalRecords, HistoryTableSpec, SqlKind,
            };

            use super::{connect, DIALECT, SOURCE_DDL};
            use crate::models::*;
            use crate::support::{scratch_dir, write_history_steps};

            const SPECS: [HistoryTableSpec; 4] = [
                Order::HISTORY_TABLE,
                EveryType::HISTORY_TABLE,
                Tag::HISTORY_TABLE,
                Ticket::HISTORY_TABLE,
            ];

            fn kinds(report: &history_diesel::verify::SchemaReport) -> Vec<(String, ProblemKind)> {
                report
                    .problems
                    .iter()
                    .map(|p| (p.model.clone(), p.kind.clone()))
                    .collect()
            }

            #[test]
            fn reports_nothing_on_generated_tables_and_each_drift_once() {
                let mut conn = connect();
                for spec in &SPECS {
                    conn.batch_execute(&spec.up_sql(DIALECT)).unwrap();
                }
                // Every column type of every model, in the catalog's spelling.
                let report = verify_history_schema(&mut *conn, &SPECS, None).unwrap();
                assert!(report.is_ok(), "{report}");

                conn.batch_execute("ALTER TABLE historical_orders DROP COLUMN customer_notes")
                    .unwrap();
                conn.batch_execute("ALTER TABLE historical_orders ADD COLUMN stray INTEGER")
                    .unwrap();
                conn.batch_execute(&match DIALECT {
                    Dialect::Mysql => {
                        "DROP INDEX historical_orders_history_date_idx ON historical_orders"
                    }
                    Dialect::Postgres | Dialect::Sqlite => {
                        "DROP INDEX historical_orders_history_date_idx"
                    }
                })
                .unwrap();
                conn.batch_execute("DROP TABLE historical_tickets").unwrap();
                // A type and a nullability that differ, made the same way on
                // every backend (SQLite alters no column): the table created
                // from edited SQL.
                let column = |name: &str, kind, not_null: bool| {
                    let ty = DIALECT.column_type(ColumnType::Kind(kind));
                    format!(
                        "{} {ty}{}",
                        DIALECT.quote(name),
                        if not_null { " NOT NULL" } else { "" }
                    )
                };
                let up = EveryType::HISTORY_TABLE.up_sql(DIALECT);
                let (amount, name) = (
                    column("amount", SqlKind::Double, true),
                    column("name", SqlKind::Text, true),
                );
                assert!(up.contains(&amount) && up.contains(&name), "{up}");
                let edited = up
                    .replacen(&amount, &column("amount", SqlKind::Float, true), 1)
                    .replacen(&name, &column("name", SqlKind::Text, false), 1);
                conn.batch_execute(&format!("DROP TABLE historical_every_types; {edited}"))
                    .unwrap();

                let report = verify_history_schema(&mut *conn, &SPECS, None).unwrap();
                let float = DIALECT
                    .column_type(ColumnType::Kind(SqlKind::Double))
                    .to_owned();
                let problem = |model: &str, kind| (model.to_owned(), kind);
                let found = match &report.problems[3].kind {
                    ProblemKind::TypeMismatch { found, .. } => found.clone(),
                    other => panic!("{other:?}"),
                };
                assert_eq!(
                    kinds(&report),
                    [
                        problem(
                            "Order",
                            ProblemKind::MissingColumn {
                                column: "customer_notes".into(),
                                expected: DIALECT
                                    .column_type(ColumnType::Kind(SqlKind::Text))
                                    .into()
                            }
                        ),
                        problem(
                            "Order",
                            ProblemKind::ExtraColumn {
                                column: "stray".into()
                            }
                        ),
                        problem(
                            "Order",
                            ProblemKind::MissingIndex {
                                index: "historical_orders_history_date_idx".into()
                            }
                        ),
                        problem(
                            "EveryType",
                            ProblemKind::TypeMismatch {
                                column: "amount".into(),
                                expected: float,
                                found
                            }
                        ),
                        problem(
                            "EveryType",
                            ProblemKind::NullabilityMismatch {
                                column: "name".into(),
                                expected_nullable: false
                            }
                        ),
                        problem("Ticket", ProblemKind::MissingTable),
                    ],
                    "{report}"
                );
                assert!(
                    report
                        .to_string()
                        .contains("Ticket: history table `historical_tickets` does not exist"),
                    "{report}"
                );
            }

            #[test]
            fn reports_the_migrations_the_database_has_not_run() {
                let mut conn = connect();
                let dir = scratch_dir(&format!("verify-pending-{}", DIALECT.name()));
                let migrations = HistoryMigrations::new(&dir, DIALECT, [&Order::HISTORY_TABLE]);
                migrations.write(Some("2026-11-22-000000"), None).unwrap();
                let folder = migrations.folder().unwrap();

                let report =
                    verify_history_schema(&mut *conn, [&Order::HISTORY_TABLE], Some(&folder))
                        .unwrap();
                assert_eq!(
                    kinds(&report),
                    [
                        ("Order".to_owned(), ProblemKind::MissingTable),
                        (
                            String::new(),
                            ProblemKind::PendingMigrations {
                                versions: vec!["2026-11-22-000000".into()]
                            }
                        ),
                    ]
                );
                conn.run_pending_migrations(FileBasedMigrations::from_path(&dir).unwrap())
                    .unwrap();
                let report =
                    verify_history_schema(&mut *conn, [&Order::HISTORY_TABLE], Some(&folder))
                        .unwrap();
                assert!(report.is_ok(), "{report}");
                std::fs::remove_dir_all(&dir).unwrap();
            }

            #[test]
            fn counts_the_rows_written_outside_the_helpers() {
                use diesel::prelude::*;
                use history_diesel::{HistoryContext, WriteWithHistory};
                let mut conn = connect();
                conn.batch_execute(SOURCE_DDL).unwrap();
                conn.batch_execute(&Order::HISTORY_TABLE.up_sql(DIALECT))
                    .unwrap();
                let ctx = HistoryContext::new().user(1);
                let new = |id: i32| Order {
                    id,
                    status: "new".into(),
                    total: 1.0,
                    customer_notes: String::new(),
                    internal_notes: String::new(),
                };
                let first = Order::create_with_history(&mut *conn, new(1), &ctx).unwrap();
                Order::create_with_history(&mut *conn, new(2), &ctx).unwrap();
                let unrecorded = |conn: &mut _| {
                    let report =
                        verify_history_schema(conn, [&Order::HISTORY_TABLE], None).unwrap();
                    kinds(&report)
                        .into_iter()
                        .map(|(_, kind)| match kind {
                            ProblemKind::UnrecordedRows { rows } => rows,
                            other => panic!("{other:?}"),
                        })
                        .sum::<i64>()
                };
                assert_eq!(unrecorded(&mut *conn), 0);
                // An excluded field changed behind the helpers' back is no escape.
                diesel::update(orders::table)
                    .set(orders::internal_notes.eq("x"))
                    .execute(&mut *conn)
                    .unwrap();
                assert_eq!(unrecorded(&mut *conn), 0);
                diesel::update(orders::table.find(1))
                    .set(orders::status.eq("paid"))
                    .execute(&mut *conn)
                    .unwrap();
                diesel::insert_into(orders::table)
                    .values(new(3))
                    .execute(&mut *conn)
                    .unwrap();
                assert_eq!(unrecorded(&mut *conn), 2);
                // A helper's write records the row's values again.
                let mut paid = first.clone();
                paid.status = "paid".into();
                paid.save_with_history(&mut *conn, &ctx).unwrap();
                assert_eq!(unrecorded(&mut *conn), 1);
                let report =
                    verify_history_schema(&mut *conn, [&Order::HISTORY_TABLE], None).unwrap();
                assert!(report.to_string().contains("1 live row(s)"), "{report}");
            }

            #[test]
            fn a_column_the_folder_kept_is_expected_with_the_folder() {
                use crate::evolution::{v2, v3};
                let mut conn = connect();
                let dir = scratch_dir(&format!("verify-retained-{}", DIALECT.name()));
                write_history_steps(
                    &dir,
                    DIALECT,
                    &[
                        &[v2::Shipment::HISTORY_TABLE],
                        &[v3::Shipment::HISTORY_TABLE],
                    ],
                );
                conn.run_pending_migrations(FileBasedMigrations::from_path(&dir).unwrap())
                    .unwrap();
                let model = [&v3::Shipment::HISTORY_TABLE];
                let folder = HistoryMigrations::new(&dir, DIALECT, model)
                    .folder()
                    .unwrap();

                let report = verify_history_schema(&mut *conn, model, Some(&folder)).unwrap();
                assert!(report.is_ok(), "{report}");
                // Against the model alone, the kept column is one it lacks.
                let report = verify_history_schema(&mut *conn, model, None).unwrap();
                assert_eq!(
                    kinds(&report),
                    [(
                        "Shipment".to_owned(),
                        ProblemKind::ExtraColumn {
                            column: "legacy_code".into()
                        }
                    )]
                );
                std::fs::remove_dir_all(&dir).unwrap();
            }
        }
    };
}
pub(crate) use verify_suite;
