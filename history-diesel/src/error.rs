use std::fmt;

/// Why a history write or read failed. Whatever the reason, a write kept
/// nothing: the data write and the history write happen in one transaction.
#[derive(Debug)]
#[non_exhaustive]
pub enum HistoryError {
    /// The database refused a statement.
    Database(diesel::result::Error),
    /// The history table does not exist: its migration has not run.
    HistoryTableMissing {
        /// The history table.
        table: &'static str,
        /// What the database said.
        source: diesel::result::Error,
    },
    /// The context asked for a user ([`HistoryContext::require_user`](crate::HistoryContext::require_user))
    /// and none was given or in scope.
    UserRequired {
        /// The model written.
        model: &'static str,
    },
    /// The change reason is longer than the `history_change_reason` column.
    ReasonTooLong {
        /// The model written.
        model: &'static str,
        /// The column's length, in characters.
        max: u32,
        /// The reason's length, in characters.
        len: usize,
    },
    /// The row to update or delete does not exist, or (reads) the object
    /// has no history records.
    NotFound {
        /// The model written.
        model: &'static str,
    },
    /// The context in scope ([`HistoryContext::scope`](crate::HistoryContext::scope))
    /// has another user id type than the model's history.
    ScopedUserType {
        /// The model written.
        model: &'static str,
        /// The model's user id type.
        expected: &'static str,
        /// The scoped context's user id type.
        scoped: &'static str,
    },
    /// A [`RecordHooks`](crate::RecordHooks) hook refused the write.
    Hook(crate::HookError),
    /// An `as_of` read asked for an object before its first record.
    NotCreatedYet {
        /// The model read.
        model: &'static str,
        /// The time asked for.
        as_of: chrono::DateTime<chrono::Utc>,
    },
    /// An `as_of` read found that the object had been deleted by then.
    Deleted {
        /// The model read.
        model: &'static str,
        /// When it was deleted (its latest record up to the time asked for).
        deleted_at: chrono::DateTime<chrono::Utc>,
    },
    /// A diff named a field that history does not track.
    UnknownField {
        /// The model.
        model: &'static str,
        /// The name given.
        field: String,
    },
    /// A history date ([`HistoryContext::at`](crate::HistoryContext::at))
    /// outside what the backend stores ([`Dialect::history_date_range`](crate::Dialect::history_date_range)):
    /// refused before anything is written.
    DateOutOfRange {
        /// The model written.
        model: &'static str,
        /// The date given.
        date: chrono::DateTime<chrono::Utc>,
        /// The backend.
        dialect: crate::Dialect,
        /// The earliest date it stores.
        min: chrono::DateTime<chrono::Utc>,
        /// The latest date it stores.
        max: chrono::DateTime<chrono::Utc>,
    },
    /// MySQL reports no keys of the rows an `INSERT` creates, so the create
    /// reads them back by the keys its input binds, or by the
    /// `AUTO_INCREMENT` values MySQL hands out; an input whose keys are
    /// neither (an SQL expression, bound keys mixed with generated ones) is
    /// refused before anything is written.
    UnknownKeys {
        /// The model written.
        model: &'static str,
        /// Why the keys cannot be known.
        detail: String,
    },
    /// A bulk input contradicts itself or the table (a key twice, a key
    /// that already exists).
    Conflict {
        /// The model written.
        model: &'static str,
        /// What the database or the check said.
        detail: String,
    },
    /// An explicit history date ([`HistoryContext::at`](crate::HistoryContext::at))
    /// lies after the clock: a record dated in the future would sort after
    /// writes that commit later.
    DateInFuture {
        /// The model written.
        model: &'static str,
        /// The date given.
        date: chrono::DateTime<chrono::Utc>,
    },
    /// The model's `#[history(schema = ...)]` names another table than its
    /// `table!` (`schema.table`): nothing was written.
    SchemaMismatch {
        /// The model written.
        model: &'static str,
        /// The table as the history statements would name it.
        declared: String,
        /// The table as its `table!` names it.
        table: String,
    },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::Database(err) => write!(f, "database error: {err}"),
            HistoryError::HistoryTableMissing { table, source } => write!(
                f,
                "history table {table} is missing (has its migration run?): {source}"
            ),
            HistoryError::UserRequired { model } => {
                write!(f, "a user is required to write history of {model}")
            }
            HistoryError::ReasonTooLong { model, max, len } => write!(
                f,
                "change reason of {len} characters is longer than the {max} that history of {model} keeps"
            ),
            HistoryError::ScopedUserType { model, expected, scoped } => write!(
                f,
                "the history context in scope has user ids of type {scoped}, history of {model} keeps {expected}"
            ),
            HistoryError::Hook(err) => write!(f, "history hook failed: {err}"),
            HistoryError::NotFound { model } => write!(f, "no {model} row with this key"),
            HistoryError::NotCreatedYet { model, as_of } => {
                write!(f, "{model} did not exist yet at {as_of}")
            }
            HistoryError::Deleted { model, deleted_at } => {
                write!(f, "{model} was deleted at {deleted_at}")
            }
            HistoryError::UnknownField { model, field } => {
                write!(f, "history of {model} tracks no field `{field}`")
            }
            HistoryError::DateOutOfRange {
                model,
                date,
                dialect,
                min,
                max,
            } => write!(
                f,
                "history date {date} of {model} is outside what {} stores ({min} to {max})",
                dialect.name()
            ),
            HistoryError::UnknownKeys { model, detail } => {
                write!(f, "cannot tell which {model} rows the insert creates: {detail}")
            }
            HistoryError::Conflict { model, detail } => {
                write!(f, "conflicting input for {model}: {detail}")
            }
            HistoryError::DateInFuture { model, date } => write!(
                f,
                "history date {date} of {model} is in the future; explicit dates are for the past"
            ),
            HistoryError::SchemaMismatch {
                model,
                declared,
                table,
            } => write!(
                f,
                "history of {model} would write {declared}, but its table! is {table}: #[history(schema = ...)] must repeat the table!'s schema (and a table in a schema cannot have a #[sql_name] of its own)"
            ),
        }
    }
}

impl std::error::Error for HistoryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HistoryError::Database(err) | HistoryError::HistoryTableMissing { source: err, .. } => {
                Some(err)
            }
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for HistoryError {
    fn from(err: diesel::result::Error) -> Self {
        HistoryError::Database(err)
    }
}
