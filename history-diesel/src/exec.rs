//! Executors: what runs a write's statements on a connection.
//!
//! Every sequence of statements (`crate::backend`) is written once, as an
//! `async fn` over an [`Executor`]. A write's statements depend on what the
//! ones before returned (the keys an `UPDATE` touched are the keys its
//! records are written for), so a sequence is not a fixed list of
//! statements; an `async fn` is the small state machine that holds it, built
//! by the compiler rather than by hand. A synchronous connection runs it
//! through [`Blocking`], whose every step is complete when it returns, so
//! [`block`] drives the whole sequence in one poll, on the caller's thread,
//! without a runtime; an asynchronous connection runs the very same
//! sequence, awaiting each step.

use std::future::{poll_fn, Future};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use diesel::connection::{LoadConnection, TransactionManager};
use diesel::deserialize::FromSqlRow;
use diesel::expression::QueryMetadata;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::CompatibleType;
use diesel::result::{DatabaseErrorKind, Error};
use diesel::{QueryResult, RunQueryDsl};

use crate::error::HistoryError;

/// Runs statements and transactions on one connection. Not public API: the
/// crate's executors implement it.
#[allow(async_fn_in_trait)] // implemented inside the crate only
pub trait Executor {
    /// The connection's backend.
    type Backend: diesel::backend::Backend;

    /// Runs `query` and returns its rows.
    async fn load<Q, U>(&mut self, query: Q) -> QueryResult<Vec<U>>
    where
        Q: Query + QueryFragment<Self::Backend> + QueryId,
        Q::SqlType: CompatibleType<U, Self::Backend>,
        Self::Backend: QueryMetadata<Q::SqlType> + 'static,
        U: FromSqlRow<<Q::SqlType as CompatibleType<U, Self::Backend>>::SqlType, Self::Backend>
            + 'static,
        <Q::SqlType as CompatibleType<U, Self::Backend>>::SqlType: 'static;

    /// Runs `query` and returns the number of rows it affected.
    async fn execute<Q>(&mut self, query: Q) -> QueryResult<usize>
    where
        Q: QueryFragment<Self::Backend> + QueryId;

    /// Whether a transaction is open (a broken transaction manager counts as
    /// one: the next `begin` reports it).
    fn in_transaction(&mut self) -> bool;

    /// Opens a transaction, or a savepoint inside the open one.
    async fn begin(&mut self) -> QueryResult<()>;

    /// Commits what [`begin`](Self::begin) opened.
    async fn commit(&mut self) -> QueryResult<()>;

    /// Rolls back what [`begin`](Self::begin) opened.
    async fn rollback(&mut self) -> QueryResult<()>;
}

/// A synchronous Diesel connection as an [`Executor`]: each step runs to
/// completion before it returns.
pub struct Blocking<'c, C>(pub(crate) &'c mut C);

impl<C, DB> Executor for Blocking<'_, C>
where
    C: LoadConnection<Backend = DB>,
    DB: diesel::backend::Backend,
{
    type Backend = DB;

    async fn load<Q, U>(&mut self, query: Q) -> QueryResult<Vec<U>>
    where
        Q: Query + QueryFragment<DB> + QueryId,
        Q::SqlType: CompatibleType<U, DB>,
        DB: QueryMetadata<Q::SqlType> + 'static,
        U: FromSqlRow<<Q::SqlType as CompatibleType<U, DB>>::SqlType, DB> + 'static,
        <Q::SqlType as CompatibleType<U, DB>>::SqlType: 'static,
    {
        Loaded(query).load(self.0)
    }

    async fn execute<Q>(&mut self, query: Q) -> QueryResult<usize>
    where
        Q: QueryFragment<DB> + QueryId,
    {
        self.0.execute_returning_count(&query)
    }

    fn in_transaction(&mut self) -> bool {
        let status = C::TransactionManager::transaction_manager_status_mut(self.0);
        !matches!(status.transaction_depth(), Ok(None))
    }

    async fn begin(&mut self) -> QueryResult<()> {
        C::TransactionManager::begin_transaction(self.0)
    }

    async fn commit(&mut self) -> QueryResult<()> {
        C::TransactionManager::commit_transaction(self.0)
    }

    async fn rollback(&mut self) -> QueryResult<()> {
        C::TransactionManager::rollback_transaction(self.0)
    }
}

/// Any query node, as Diesel's `RunQueryDsl` takes it on any connection.
struct Loaded<Q>(Q);

impl<Q: Query> Query for Loaded<Q> {
    type SqlType = Q::SqlType;
}

impl<DB: diesel::backend::Backend, Q: QueryFragment<DB>> QueryFragment<DB> for Loaded<Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

impl<Q: QueryId> QueryId for Loaded<Q> {
    type QueryId = Q::QueryId;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q, Conn> RunQueryDsl<Conn> for Loaded<Q> {}

/// Drives a sequence run by [`Blocking`] to its end.
pub(crate) fn block<F: Future>(sequence: F) -> F::Output {
    let mut sequence = pin!(sequence);
    match sequence
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("a blocking executor completes every step it runs"),
    }
}

/// Runs `body` in a transaction, or in a savepoint inside the caller's, and
/// commits it when `body` succeeds. On an error it rolls back and returns the
/// error; on a panic it rolls back and resumes the panic, leaving the
/// connection as it found it.
///
/// Diesel's `Connection::transaction` rolls back on an error, but not when
/// the closure panics: the panic unwinds past it, the transaction stays open,
/// and every later write on that connection runs inside it (in a savepoint),
/// returns Ok and is lost when the connection closes. A hook is user code and
/// may panic, so every write of this crate goes through here.
pub(crate) async fn atomic<E, T>(
    exec: &mut E,
    body: impl AsyncFnOnce(&mut E) -> Result<T, HistoryError>,
) -> Result<T, HistoryError>
where
    E: Executor,
{
    exec.begin().await?;
    let outcome = {
        let mut run = pin!(body(exec));
        poll_fn(
            |cx| match panic::catch_unwind(AssertUnwindSafe(|| run.as_mut().poll(cx))) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
                Err(payload) => Poll::Ready(Err(payload)),
            },
        )
        .await
    };
    match outcome {
        Ok(Ok(value)) => {
            exec.commit().await?;
            Ok(value)
        }
        Ok(Err(err)) => {
            let err = lock_victim(err);
            match exec.rollback().await {
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
            let _ = exec.rollback().await;
            panic::resume_unwind(payload)
        }
    }
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // PostgreSQL's one-statement writes
/// Runs `write`, which sends one statement when `alone`: atomic by itself,
/// so it needs no BEGIN/COMMIT round trips. Inside a caller's transaction,
/// or when more than that statement runs (an after-record hook, which may
/// fail after it), it takes a transaction or savepoint as every other write
/// does, so a failure keeps nothing and leaves the caller's transaction usable.
pub(crate) async fn single_statement<E, T>(
    exec: &mut E,
    alone: bool,
    write: impl AsyncFnOnce(&mut E) -> Result<T, HistoryError>,
) -> Result<T, HistoryError>
where
    E: Executor,
{
    if alone && !exec.in_transaction() {
        write(exec).await
    } else {
        atomic(exec, write).await
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
