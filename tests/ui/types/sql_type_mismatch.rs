use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        total -> Double,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: i32,
    pub total: f32,
}

fn main() {}
