use std::fmt;

/// Why a history write or read failed. Whatever the reason, a write kept
/// nothing: the data write and the history write happen in one transaction,
/// and most refusals come before any statement is sent. Each variant says
/// which.
///
/// A variant that wraps a cause follows one rule, so an error chain (one
/// `Display` per [`source`](std::error::Error::source)) prints every cause
/// once: [`Database`](Self::Database) and [`Hook`](Self::Hook) add no words
/// of their own and are transparent (their `Display` and `source` are the
/// inner error's); the others say what failed in `Display` and give the
/// cause only through `source`.
#[derive(Debug)]
#[non_exhaustive]
pub enum HistoryError {
    /// The database refused a statement. The transaction was rolled back:
    /// nothing was written. Transparent: shows as the inner error.
    Database(diesel::result::Error),
    /// The history table does not exist: its migration has not run. The
    /// transaction was rolled back: nothing was written. The database's
    /// words are the `source`.
    HistoryTableMissing {
        /// The history table.
        table: &'static str,
        /// What the database said.
        source: diesel::result::Error,
    },
    /// The context asked for a user ([`HistoryContext::require_user`](crate::HistoryContext::require_user))
    /// and none was given or in scope. Refused before any statement.
    UserRequired {
        /// The model written.
        model: &'static str,
    },
    /// A capture trigger of a model with `#[history(require_user)]` refused
    /// a write that carried no user (`capture = trigger`): the statement was
    /// rolled back, whoever sent it. The database's words are the `source`.
    UserRefusedByDatabase {
        /// The source table the write was to.
        table: String,
        /// What the database said.
        source: diesel::result::Error,
    },
    /// A write of a model in trigger capture was given one context per row;
    /// a trigger reads one context per transaction. Refused before any
    /// statement: write the rows of each context in a call of their own.
    PerRowContexts {
        /// The model written.
        model: &'static str,
    },
    /// The change reason is longer than the `history_change_reason` column.
    /// Refused before any statement.
    ReasonTooLong {
        /// The model written.
        model: &'static str,
        /// The column's length, in characters.
        max: u32,
        /// The reason's length, in characters.
        len: usize,
    },
    /// The row to update or delete does not exist. The transaction was
    /// rolled back: nothing was written. (A read that finds no history
    /// record is [`NoRecords`](Self::NoRecords).)
    NotFound {
        /// The model written.
        model: &'static str,
    },
    /// A read found no history record of the object (`latest`, `earliest`,
    /// `most_recent`, `update_change_reason`): its key is unknown, or it
    /// was written without history. Nothing was written.
    NoRecords {
        /// The model read.
        model: &'static str,
    },
    /// The context in scope ([`HistoryContext::scope`](crate::HistoryContext::scope))
    /// has another user id type than the model's history. Refused before
    /// any statement.
    ScopedUserType {
        /// The model written.
        model: &'static str,
        /// The model's user id type.
        expected: &'static str,
        /// The scoped context's user id type.
        scoped: &'static str,
    },
    /// A [`RecordHooks`](crate::RecordHooks) hook refused the write. A
    /// `before_record` refusal comes before the write's statements; an
    /// `after_record` one rolls the transaction back. Either way nothing was
    /// written. Transparent: shows as the hook's error.
    Hook(crate::HookError),
    /// An `as_of` read asked for an object before its first record.
    /// Nothing was written.
    NotCreatedYet {
        /// The model read.
        model: &'static str,
        /// The time asked for.
        as_of: chrono::DateTime<chrono::Utc>,
    },
    /// A read found that the object had been deleted by then (`as_of`, or
    /// `most_recent` whose newest record is a `-`). Nothing was written.
    Deleted {
        /// The model read.
        model: &'static str,
        /// When it was deleted (its latest record up to the time asked for).
        deleted_at: chrono::DateTime<chrono::Utc>,
    },
    /// A diff named a field that history does not track. No statement is
    /// sent by a diff.
    UnknownField {
        /// The model.
        model: &'static str,
        /// The name given.
        field: String,
    },
    /// A history date ([`HistoryContext::at`](crate::HistoryContext::at))
    /// outside what the backend stores ([`Dialect::history_date_range`](crate::Dialect::history_date_range)):
    /// refused before any statement.
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
    /// refused before the insert, and nothing was written.
    UnknownKeys {
        /// The model written.
        model: &'static str,
        /// Why the keys cannot be known.
        detail: String,
    },
    /// The same key appears twice in a bulk input. Checked before any
    /// statement: nothing was written.
    DuplicateKey {
        /// The model written.
        model: &'static str,
    },
    /// The database refused an insert with a unique violation: a key that
    /// already exists, or one that repeats within the insert. The
    /// transaction was rolled back: nothing was written. The database's
    /// words are the `source`.
    KeyExists {
        /// The model written.
        model: &'static str,
        /// What the database said.
        source: diesel::result::Error,
    },
    /// [`restore_unless_changed`](crate::WriteWithHistory::restore_unless_changed):
    /// the object has a newer record than the one given, so someone wrote
    /// it since. The transaction was rolled back: nothing was written.
    Stale {
        /// The model written.
        model: &'static str,
    },
    /// A bulk write was given per-row contexts, but not one per row.
    /// Refused before any statement.
    ContextCount {
        /// The model written.
        model: &'static str,
        /// How many contexts were given.
        contexts: usize,
        /// How many rows were given.
        rows: usize,
    },
    /// An insert created rows that could not all be read back (a trigger or
    /// rule that drops or redirects them, say), so their history cannot be
    /// recorded. The transaction was rolled back: nothing was written.
    ReadBack {
        /// The model written.
        model: &'static str,
        /// The rows the statement inserted.
        written: usize,
        /// The rows read back.
        read: usize,
    },
    /// An explicit history date ([`HistoryContext::at`](crate::HistoryContext::at))
    /// lies after the clock: a record dated in the future would sort after
    /// writes that commit later. Refused before any statement.
    DateInFuture {
        /// The model written.
        model: &'static str,
        /// The date given.
        date: chrono::DateTime<chrono::Utc>,
    },
    /// A maintenance operation ([`crate::maintenance`]) was called inside
    /// a transaction; it commits chunk by chunk, so it runs outside one.
    /// Refused before any statement.
    InTransaction {
        /// The model.
        model: &'static str,
    },
    /// A maintenance operation cannot handle this model or value (a user id
    /// of a type a backfill does not bind). Refused before any statement.
    Unsupported {
        /// The model.
        model: &'static str,
        /// What is not supported.
        detail: String,
    },
    /// Pruned records could not be written to the archive. The chunk being
    /// pruned was rolled back; chunks before it were archived, then deleted.
    /// The I/O error is the `source`.
    Archive {
        /// The model.
        model: &'static str,
        /// What the writer said.
        source: std::io::Error,
    },
    /// The model's `#[history(schema = ...)]` names another table than its
    /// `table!` (`schema.table`). Refused before any statement.
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
            HistoryError::Database(err) => fmt::Display::fmt(err, f),
            HistoryError::HistoryTableMissing { table, .. } => {
                write!(f, "history table {table} is missing (has its migration run?)")
            }
            HistoryError::UserRefusedByDatabase { table, .. } => write!(
                f,
                "the database refused a change to {table} without a user: its history requires one"
            ),
            HistoryError::PerRowContexts { model } => write!(
                f,
                "history of {model} is written by triggers, which take one context per call, \
                 not one per row"
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
            HistoryError::Hook(err) => fmt::Display::fmt(err, f),
            HistoryError::NotFound { model } => {
                write!(f, "the {model} row to write does not exist")
            }
            HistoryError::NoRecords { model } => {
                write!(f, "no history record of this {model}")
            }
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
            HistoryError::DuplicateKey { model } => {
                write!(f, "the same {model} key appears twice in the input")
            }
            HistoryError::KeyExists { model, .. } => write!(
                f,
                "a {model} key of the insert already exists or repeats within it"
            ),
            HistoryError::Stale { model } => write!(
                f,
                "{model} changed since the given record; nothing was restored"
            ),
            HistoryError::ContextCount {
                model,
                contexts,
                rows,
            } => write!(f, "{contexts} history contexts for {rows} {model} rows"),
            HistoryError::ReadBack {
                model,
                written,
                read,
            } => write!(
                f,
                "inserted {written} {model} rows but read back {read}; their history cannot be recorded"
            ),
            HistoryError::DateInFuture { model, date } => write!(
                f,
                "history date {date} of {model} is in the future; explicit dates are for the past"
            ),
            HistoryError::InTransaction { model } => write!(
                f,
                "history maintenance of {model} commits chunk by chunk: run it outside a transaction"
            ),
            HistoryError::Unsupported { model, detail } => {
                write!(f, "history maintenance of {model}: {detail}")
            }
            HistoryError::Archive { model, .. } => write!(
                f,
                "could not archive pruned history records of {model}; nothing of the failed chunk was deleted"
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
            // Transparent: the inner error is what `Display` already shows.
            HistoryError::Database(err) => err.source(),
            HistoryError::Hook(err) => err.source(),
            HistoryError::HistoryTableMissing { source, .. }
            | HistoryError::KeyExists { source, .. } => Some(source),
            HistoryError::UserRefusedByDatabase { source, .. } => Some(source),
            HistoryError::Archive { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for HistoryError {
    /// A database error, or the refusal of a capture trigger
    /// ([`UserRefusedByDatabase`](HistoryError::UserRefusedByDatabase)),
    /// told by the message the triggers raise.
    fn from(err: diesel::result::Error) -> Self {
        let refused = match &err {
            diesel::result::Error::DatabaseError(_, info) => info
                .message()
                .split_once(history_core::capture::USER_REQUIRED_MESSAGE)
                .map(|(_, table)| table.trim_end_matches(" (19)").to_owned()),
            _ => None,
        };
        match refused {
            Some(table) => HistoryError::UserRefusedByDatabase { table, source: err },
            None => HistoryError::Database(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HistoryError;
    use diesel::result::{DatabaseErrorKind, Error};

    /// Every message of an error chain, outermost first, as a logger that
    /// walks `source()` prints it.
    fn chain(err: &HistoryError) -> Vec<String> {
        let mut lines = vec![err.to_string()];
        let mut cause = std::error::Error::source(err);
        while let Some(err) = cause {
            lines.push(err.to_string());
            cause = err.source();
        }
        lines
    }

    fn unique_violation() -> Error {
        Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key 7".to_owned()),
        )
    }

    #[test]
    fn a_chain_prints_each_cause_once() {
        let key_exists = HistoryError::KeyExists {
            model: "Order",
            source: unique_violation(),
        };
        let missing = HistoryError::HistoryTableMissing {
            table: "historical_orders",
            source: Error::NotFound,
        };
        let database = HistoryError::Database(unique_violation());
        let hook = HistoryError::Hook("vetoed".into());
        for (err, cause) in [
            (&key_exists, "duplicate key 7"),
            (&missing, "Record not found"),
            (&database, "duplicate key 7"),
            (&hook, "vetoed"),
        ] {
            let lines = chain(err);
            let times = lines.iter().filter(|line| line.contains(cause)).count();
            assert_eq!(times, 1, "{lines:?}");
        }
        assert_eq!(chain(&key_exists).len(), 2);
        // Transparent: the database's words, no wrapper of ours.
        assert_eq!(chain(&database), ["duplicate key 7"]);
    }
}
