use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        history_id -> Text,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: i32,
    #[diesel(column_name = history_id)]
    pub legacy_id: String,
}

fn main() {}
