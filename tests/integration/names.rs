//! Names on every backend: a model's table and columns are reached by the
//! SQL names Diesel's `table!` gives them, whatever the Rust names are, in
//! every statement the helpers send and in the migration.

use diesel::prelude::*;
use history_diesel::{Dialect, HistoricalRecords};

diesel::table! {
    keyed_orders (id) {
        id -> Integer,
        status -> Text,
    }
}

/// The key field is renamed: Diesel's `primary_key(...)` names its column.
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords,
)]
#[diesel(table_name = keyed_orders, primary_key(id))]
pub struct KeyedOrder {
    #[diesel(column_name = id)]
    pub order_id: i32,
    pub status: String,
}

#[derive(Insertable)]
#[diesel(table_name = keyed_orders)]
pub struct NewKeyedOrder<'a> {
    pub status: &'a str,
}

diesel::table! {
    #[sql_name = "order items"]
    order_items (id) {
        id -> Integer,
        #[sql_name = "type"]
        kind -> Text,
        quantity -> Integer,
    }
}

/// A table and a column whose SQL names are not their Rust names.
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
#[diesel(table_name = order_items)]
pub struct OrderItem {
    pub id: i32,
    #[history(sql_name = "type")]
    pub kind: String,
    pub quantity: i32,
}

diesel::table! {
    r#select (id) {
        id -> Integer,
        r#type -> Text,
    }
}

/// Raw identifiers: the SQL names are `select` and `type`.
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
#[diesel(table_name = r#select)]
pub struct Selection {
    pub id: i32,
    pub r#type: String,
}

/// A table in a database schema, and a twin of the same name in the
/// default schema that history must never touch.
pub mod probe_schema {
    diesel::table! {
        probe_schema.sch_orders (id) {
            id -> Integer,
            status -> Text,
        }
    }
}

pub mod default_schema {
    diesel::table! {
        sch_orders (id) {
            id -> Integer,
            status -> Text,
        }
    }
}

#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords,
)]
#[diesel(table_name = probe_schema::sch_orders)]
#[history(schema = probe_schema)]
pub struct SchOrder {
    pub id: i32,
    pub status: String,
}

/// The same table with its history in a schema of its own.
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords,
)]
#[diesel(table_name = probe_schema::sch_orders)]
#[history(
    schema = probe_schema,
    history_schema = probe_audit,
    table_name = sch_order_audit,
    struct_name = SchOrderAudit
)]
pub struct AuditedSchOrder {
    pub id: i32,
    pub status: String,
}

#[test]
fn a_history_schema_the_model_names_is_where_its_history_table_is_created() {
    let spec = &AuditedSchOrder::HISTORY_TABLE;
    assert_eq!(spec.source_schema, Some("probe_schema"));
    assert_eq!(spec.history_schema, Some("probe_audit"));
    for dialect in Dialect::ALL {
        let up = spec.up_sql(dialect);
        let table = dialect.quote_table(spec.history());
        assert!(up.contains(&format!("CREATE TABLE {table}")), "{up}");
        assert_eq!(spec.down_sql(dialect), format!("DROP TABLE {table};\n"));
    }
    let index =
        "CREATE INDEX \"probe_audit\".\"sch_order_audit_history_date_idx\" ON \"sch_order_audit\"";
    assert!(spec.up_sql(Dialect::Sqlite).contains(index));
    let index =
        "CREATE INDEX \"sch_order_audit_history_date_idx\" ON \"probe_audit\".\"sch_order_audit\"";
    assert!(spec.up_sql(Dialect::Postgres).contains(index));
}

/// A model whose `schema` is not its `table!`'s, with a table of the same
/// name in the schema it names.
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords,
)]
#[diesel(table_name = probe_schema::sch_orders)]
#[history(schema = probe_audit, table_name = mistyped_sch_orders)]
pub struct MistypedSchOrder {
    pub id: i32,
    pub status: String,
}

/// What creates a schema on each backend: a database on MySQL, an attached
/// database on SQLite, a schema on PostgreSQL (rolled back with the test
/// transaction).
pub fn create_schema(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("ATTACH DATABASE ':memory:' AS {name}"),
        Dialect::Postgres => format!("CREATE SCHEMA {name}"),
        Dialect::Mysql => format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}"),
    }
}

