//! Running a write atomically: one transaction (a savepoint inside the
//! caller's) that is rolled back on every way out but success.
//!
//! Diesel's `Connection::transaction` rolls back on an error, but not when
//! the closure panics: the panic unwinds past it, the transaction stays open,
//! and every later write on that connection runs inside it (in a savepoint),
//! returns Ok and is lost when the connection closes. A hook is user code and
//! may panic, so every write of this crate goes through [`atomic`].

use std::panic::{self, AssertUnwindSafe};

use diesel::connection::{Connection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error};

use crate::error::HistoryError;

/// Runs `f` in a transaction, or in a savepoint inside the caller's, and
/// commits it when `f` succeeds. On an error it rolls back and returns the
/// error; on a panic it rolls back and resumes the panic, leaving the
/// connection as it found it.
pub(crate) fn atomic<C, T>(
    conn: &mut C,
    f: impl FnOnce(&mut C) -> Result<T, HistoryError>,
) -> Result<T, HistoryError>
where
    C: Connection,
{
    C::TransactionManager::begin_transaction(conn)?;
    match panic::catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(Ok(value)) => {
            C::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Ok(Err(err)) => {
            let err = lock_victim(err);
            match C::TransactionManager::rollback_transaction(conn) {
                Ok(()) => Err(err),
                // The server already rolled the whole transaction back, and the
                // savepoint with it: the victim's error is the one to report,
                // so the caller retries its transaction.
                Err(_) if is_lock_victim(&err) => Err(err),
                Err(rollback) => Err(HistoryError::Database(rollback)),
            }
        }
        Err(payload) => {
            // If even the rollback fails, Diesel marks the connection's
            // transaction manager broken, and its next use says so.
            let _ = C::TransactionManager::rollback_transaction(conn);
            panic::resume_unwind(payload)
        }
    }
}

/// MySQL/MariaDB report a deadlock found while waiting for a table's
/// AUTO-INC lock (an `INSERT .. SELECT` into a history table, whose
/// auto-increment lock another `INSERT .. SELECT` holds while it waits for
/// one of our rows) as error 1467, "Failed to read auto-increment value from
/// storage engine", which Diesel cannot tell from other errors. InnoDB has
/// rolled the victim's whole transaction back, as for any deadlock, so it is
/// reported as the retryable [`DatabaseErrorKind::SerializationFailure`].
fn lock_victim(err: HistoryError) -> HistoryError {
    const AUTO_INC_DEADLOCK: &str = "Failed to read auto-increment value from storage engine";
    match err {
        HistoryError::Database(Error::DatabaseError(DatabaseErrorKind::Unknown, info))
            if info.message() == AUTO_INC_DEADLOCK =>
        {
            HistoryError::Database(Error::DatabaseError(
                DatabaseErrorKind::SerializationFailure,
                info,
            ))
        }
        other => other,
    }
}

fn is_lock_victim(err: &HistoryError) -> bool {
    matches!(
        err,
        HistoryError::Database(Error::DatabaseError(
            DatabaseErrorKind::SerializationFailure,
            _
        ))
    )
}
