use diesel::prelude::*;
use history_diesel::HistoricalRecords;

mod my {
    /// The user's own type, named like `std::string::String`.
    pub struct String;
}

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
    pub status: my::String,
}

fn main() {}
