//! The orders service's `history` command: its history migrations and
//! schema checks, as an application adds it in `src/bin/history.rs`.
//!
//! ```sh
//! cargo run -p history-examples --bin history -- --help
//! cargo run -p history-examples --bin history -- migrations check
//! ```

#[path = "orders_model.rs"]
mod orders_model;

use history_diesel::HistoricalRecords;

fn main() -> std::process::ExitCode {
    history_diesel::cli::run::<diesel::SqliteConnection>(&[&orders_model::Order::HISTORY_TABLE])
}
