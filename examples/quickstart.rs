//! Quickstart: a Diesel model gets a history table.
//!
//! Runs on bundled SQLite with nothing installed:
//! `cargo run -p history-examples --example quickstart`

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use history_diesel::chrono::{Duration, Utc};
use history_diesel::{Dialect, HistoricalRecords, HistoryType};

diesel::table! {
    orders (id) {
        id -> Integer,
        status -> Text,
        total -> Double,
        customer_notes -> Text,
        internal_notes -> Text,
    }
}

#[derive(Debug, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
#[diesel(table_name = orders)]
#[history(exclude(internal_notes))]
pub struct Order {
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub customer_notes: String,
    pub internal_notes: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The migration you would commit to your Diesel migrations folder, e.g. with
    // `history_diesel::write_migration("migrations", "2026-11-22-120000", &Order::HISTORY_TABLE, Dialect::Sqlite)`.
    let migration = Order::history_migration(Dialect::Sqlite);
    println!("-- up.sql\n{}", migration.up);
    println!("-- down.sql\n{}", migration.down);

    let mut conn = SqliteConnection::establish(":memory:")?;
    conn.batch_execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL, \
         customer_notes TEXT NOT NULL, internal_notes TEXT NOT NULL);",
    )?;
    conn.batch_execute(&migration.up)?;

    // Three versions of order 1, written as plain Diesel inserts.
    let start = Utc::now();
    let versions = [
        ("new", 20.0, HistoryType::Created, "checkout"),
        ("paid", 20.0, HistoryType::Changed, "payment received"),
        ("shipped", 20.0, HistoryType::Changed, "left the warehouse"),
    ];
    for (i, (status, total, kind, reason)) in versions.into_iter().enumerate() {
        diesel::insert_into(historical_orders::table)
            .values(HistoricalOrder {
                history_id: 0, // assigned by the database
                id: 1,
                status: status.into(),
                total,
                customer_notes: "leave at the door".into(),
                history_date: start + Duration::minutes(i as i64),
                history_type: kind,
                history_user_id: Some(7),
                history_change_reason: Some(reason.into()),
            })
            .execute(&mut conn)?;
    }

    // The history of order 1, newest first.
    let history: Vec<HistoricalOrder> = historical_orders::table
        .filter(historical_orders::id.eq(1))
        .order((
            historical_orders::history_date.desc(),
            historical_orders::history_id.desc(),
        ))
        .select(HistoricalOrder::as_select())
        .load(&mut conn)?;
    for record in &history {
        println!(
            "{} {} {:<8} by user {:?}: {}",
            record.history_date.format("%H:%M:%S%.6f"),
            record.history_type,
            record.status,
            record.history_user_id,
            record.history_change_reason.as_deref().unwrap_or("")
        );
    }
    assert_eq!(history.len(), 3);
    assert_eq!(history[0].status, "shipped");
    Ok(())
}
