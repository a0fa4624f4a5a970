//! Trigger capture's sequence, the same on every backend: set the write's
//! context, run the data write, remove the context. The triggers the
//! migration installed write the records (see `history_core::capture`).
//!
//! A write helper of a model in trigger capture runs inside [`write`]: a
//! create, an update or a delete sends its plain statement (`write/plan.rs`);
//! the other helpers run their usual sequence, whose record steps do nothing
//! (`shared::record_where`), so the rows are still locked, checked and read
//! back as in client capture and every helper keeps its errors and return
//! values, while the history is the triggers'. On PostgreSQL a create,
//! update or delete sent outside a transaction carries its context in its
//! own statement instead ([`alone`]).
//!
//! How long a context lasts is the backend's ([`ContextScope`]); what must
//! remove it follows from that, and from whether the write runs inside a
//! caller's transaction, whose own context is put back afterwards.

use std::fmt::Display;

use diesel::deserialize::FromSqlRow;
use diesel::expression::QueryMetadata;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Nullable, Text};
use history_core::capture::{ContextKey, ContextScope};

use super::{ModelStatements, WriteBackend};
use crate::context::{HistoryContext, HistoryMeta, RowContexts};
use crate::error::HistoryError;
use crate::exec::{atomic, Executor};
use crate::query::{ClearContext, ContextRow, ContextValues, ReadContext, SetContext};
use crate::{Capture, HistoricalRecords, HistoryBackend, UserIdOf};

/// A backend that can hand a context to capture triggers. Implemented for
/// every backend; not public API.
#[allow(async_fn_in_trait)] // implemented inside the crate only
#[doc(hidden)]
pub trait ContextBackend: HistoryBackend {
    /// Sets every value of the context.
    async fn set_context<E: Executor<Backend = Self>>(
        exec: &mut E,
        values: &ContextValues,
    ) -> Result<(), HistoryError>;

    /// The context as set now (all `None` where none is).
    async fn read_context<E: Executor<Backend = Self>>(
        exec: &mut E,
    ) -> Result<ContextValues, HistoryError>;

    /// Removes the context (for the rest of the transaction, on PostgreSQL).
    async fn clear_context<E: Executor<Backend = Self>>(exec: &mut E) -> Result<(), HistoryError>;
}

type ReadContextSqlType = <ReadContext as diesel::query_builder::Query>::SqlType;

impl<DB> ContextBackend for DB
where
    DB: HistoryBackend + HasSqlType<Text> + QueryMetadata<ReadContextSqlType> + 'static,
    Option<String>: ToSql<Nullable<Text>, DB>,
    ContextRow: FromSqlRow<ReadContextSqlType, DB>,
{
    async fn set_context<E: Executor<Backend = Self>>(
        exec: &mut E,
        values: &ContextValues,
    ) -> Result<(), HistoryError> {
        exec.execute(SetContext(values)).await?;
        Ok(())
    }

    async fn read_context<E: Executor<Backend = Self>>(
        exec: &mut E,
    ) -> Result<ContextValues, HistoryError> {
        let rows: Vec<ContextRow> = exec.load(ReadContext).await?;
        Ok(rows.into_iter().next().map(Into::into).unwrap_or_default())
    }

    async fn clear_context<E: Executor<Backend = Self>>(exec: &mut E) -> Result<(), HistoryError> {
        if DB::DIALECT.clear_context().is_some() {
            exec.execute(ClearContext).await?;
        } else {
            // A transaction's settings are set to none.
            Self::set_context(exec, &ContextValues::default()).await?;
        }
        Ok(())
    }
}

/// Whether `M`'s records are written by triggers.
pub(crate) const fn triggered<M: HistoricalRecords>() -> bool {
    matches!(M::HISTORY_TABLE.capture, Capture::Trigger)
}

/// The context values of a write's metadata; no metadata is a write
/// without history.
pub(crate) fn values_of<U: Display>(meta: Option<&HistoryMeta<U>>) -> ContextValues {
    let mut values = ContextValues::default();
    let Some(meta) = meta else {
        values.set(ContextKey::Skip, Some("1".to_owned()));
        return values;
    };
    values.set(
        ContextKey::UserId,
        meta.user.as_ref().map(ToString::to_string),
    );
    values.set(ContextKey::ChangeReason, meta.reason.clone());
    values.set(
        ContextKey::Date,
        meta.explicit.then(|| date_text(meta.date.0)),
    );
    values.set(
        ContextKey::ClientIp,
        meta.client_ip.map(|ip| ip.to_string()),
    );
    values.set(ContextKey::UserAgent, meta.user_agent.clone());
    values.set(ContextKey::RequestId, meta.request_id.clone());
    values
}

