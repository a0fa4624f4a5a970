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
pub union Order {
    pub id: i32,
    pub code: u32,
}

fn main() {}
