//! Names for a model's associated types, as the helpers' signatures use
//! them. Shared by every layer, depending on none.

use diesel::expression::Expression;
use diesel::Table;

use crate::{HistoricalRecords, HistoryRecord};

/// The Rust type of a model's `history_user_id`.
pub type UserIdOf<M> = <<M as HistoricalRecords>::Record as HistoryRecord>::UserId;

/// The SQL type of a model's primary key.
pub type KeySqlType<M> =
    <<<M as HistoricalRecords>::Table as Table>::PrimaryKey as Expression>::SqlType;

/// The SQL type of a history table's own key, `history_id`.
pub type HistoryKeySqlType<M> =
    <<<M as HistoricalRecords>::HistoryTable as Table>::PrimaryKey as Expression>::SqlType;

/// The Rust type of a model's `history_id`.
pub type HistoryIdOf<M> = <<M as HistoricalRecords>::Record as HistoryRecord>::Id;
