// Every `#[history(...)]` option, used correctly, compiles.
use diesel::prelude::*;
use history_diesel::{HistoricalRecords, HistoryRecord};

diesel::table! {
    orders (order_id) {
        order_id -> Integer,
        line -> Integer,
        status -> Text,
        note -> Nullable<Text>,
        total -> Double,
        internal_notes -> Text,
    }
}

diesel::table! {
    customers (id) {
        id -> BigInt,
        name -> Varchar,
        email -> Text,
        secret -> Text,
    }
}

#[derive(Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = orders, primary_key(order_id))]
#[history(
    table_name = order_audit,
    struct_name = OrderVersion,
    exclude(internal_notes),
    user_id_type = i32,
    history_id = uuid,
    change_reason = text
)]
pub struct Order {
    pub order_id: i32,
    pub line: i32,
    #[history(sql_type = diesel::sql_types::Text, db_type = "VARCHAR(32)")]
    #[diesel(column_name = status)]
    pub state: String,
    pub note: Option<String>,
    pub total: f64,
    pub internal_notes: String,
}

#[derive(Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = customers)]
#[history(
    include(name, id),
    user_id_type = String,
    history_id = integer,
    change_reason = varchar(255),
    request_info
)]
pub struct Customer {
    pub id: i64,
    #[history(sql_type = diesel::sql_types::VarChar)]
    pub name: String,
    pub email: String,
    pub secret: String,
}

fn main() {
    // The generated names are usable.
    let _ = order_audit::table;
    let _ = historical_customers::table;
    let record: Option<OrderVersion> = None;
    let _: Option<&uuid::Uuid> = record.as_ref().map(|r| r.history_id());
    let record: Option<HistoricalCustomer> = None;
    let _: Option<&i64> = record.as_ref().map(|r| r.history_id());
    let _: Option<std::net::IpAddr> = record.and_then(|r| r.history_client_ip);
    let _ = Order::history_migration(history_diesel::Dialect::Sqlite);
}
