//! Quickstart: a Diesel model gets a history table, every write keeps its
//! history, and the history answers "what was it then, and can we put it
//! back?".
//!
//! Runs on bundled SQLite with nothing installed:
//! `cargo run -p history-examples --example quickstart`

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use history_diesel::prelude::*;
use history_diesel::{BulkOptions, Dialect};

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

#[derive(Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrder<'a> {
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The migration you would commit to your Diesel migrations folder, e.g. with
    // `HistoryMigrations::new("migrations", Dialect::Sqlite, [&Order::HISTORY_TABLE]).write(None, None)`
    // (`history_diesel::migrations`), or the `history migrations write` command.
    let migration = Order::history_migration(Dialect::Sqlite);
    println!("-- up.sql\n{}", migration.up);

    let mut conn = SqliteConnection::establish(":memory:")?;
    conn.batch_execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL, \
         customer_notes TEXT NOT NULL, internal_notes TEXT NOT NULL);",
    )?;
    conn.batch_execute(&migration.up)?;

    // Who and why travel with every write.
    let ctx = HistoryContext::new().user(7).reason("checkout");
    let new = NewOrder {
        status: "new",
        total: 20.0,
        customer_notes: "leave at the door",
        internal_notes: "vip",
    };
    let mut order = Order::create_with_history(&mut conn, &new, &ctx)?;
    let after_checkout = history_diesel::chrono::Utc::now();

    order.status = "paid".into();
    order.save_with_history(
        &mut conn,
        &HistoryContext::new().user(8).reason("payment received"),
    )?;

    let more = [
        NewOrder {
            status: "new",
            total: 5.0,
            ..new
        },
        NewOrder {
            status: "new",
            total: 7.5,
            ..new
        },
    ];
    Order::bulk_create_with_history(&mut conn, &more, &ctx, BulkOptions::default())?;

    // An update by filter records one '~' per row it touched.
    let cancelled = Order::update_where_with_history(
        &mut conn,
        orders::status.eq("new"),
        orders::status.eq("cancelled"),
        &HistoryContext::new().reason("stale"),
    )?;
    println!("cancelled {cancelled} orders");
    order.delete_with_history(
        &mut conn,
        &HistoryContext::new().user(7).reason("customer asked"),
    )?;

    // The history of the first order, newest first: a Diesel query.
    let history: Vec<HistoricalOrder> = order.history().load(&mut conn)?;
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

    // What it was right after checkout, and what the payment changed.
    let then = Order::as_of(&mut conn, &order.id, after_checkout)?;
    println!("as of checkout: {} {}", then.status, then.total);
    let paid = &history[1];
    let created = paid.prev_record(&mut conn)?.expect("the creation");
    println!(
        "payment changed {:?}",
        paid.diff_against(&created)?.changed_fields()
    );

    // Every order as it was at checkout, then the deleted order brought back.
    println!(
        "orders at checkout: {}",
        Order::all_as_of(&mut conn, after_checkout)?.len()
    );
    let restored = Order::restore_with_history(
        &mut conn,
        paid,
        &HistoryContext::new().user(7).reason("deleted by mistake"),
    )?;
    println!("restored order {} as {}", restored.id, restored.status);
    Ok(())
}
