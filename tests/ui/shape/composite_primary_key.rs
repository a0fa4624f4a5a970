use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    line_items (order_id, position) {
        order_id -> Integer,
        position -> Integer,
        sku -> Text,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = line_items, primary_key(order_id, position))]
pub struct LineItem {
    pub order_id: i32,
    pub position: i32,
    pub sku: String,
}

fn main() {}
