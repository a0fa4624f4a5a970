//! The orders service's model, shared with its `history` command
//! (`history.rs`), as an application shares its models with its binaries.

use diesel::prelude::*;
use history_diesel::HistoricalRecords;
use serde::Serialize;

diesel::table! {
    orders (id) {
        id -> Integer,
        customer -> Text,
        status -> Text,
        total -> Double,
    }
}

/// An order; its history table keeps where each change came from.
#[derive(Debug, Clone, Serialize, Queryable, Selectable, Identifiable, HistoricalRecords)]
#[diesel(table_name = orders)]
#[history(request_info)]
pub struct Order {
    pub id: i32,
    pub customer: String,
    pub status: String,
    pub total: f64,
}
