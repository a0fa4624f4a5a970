//! The tables of trigger-bench: four of one shape, each written by one
//! system, so no system's rows or indexes slow another down.

use diesel::prelude::*;
use history_diesel::HistoricalRecords;

macro_rules! order_table {
    ($table:ident) => {
        diesel::table! {
            $table (id) {
                id -> Integer,
                status -> Text,
                total -> Double,
                note -> Text,
            }
        }
    };
}

order_table!(plain_orders);
order_table!(floor_orders);
order_table!(client_orders);
order_table!(trigger_orders);

/// Plain Diesel's table, without history.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = plain_orders)]
pub struct PlainOrder {
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub note: String,
}

/// The hand-written trigger's table: written as plain Diesel writes, its
/// trigger (the floor) writes `floor_history`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = floor_orders)]
pub struct FloorOrder {
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub note: String,
}

/// Client capture: the write helpers write the records.
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords,
)]
#[diesel(table_name = client_orders)]
pub struct ClientOrder {
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub note: String,
}

/// Trigger capture: the migration's triggers write the records.
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords,
)]
#[diesel(table_name = trigger_orders)]
#[history(capture = trigger)]
pub struct TriggerOrder {
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub note: String,
}

/// The statuses the rows cycle through.
pub const STATUSES: [&str; 4] = ["new", "paid", "shipped", "done"];

macro_rules! new_row {
    ($name:ident, $table:ident) => {
        /// A new row of its table.
        #[derive(Debug, Clone, Copy, Insertable)]
        #[diesel(table_name = $table, treat_none_as_default_value = false)]
        pub struct $name<'a> {
            pub status: &'a str,
            pub total: f64,
            pub note: &'a str,
        }

        impl<'a> $name<'a> {
            /// The `i`th row of a run: every system inserts the same rows.
            pub fn nth(i: usize, note: &'a str) -> Self {
                $name {
                    status: STATUSES[i % STATUSES.len()],
                    total: i as f64,
                    note,
                }
            }
        }
    };
}

new_row!(NewPlain, plain_orders);
new_row!(NewFloor, floor_orders);
new_row!(NewClient, client_orders);
new_row!(NewTrigger, trigger_orders);

macro_rules! changed_row {
    ($($row:ident),*) => {$(
        impl $row {
            /// The `i`th update of a run of `rows` rows: every system writes
            /// the same values to the same row.
            pub fn changed(i: usize, rows: usize, note: &str) -> Self {
                $row {
                    id: (i % rows) as i32 + 1,
                    status: STATUSES[(i + 1) % STATUSES.len()].to_owned(),
                    total: i as f64 + 0.5,
                    note: note.to_owned(),
                }
            }
        }
    )*};
}

changed_row!(PlainOrder, FloorOrder, ClientOrder, TriggerOrder);
