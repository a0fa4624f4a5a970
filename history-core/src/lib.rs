//! Types and traits shared by the `history-diesel` runtime and the code that
//! `#[derive(HistoricalRecords)]` generates.
//!
//! This crate does no database I/O. It holds:
//! - [`HistoryType`], the kind of change a history record describes;
//! - [`HistoryTableSpec`], a static description of a history table, and the
//!   migration SQL derived from it for each [`Dialect`];
//! - [`snapshot`] and [`evolve`]: what a migrations folder has created, and
//!   the statements that bring it up to the models;
//! - [`HistoricalRecords`] and [`HistoryRecord`], the traits that link a model
//!   to its history;
//! - the SQL types of the history columns that need one ([`sql_types`]).
//!
//! Users depend on `history-diesel`, which re-exports everything here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capture;
pub mod columns;
mod ddl;
mod dialect;
pub mod evolve;
mod history_type;
mod hooks;
mod migration;
pub mod snapshot;
mod spec;
pub mod sql_types;
mod traits;

pub use dialect::Dialect;
pub use history_type::{HistoryType, ParseHistoryTypeError};
pub use hooks::{HookError, RecordEvent, RecordHooks};
pub use migration::MigrationSql;
pub use spec::{
    Capture, ChangeReasonColumn, ColumnSpec, ColumnType, HistoryIdKind, HistoryTableSpec, SqlKind,
    TableName,
};
pub use traits::{HistoricalRecords, HistoryRecord};
