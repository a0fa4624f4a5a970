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

/// An auto-assigned integer primary key, in each dialect's words.
pub fn serial_key(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL",
        Dialect::Postgres => "SERIAL PRIMARY KEY",
        Dialect::Mysql => "INTEGER PRIMARY KEY AUTO_INCREMENT",
    }
}

/// Test bodies for names; expanded inside `backend_suite!`, next to its
/// `connect()` and the other suites' imports.
macro_rules! names_suite {
    () => {
        use crate::names::{serial_key, HistoricalKeyedOrder, KeyedOrder, NewKeyedOrder};

        /// Creates a source table from `columns` (after its key) and the
        /// model's history table from its migration.
        fn names_tables(conn: &mut Conn, table: &str, columns: &str, spec: &HistoryTableSpec) {
            conn.batch_execute(&format!(
                "CREATE TABLE {} (id {}{columns})",
                DIALECT.quote(table),
                serial_key(DIALECT)
            ))
            .expect(table);
            conn.batch_execute(&spec.up_sql(DIALECT))
                .expect(spec.history_table);
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
    };
}

pub(crate) use names_suite;
