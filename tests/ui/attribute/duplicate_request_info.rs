use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        status -> Text,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
#[history(request_info)]
#[history(request_info)]
pub struct Order {
    pub id: i32,
    pub status: String,
}

fn main() {}
