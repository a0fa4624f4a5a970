use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        history_date -> Text,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: i32,
    pub history_date: String,
}

fn main() {}
