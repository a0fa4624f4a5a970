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
pub struct Order {
    pub id: i32,
    #[history(sql_type(diesel::sql_types::Text))]
    pub status: String,
}

fn main() {}
