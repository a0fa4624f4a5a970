use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    wide (id) {
        id -> Integer,
        c1 -> Integer,
        c2 -> Integer,
        c3 -> Integer,
        c4 -> Integer,
        c5 -> Integer,
        c6 -> Integer,
        c7 -> Integer,
        c8 -> Integer,
        c9 -> Integer,
        c10 -> Integer,
        c11 -> Integer,
        c12 -> Integer,
        c13 -> Integer,
        c14 -> Integer,
        c15 -> Integer,
        c16 -> Integer,
        c17 -> Integer,
        c18 -> Integer,
        c19 -> Integer,
        c20 -> Integer,
        c21 -> Integer,
        c22 -> Integer,
        c23 -> Integer,
        c24 -> Integer,
        c25 -> Integer,
        c26 -> Integer,
        c27 -> Integer,
        c28 -> Integer,
        c29 -> Integer,
    }
}

// 30 columns fit Diesel's default limit of 32; the history table's 35 do not.
#[derive(Queryable, HistoricalRecords)]
#[diesel(table_name = wide)]
pub struct Wide {
    pub id: i32,
    pub c1: i32,
    pub c2: i32,
    pub c3: i32,
    pub c4: i32,
    pub c5: i32,
    pub c6: i32,
    pub c7: i32,
    pub c8: i32,
    pub c9: i32,
    pub c10: i32,
    pub c11: i32,
    pub c12: i32,
    pub c13: i32,
    pub c14: i32,
    pub c15: i32,
    pub c16: i32,
    pub c17: i32,
    pub c18: i32,
    pub c19: i32,
    pub c20: i32,
    pub c21: i32,
    pub c22: i32,
    pub c23: i32,
    pub c24: i32,
    pub c25: i32,
    pub c26: i32,
    pub c27: i32,
    pub c28: i32,
    pub c29: i32,
}

fn main() {}
