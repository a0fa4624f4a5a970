use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        history_user_agent -> Text,
    }
}

// Without `request_info` the name is free; with it, it is the history table's.
#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
#[history(request_info)]
pub struct Order {
    pub id: i32,
    pub history_user_agent: String,
}

fn main() {}
