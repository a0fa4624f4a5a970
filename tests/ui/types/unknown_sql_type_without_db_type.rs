use diesel::prelude::*;
use history_diesel::HistoricalRecords;

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Colour;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Colour;

    orders (id) {
        id -> Integer,
        colour -> Colour,
    }
}

#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: i32,
    #[history(sql_type = sql_types::Colour)]
    pub colour: String,
}

fn main() {}
