//! Model history for [Diesel](https://diesel.rs): one derive gives a model a
//! parallel history table with a full snapshot of every create, update and
//! delete, with who made the change, when and why.
//!
//! ```
//! use diesel::connection::SimpleConnection;
//! use diesel::prelude::*;
//! use history_diesel::{Dialect, HistoricalRecords, HistoryType};
//!
//! diesel::table! {
//!     orders (id) {
//!         id -> Integer,
//!         status -> Text,
//!         total -> Double,
//!     }
//! }
//!
//! #[derive(Queryable, Selectable, HistoricalRecords)]
//! #[diesel(table_name = orders)]
//! pub struct Order {
//!     pub id: i32,
//!     pub status: String,
//!     pub total: f64,
//! }
//!
//! let mut conn = SqliteConnection::establish(":memory:")?;
//! // The migration you would put in your Diesel migrations folder.
//! let migration = Order::history_migration(Dialect::Sqlite);
//! conn.batch_execute(&migration.up)?;
//!
//! // `HistoricalOrder` and `historical_orders` are ordinary Diesel types.
//! diesel::insert_into(historical_orders::table)
//!     .values(HistoricalOrder {
//!         history_id: 0, // assigned by the database
//!         id: 1,
//!         status: "new".into(),
//!         total: 9.5,
//!         history_date: history_diesel::chrono::Utc::now(),
//!         history_type: HistoryType::Created,
//!         history_user_id: Some(7),
//!         history_change_reason: Some("checkout".into()),
//!     })
//!     .execute(&mut conn)?;
//!
//! let records: Vec<HistoricalOrder> = historical_orders::table
//!     .filter(historical_orders::id.eq(1))
//!     .select(HistoricalOrder::as_select())
//!     .load(&mut conn)?;
//! assert_eq!(records[0].history_type, HistoryType::Created);
//! assert_eq!(records[0].history_user_id, Some(7));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Your crate depends on `history-diesel` and `diesel` (the generated `table!`
//! names `diesel` directly, as Diesel's own macros do). See
//! [`HistoricalRecords`](derive@HistoricalRecords) for what the derive
//! generates and its attributes.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Lets this crate's own tests and doc examples use the derive, whose output
// names `::history_diesel`.
#[allow(unused_extern_crates)]
extern crate self as history_diesel;

#[cfg(feature = "async")]
pub mod asynchronous;
mod backend;
#[cfg(feature = "browser")]
pub mod browser;
pub mod capture;
#[cfg(feature = "cli")]
pub mod cli;
mod context;
mod dialect;
mod error;
mod exec;
pub mod maintenance;
pub mod migrations;
mod model;
mod query;
mod read;
pub mod verify;
#[cfg(feature = "axum")]
pub mod web;
mod write;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[doc(hidden)]
pub use backend::{InsertBatches, ModelStatements};
pub use backend::{InsertRows, ReadBackend, WriteBackend, KEY_CHUNK};
pub use capture::with_context;
pub use context::{HistoryContext, RowContexts};
pub use dialect::HistoryBackend;
pub use error::HistoryError;
#[doc(hidden)]
pub use exec::Executor;
pub use history_core::columns;
pub use history_core::{
    Capture, ChangeReasonColumn, ColumnSpec, ColumnType, Dialect, HistoricalRecords, HistoryIdKind,
    HistoryRecord, HistoryTableSpec, HistoryType, HookError, MigrationSql, ParseHistoryTypeError,
    RecordEvent, RecordHooks, SqlKind, TableName,
};
pub use model::{HistoryIdOf, HistoryKeySqlType, KeySqlType, UserIdOf};
pub use read::{
    AllHistoryQuery, Diff, DiffOptions, DiffRecords, FieldChange, HistoryQueries, HistoryQuery,
    NewestFirst, ObjectIs, ReadHistory, RecordNavigation, StateAt, StateQuery,
};
pub use verify::verify_history_schema;
pub use write::{BulkOptions, WriteWithHistory};

/// What a program that writes and reads history imports, as
/// `use history_diesel::prelude::*;` next to `use diesel::prelude::*;`: the
/// extension traits whose methods it calls, the derive, and the context
/// every write takes. Nothing here clashes with Diesel's prelude.
pub mod prelude {
    pub use crate::{
        DiffRecords, HistoricalRecords, HistoryContext, HistoryQueries, ReadHistory,
        RecordNavigation, WriteWithHistory,
    };
}

/// Bridges between history columns and their Rust types (`history_date`, a UUID `history_id`).
pub mod sql_types {
    pub use history_core::sql_types::*;
}

/// The `chrono` this crate uses: `history_date` is a `chrono::DateTime<Utc>`.
pub use chrono;
/// The `uuid` this crate uses for `history_id = uuid`.
#[cfg(feature = "uuid")]
pub use uuid;

#[cfg(feature = "derive")]
#[doc = include_str!("derive.md")]
pub use history_derive::HistoricalRecords;

/// The README's examples, compiled and run as doc tests so they cannot rot.
/// They use the `async` feature, which `cargo test --workspace` turns on
/// (the integration tests ask for it).
#[doc = include_str!("../../README.md")]
#[cfg(all(doctest, feature = "async"))]
pub struct ReadmeDoctests;