/// Drops what [`create_schema`] made where a test transaction does not.
pub fn drop_schema(dialect: Dialect, name: &str) -> Option<String> {
    match dialect {
        Dialect::Mysql => Some(format!("DROP DATABASE {name}")),
        Dialect::Sqlite | Dialect::Postgres => None,
    }
}

/// An auto-assigned integer primary key, in each dialect's words.
pub fn serial_key(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL",
        Dialect::Postgres => "SERIAL PRIMARY KEY",
        Dialect::Mysql => "INTEGER PRIMARY KEY AUTO_INCREMENT",
    }
}

/// `SELECT COUNT(*) AS n`.
#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// Test bodies for names; expanded inside `backend_suite!`, next to its
/// `connect()` and the other suites' imports.
macro_rules! names_suite {
    () => {
        use crate::names::{
            create_schema, default_schema, drop_schema, probe_schema, serial_key, AuditedSchOrder,
            HistoricalKeyedOrder, HistoricalOrderItem, HistoricalSchOrder, HistoricalSelection,
            KeyedOrder, MistypedSchOrder, NewKeyedOrder, OrderItem, SchOrder, SchOrderAudit,
            Selection,
        };

        /// Creates a source table from `columns` (after its key) and the
        /// model's history table from its migration.
        fn names_tables(conn: &mut Conn, table: &str, columns: &str, spec: &HistoryTableSpec) {
            names_table(
                conn,
                history_diesel::TableName {
                    schema: None,
                    name: table,
                },
                columns,
            );
            conn.batch_execute(&spec.up_sql(DIALECT))
                .expect(spec.history_table);
        }

        fn names_table(conn: &mut Conn, table: history_diesel::TableName<'_>, columns: &str) {
            conn.batch_execute(&format!(
                "CREATE TABLE {} (id {}{columns})",
                DIALECT.quote_table(table),
                serial_key(DIALECT)
            ))
            .expect(table.name);
        }

        #[test]
        fn names_a_table_in_a_schema_is_written_and_read_there_not_in_its_default_schema_twin() {
            let mut conn = connect();
            let spec = &SchOrder::HISTORY_TABLE;
            conn.batch_execute(&create_schema(DIALECT, "probe_schema"))
                .unwrap();
            names_table(&mut conn, spec.source(), ", status TEXT NOT NULL");
            names_table(
                &mut conn,
                history_diesel::TableName {
                    schema: None,
                    name: "sch_orders",
                },
                ", status TEXT NOT NULL",
            );
            let up = spec.up_sql(DIALECT);
            assert!(
                up.contains(&format!(
                    "CREATE TABLE {}",
                    DIALECT.quote_table(spec.history())
                )),
                "{up}"
            );
            conn.batch_execute(&up)
                .expect("history table in the schema");
            diesel::insert_into(default_schema::sch_orders::table)
                .values((
                    default_schema::sch_orders::id.eq(1),
                    default_schema::sch_orders::status.eq("twin"),
                ))
                .execute(&mut *conn)
                .unwrap();

            let ctx = HistoryContext::new().user(5);
            let mut order = SchOrder::create_with_history(
                &mut *conn,
                probe_schema::sch_orders::status.eq("new"),
                &ctx,
            )
            .unwrap();
            assert_eq!(
                order,
                SchOrder {
                    id: 1,
                    status: "new".into()
                }
            );
            order.status = "paid".into();
            order.save_with_history(&mut *conn, &ctx).unwrap();
            SchOrder::update_where_with_history(
                &mut *conn,
                probe_schema::sch_orders::id.eq(1),
                probe_schema::sch_orders::status.eq("shipped"),
                &ctx,
            )
            .unwrap();

            let records: Vec<HistoricalSchOrder> =
                SchOrder::history_of(1).load(&mut *conn).unwrap();
            let seen: Vec<&str> = records.iter().map(|r| r.status.as_str()).collect();
            assert_eq!(seen, ["shipped", "paid", "new"]);
            let then = SchOrder::as_of(&mut *conn, &1, records[1].history_date).unwrap();
            assert_eq!(then.status, "paid");
            order.delete_with_history(&mut *conn, &ctx).unwrap();
            assert_eq!(
                SchOrder::latest(&mut *conn, &1).unwrap().history_type,
                HistoryType::Deleted
            );

            let twin: Vec<(i32, String)> =
                default_schema::sch_orders::table.load(&mut *conn).unwrap();
            assert_eq!(
                twin,
                [(1, "twin".to_owned())],
                "the default schema's twin is untouched"
            );
            let left: i64 = probe_schema::sch_orders::table
                .count()
                .get_result(&mut *conn)
                .unwrap();
            assert_eq!(left, 0);
            if let Some(drop) = drop_schema(DIALECT, "probe_schema") {
                conn.batch_execute(&drop).unwrap();
            }
        }

        #[test]
        fn names_a_history_schema_of_its_own_holds_the_records() {
            let mut conn = connect();
            let spec = &AuditedSchOrder::HISTORY_TABLE;
            conn.batch_execute(&create_schema(DIALECT, "probe_schema"))
                .unwrap();
            conn.batch_execute(&create_schema(DIALECT, "probe_audit"))
                .unwrap();
            names_table(&mut conn, spec.source(), ", status TEXT NOT NULL");
            conn.batch_execute(&spec.up_sql(DIALECT))
                .expect("history table in its schema");

            let ctx = HistoryContext::new();
            let mut order = AuditedSchOrder::create_with_history(
                &mut *conn,
                probe_schema::sch_orders::status.eq("new"),
                &ctx,
            )
            .unwrap();
            order.status = "paid".into();
            order.save_with_history(&mut *conn, &ctx).unwrap();
            let records: Vec<SchOrderAudit> = AuditedSchOrder::history_of(order.id)
                .load(&mut *conn)
                .unwrap();
            let seen: Vec<&str> = records.iter().map(|r| r.status.as_str()).collect();
            assert_eq!(seen, ["paid", "new"]);
            if DIALECT == history_diesel::Dialect::Mysql {
                conn.batch_execute("DROP DATABASE probe_schema; DROP DATABASE probe_audit")
                    .unwrap();
            }
        }

        #[test]
        fn names_a_schema_other_than_the_table_s_is_refused_before_any_write() {
            let mut conn = connect();
            let spec = &MistypedSchOrder::HISTORY_TABLE;
            // A same-named table in the schema the model names, which a write
            // must not reach.
            conn.batch_execute(&create_schema(DIALECT, "probe_audit"))
                .unwrap();
            names_table(&mut conn, spec.source(), ", status TEXT NOT NULL");
            conn.batch_execute(&spec.up_sql(DIALECT)).unwrap();

            let ctx = HistoryContext::new();
            let new = probe_schema::sch_orders::status.eq("new");
            let err = MistypedSchOrder::create_with_history(&mut *conn, new, &ctx).unwrap_err();
            let HistoryError::SchemaMismatch {
                model,
                declared,
                table,
            } = &err
            else {
                panic!("{err:?}");
            };
            assert_eq!(*model, "MistypedSchOrder");
            assert!(
                declared.contains("probe_audit") && table.contains("probe_schema"),
                "{err}"
            );
            let row = MistypedSchOrder {
                id: 1,
                status: "x".into(),
            };
            assert!(matches!(
                row.delete_with_history(&mut *conn, &ctx),
                Err(HistoryError::SchemaMismatch { .. })
            ));
            let rows: i64 = diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM {}",
                DIALECT.quote_table(spec.source())
            ))
            .get_result::<crate::names::Count>(&mut *conn)
            .unwrap()
            .n;
            assert_eq!(rows, 0);
            if let Some(drop) = drop_schema(DIALECT, "probe_audit") {
                conn.batch_execute(&drop).unwrap();
            }
        }

        #[test]
        fn names_a_renamed_key_field_writes_and_reads_history() {
            let mut conn = connect();
            names_tables(
                &mut conn,
                "keyed_orders",
                ", status TEXT NOT NULL",
                &KeyedOrder::HISTORY_TABLE,
            );
            let ctx = HistoryContext::new().user(7);

            let mut order =
                KeyedOrder::create_with_history(&mut *conn, &NewKeyedOrder { status: "new" }, &ctx)
                    .unwrap();
            order.status = "paid".into();
            order.save_with_history(&mut *conn, &ctx).unwrap();

            let records: Vec<HistoricalKeyedOrder> = KeyedOrder::history_of(order.order_id)
                .load(&mut *conn)
                .unwrap();
            let seen: Vec<(i32, &str)> = records
                .iter()
                .map(|r| (r.order_id, r.status.as_str()))
                .collect();
            assert_eq!(seen, [(order.order_id, "paid"), (order.order_id, "new")]);
            let then =
                KeyedOrder::as_of(&mut *conn, &order.order_id, records[1].history_date).unwrap();
            assert_eq!(
                then,
                KeyedOrder {
                    order_id: order.order_id,
                    status: "new".into()
                }
            );

            order.delete_with_history(&mut *conn, &ctx).unwrap();
            let latest = KeyedOrder::latest(&mut *conn, &order.order_id).unwrap();
            assert_eq!(
                (latest.history_type, latest.status.as_str()),
                (HistoryType::Deleted, "paid")
            );
        }

        #[test]
        fn names_sql_names_of_a_table_and_a_column_are_used_by_writes_reads_and_migration() {
            let mut conn = connect();
            let spec = &OrderItem::HISTORY_TABLE;
            assert_eq!(spec.source_table, "order items");
            assert_eq!(
                spec.columns.iter().map(|c| c.name).collect::<Vec<_>>(),
                ["id", "type", "quantity"]
            );
            let kind = DIALECT.quote("type");
            names_tables(
                &mut conn,
                "order items",
                &format!(", {kind} TEXT NOT NULL, quantity INTEGER NOT NULL"),
                spec,
            );
            let history: Vec<String> = conn
                .columns(spec.history_table)
                .into_iter()
                .map(|c| c.name)
                .collect();
            assert_eq!(history[..4], ["history_id", "id", "type", "quantity"]);

            let ctx = HistoryContext::new().user(3);
            use crate::names::order_items;
            let new = (order_items::kind.eq("box"), order_items::quantity.eq(2));
            let mut item = OrderItem::create_with_history(&mut *conn, new, &ctx).unwrap();
            assert_eq!(
                item,
                OrderItem {
                    id: 1,
                    kind: "box".into(),
                    quantity: 2
                }
            );
            item.kind = "crate".into();
            item.save_with_history(&mut *conn, &ctx).unwrap();
            OrderItem::update_where_with_history(
                &mut *conn,
                order_items::id.eq(1),
                order_items::quantity.eq(5),
                &ctx,
            )
            .unwrap();
            OrderItem::bulk_update_with_history(
                &mut *conn,
                &[OrderItem {
                    id: 1,
                    kind: "pallet".into(),
                    quantity: 6,
                }],
                &ctx,
                BulkOptions::default(),
            )
            .unwrap();

            let records: Vec<HistoricalOrderItem> =
                OrderItem::history_of(1).load(&mut *conn).unwrap();
            let seen: Vec<(&str, i32)> = records
                .iter()
                .map(|r| (r.kind.as_str(), r.quantity))
                .collect();
            assert_eq!(
                seen,
                [("pallet", 6), ("crate", 5), ("crate", 2), ("box", 2)]
            );
            let first = OrderItem::as_of(&mut *conn, &1, records[3].history_date).unwrap();
            assert_eq!(first.kind, "box");

            item.delete_with_history(&mut *conn, &ctx).unwrap();
            assert_eq!(
                OrderItem::latest(&mut *conn, &1).unwrap().history_type,
                HistoryType::Deleted
            );
        }

        #[test]
        fn names_raw_identifiers_lose_their_r_hash_in_sql() {
            let mut conn = connect();
            let spec = &Selection::HISTORY_TABLE;
            assert_eq!(
                (spec.source_table, spec.history_table),
                ("select", "historical_select")
            );
            assert_eq!(
                spec.columns.iter().map(|c| c.name).collect::<Vec<_>>(),
                ["id", "type"]
            );
            names_tables(
                &mut conn,
                "select",
                &format!(", {} TEXT NOT NULL", DIALECT.quote("type")),
                spec,
            );

            let ctx = HistoryContext::new();
            let new = crate::names::r#select::r#type.eq("a");
            let mut row = Selection::create_with_history(&mut *conn, new, &ctx).unwrap();
            assert_eq!(
                row,
                Selection {
                    id: 1,
                    r#type: "a".into()
                }
            );
            row.r#type = "b".into();
            row.save_with_history(&mut *conn, &ctx).unwrap();
            row.delete_with_history(&mut *conn, &ctx).unwrap();

            let records: Vec<HistoricalSelection> =
                Selection::history_of(1).load(&mut *conn).unwrap();
            let seen: Vec<(HistoryType, &str)> = records
                .iter()
                .map(|r| (r.history_type, r.r#type.as_str()))
                .collect();
            assert_eq!(
                seen,
                [
                    (HistoryType::Deleted, "b"),
                    (HistoryType::Changed, "b"),
                    (HistoryType::Created, "a")
                ]
            );
        }
    };
}

pub(crate) use names_suite;
