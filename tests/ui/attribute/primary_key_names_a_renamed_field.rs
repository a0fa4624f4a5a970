use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        status -> Text,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders, primary_key(order_id))]
pub struct Order {
    #[diesel(column_name = id)]
    pub order_id: i32,
    pub status: String,
}

fn main() {}
