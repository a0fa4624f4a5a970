use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (order_id) {
        order_id -> Integer,
        status -> Text,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
pub struct Order {
    pub order_id: i32,
    pub status: String,
}

fn main() {}
