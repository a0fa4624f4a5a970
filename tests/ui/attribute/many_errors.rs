use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        status -> Text,
        placed_at -> Timestamp,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
#[history(tabel_name = order_history, exclude(id, stauts), history_id = bigint)]
#[history(change_reason = varchar(0))]
pub struct Order {
    pub id: i32,
    #[history(db_type = "", colour = red)]
    pub status: String,
    pub placed_at: std::time::SystemTime,
    pub history_date: String,
}

fn main() {}
