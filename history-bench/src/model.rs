//! The benchmark's schema in Rust: `orders` with history, and `plain_orders`,
//! the identical table plain Diesel writes to. Both sides use row structs of
//! the same shape, so neither pays for a conversion the other skips.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        status -> Text,
        total -> Double,
        customer_notes -> Text,
        internal_notes -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    plain_orders (id) {
        id -> Integer,
        status -> Text,
        total -> Double,
        customer_notes -> Text,
        internal_notes -> Text,
        updated_at -> Timestamp,
    }
}

/// The model with history, default options: every field is tracked.
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords,
)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub customer_notes: String,
    pub internal_notes: String,
    pub updated_at: NaiveDateTime,
}

/// The same model for the table without history.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset)]
#[diesel(table_name = plain_orders)]
pub struct PlainOrder {
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub customer_notes: String,
    pub internal_notes: String,
    pub updated_at: NaiveDateTime,
}

/// A new order. `treat_none_as_default_value = false` makes Diesel build one
/// multi-row INSERT per slice on SQLite too (otherwise it sends one statement
/// per row there); the plain side's struct carries the same attribute so both
/// shapes match.
#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = orders, treat_none_as_default_value = false)]
pub struct NewOrder<'a> {
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
    pub updated_at: NaiveDateTime,
}

/// [`NewOrder`] for `plain_orders`.
#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = plain_orders, treat_none_as_default_value = false)]
pub struct NewPlainOrder<'a> {
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
    pub updated_at: NaiveDateTime,
}

impl<'a> From<NewOrder<'a>> for NewPlainOrder<'a> {
    fn from(new: NewOrder<'a>) -> Self {
        NewPlainOrder {
            status: new.status,
            total: new.total,
            customer_notes: new.customer_notes,
            internal_notes: new.internal_notes,
            updated_at: new.updated_at,
        }
    }
}

/// A live row with its key given, for filling `orders` before the read
/// workloads.
#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = orders, treat_none_as_default_value = false)]
pub struct LiveOrder<'a> {
    pub id: i32,
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
    pub updated_at: NaiveDateTime,
}

/// A history record written directly (not through the library), for the
/// read workloads' data set. `history_id` is left to the database.
#[derive(Debug, Clone, Copy, Insertable)]
#[diesel(table_name = historical_orders, treat_none_as_default_value = false)]
pub struct FillRecord<'a> {
    pub id: i32,
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
    pub updated_at: NaiveDateTime,
    pub history_date: NaiveDateTime,
    pub history_type: &'a str,
    pub history_user_id: Option<i64>,
    pub history_change_reason: Option<&'a str>,
}

/// A history record read by hand-written SQL: plain Diesel's view of
/// `historical_orders`, with no library type in between.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = historical_orders)]
pub struct PlainRecord {
    pub history_id: i64,
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub customer_notes: String,
    pub internal_notes: String,
    pub updated_at: NaiveDateTime,
    pub history_date: NaiveDateTime,
    pub history_type: String,
}
