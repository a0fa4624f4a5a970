use diesel::deserialize::FromSqlRow;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        status -> Text,
    }
}

#[derive(FromSqlRow, HistoricalRecords)]
#[diesel(table_name = orders)]
pub enum Order {
    Open { id: i32 },
    Closed { id: i32 },
}

fn main() {}
