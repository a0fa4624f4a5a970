use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        status -> Text,
        notes -> Text,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
#[history(include(id, status), exclude(notes))]
pub struct Order {
    pub id: i32,
    pub status: String,
    pub notes: String,
}

fn main() {}