/// The context values of a [`HistoryContext`] as [`with_context`] hands
/// them over: its user (or the one in scope), reason, date and where from.
///
/// [`with_context`]: crate::with_context
pub(crate) fn values_of_context<U>(ctx: &HistoryContext<U>) -> ContextValues
where
    U: Display + Clone + Send + Sync + 'static,
{
    let ctx = ctx.resolved();
    if ctx.skips_history() {
        return values_of::<U>(None);
    }
    let mut values = ContextValues::default();
    values.set(ContextKey::UserId, ctx.get_user().map(ToString::to_string));
    values.set(
        ContextKey::ChangeReason,
        ctx.get_reason().map(str::to_owned),
    );
    values.set(
        ContextKey::Date,
        ctx.get_date().map(|date| date_text(date.naive_utc())),
    );
    values.set(
        ContextKey::ClientIp,
        ctx.get_client_ip().map(|ip| ip.to_string()),
    );
    values.set(
        ContextKey::UserAgent,
        ctx.get_user_agent().map(str::to_owned),
    );
    values.set(
        ContextKey::RequestId,
        ctx.get_request_id().map(str::to_owned),
    );
    values
}

/// A date as the triggers read it: UTC, microseconds.
fn date_text(date: chrono::NaiveDateTime) -> String {
    date.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// Runs `body` with `values` set as the context of its writes, and
/// removes the context however `body` ends (a caller's own context is put
/// back instead).
///
/// With `own_transaction`, `body` runs in a transaction (a savepoint inside
/// the caller's). Without it, on a backend whose context is a session's
/// (MySQL), `body` runs as it is: a write helper's sequence opens the
/// transactions it needs itself, and a single statement is atomic alone,
/// which spares its BEGIN and COMMIT. The other backends' contexts live in
/// a transaction, which is then opened anyway.
pub(crate) async fn in_context<E, T>(
    exec: &mut E,
    values: &ContextValues,
    own_transaction: bool,
    body: impl AsyncFnOnce(&mut E) -> Result<T, HistoryError>,
) -> Result<T, HistoryError>
where
    E: Executor,
    E::Backend: ContextBackend,
{
    let set = async |exec: &mut E| <E::Backend as ContextBackend>::set_context(exec, values).await;
    in_context_set(exec, set, own_transaction, body).await
}

/// As [`in_context`], the context set by `set`: the backend's
/// [`ContextBackend::set_context`], or a statement of the backend's own
/// that does one more thing at once.
pub(crate) async fn in_context_set<E, T>(
    exec: &mut E,
    set: impl AsyncFnOnce(&mut E) -> Result<(), HistoryError>,
    own_transaction: bool,
    body: impl AsyncFnOnce(&mut E) -> Result<T, HistoryError>,
) -> Result<T, HistoryError>
where
    E: Executor,
    E::Backend: ContextBackend,
{
    let scope = <E::Backend as HistoryBackend>::DIALECT.context_scope();
    let outer = if exec.in_transaction() {
        Some(<E::Backend as ContextBackend>::read_context(exec).await?)
    } else {
        None
    };
    let outcome = if own_transaction || scope != ContextScope::Session {
        atomic(exec, async |exec: &mut E| {
            set(exec).await?;
            let value = body(exec).await?;
            // Put back, or remove, before the commit: a setting of the
            // transaction outlives a released savepoint, and SQLite's context
            // row must not commit.
            match (&outer, scope) {
                (_, ContextScope::Session) => {}
                (Some(outer), _) => restore(exec, outer).await?,
                (None, ContextScope::Row) => {
                    <E::Backend as ContextBackend>::clear_context(exec).await?
                }
                (None, ContextScope::Transaction) => {}
            }
            Ok(value)
        })
        .await
    } else {
        match set(exec).await {
            Ok(()) => body(exec).await,
            Err(err) => Err(err),
        }
    };
    if scope == ContextScope::Session {
        // Session variables survive both the commit and a rollback.
        let cleanup = match &outer {
            Some(outer) => restore(exec, outer).await,
            None => <E::Backend as ContextBackend>::clear_context(exec).await,
        };
        if let (Err(err), Ok(_)) = (cleanup, &outcome) {
            return Err(err);
        }
    }
    outcome
}

/// Sets `outer` again, or removes the context where `outer` had none.
async fn restore<E>(exec: &mut E, outer: &ContextValues) -> Result<(), HistoryError>
where
    E: Executor,
    E::Backend: ContextBackend,
{
    if outer.0.iter().all(Option::is_none) {
        <E::Backend as ContextBackend>::clear_context(exec).await
    } else {
        <E::Backend as ContextBackend>::set_context(exec, outer).await
    }
}

/// Runs a write helper's sequence `body`: as it is in client capture; in
/// trigger capture inside [`in_context`] with the write's one context
/// (per-row contexts are refused before any statement: a trigger reads one
/// context per transaction).
pub(crate) async fn write<M, DB, E, R, T>(
    exec: &mut E,
    contexts: &R,
    body: impl AsyncFnOnce(&mut E) -> Result<T, HistoryError>,
) -> Result<T, HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M> + ContextBackend,
    E: Executor<Backend = DB>,
    R: RowContexts<UserIdOf<M>> + ?Sized,
{
    if !triggered::<M>() {
        return body(exec).await;
    }
    if !contexts.uniform() {
        return Err(HistoryError::PerRowContexts {
            model: M::HISTORY_TABLE.model,
        });
    }
    let meta = super::shared::meta::<M, DB>(contexts.row(0))?;
    in_context(exec, &values_of(meta.as_ref()), false, body).await
}

/// The one row a single-row insert read back.
pub(crate) fn one_row<M: HistoricalRecords>(mut rows: Vec<M>) -> Result<M, HistoryError> {
    match rows.len() {
        1 => Ok(rows.remove(0)),
        read => Err(HistoryError::ReadBack {
            model: M::HISTORY_TABLE.model,
            written: 1,
            read,
        }),
    }
}

/// Whether a trigger-captured write of `M` can be sent as one statement
/// that carries its own context: none is open, and the backend can
/// ([`WriteBackend::CONTEXT_IN_WRITE`]). A single statement needs no
/// transaction, so this spares the BEGIN, the context's statement and the
/// COMMIT.
pub(crate) fn alone<M, DB, E>(exec: &mut E) -> bool
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
{
    triggered::<M>() && DB::CONTEXT_IN_WRITE && !exec.in_transaction()
}

/// One insert that carries its context ([`alone`]); the rows as stored.
pub(crate) async fn insert_alone<M, DB, E, V>(
    exec: &mut E,
    values: V,
    rows: usize,
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<Vec<M>, HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
    V: diesel::query_builder::QueryFragment<DB>,
{
    let spec = &M::HISTORY_TABLE;
    let context = values_of(super::shared::meta::<M, DB>(ctx)?.as_ref());
    let inserted = DB::insert_in_context(exec, values, &context)
        .await
        .map_err(|err| super::shared::conflict(spec, err))?;
    if inserted.len() != rows {
        return Err(HistoryError::ReadBack {
            model: spec.model,
            written: rows,
            read: inserted.len(),
        });
    }
    Ok(inserted)
}

/// One update or delete that carries its context ([`alone`]); how many
/// rows it wrote.
pub(crate) async fn write_alone<M, DB, E, Wr>(
    exec: &mut E,
    write: Wr,
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
    Wr: diesel::query_builder::QueryFragment<DB>,
{
    let context = values_of(super::shared::meta::<M, DB>(ctx)?.as_ref());
    Ok(DB::write_in_context(exec, write, &context).await?.len())
}

/// A `with_context` body's result as the sequence sees it: its own error
/// kept in `failure` (returned to the caller as it is by [`body_outcome`]),
/// a rollback for the sequence.
pub(crate) fn keep_failure<T, E>(
    result: Result<T, E>,
    failure: &mut Option<E>,
) -> Result<T, HistoryError> {
    result.map_err(|err| {
        *failure = Some(err);
        HistoryError::Database(diesel::result::Error::RollbackTransaction)
    })
}

/// What `with_context` returns: the body's value, its own error, or the
/// sequence's.
pub(crate) fn body_outcome<T, E: From<HistoryError>>(
    outcome: Result<T, HistoryError>,
    failure: Option<E>,
) -> Result<T, E> {
    match (outcome, failure) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(err)) => Err(err),
        (Err(err), None) => Err(E::from(err)),
    }
}
