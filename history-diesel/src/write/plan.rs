//! The writes whose front-end work (checks before any statement, batch
//! sizes, the mapping of "no row" to an error) is more than one call of a
//! backend's sequence, written once over an executor: the synchronous
//! [`WriteWithHistory`](crate::WriteWithHistory) and, with the `async`
//! feature, its asynchronous twin both run these.

use std::collections::HashSet;

use chrono::Utc;
use diesel::query_builder::QueryFragment;
use diesel::Insertable;

use crate::backend::captured;
pub(crate) use crate::backend::insert_batches;
use crate::backend::statements::{delete_node, update_node};
use crate::backend::{
    rows_per_statement, InsertBatches, InsertRows, Returning, WholeRows, WriteBackend,
};
use crate::context::{HistoryContext, RowContexts};
use crate::error::HistoryError;
use crate::exec::{atomic, Executor};
use crate::write::BulkOptions;
use crate::{HistoricalRecords, HistoryBackend, UserIdOf};

/// Inserts one row and records a `+`.
pub(crate) async fn create<M, DB, E, N>(
    exec: &mut E,
    new: N,
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<M, HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
    N: Insertable<M::Table>,
    N::Values: QueryFragment<DB>,
{
    if captured::alone::<M, DB, E>(exec) {
        let mut rows = captured::insert_alone::<M, DB, E, _>(exec, new.values(), 1, ctx).await?;
        return Ok(rows.remove(0));
    }
    if captured::triggered::<M>() {
        // The insert alone, read back as the backend does, in its context.
        return DB::create_in_context(exec, new.values(), ctx).await;
    }
    let batches = vec![vec![(new.values(), 1)]];
    let mut rows = DB::create::<WholeRows, _, _, _>(exec, batches, ctx, Utc::now()).await?;
    Ok(rows.remove(0))
}

/// Inserts many rows in batches and records a `+` for each: `statements`
/// are the rows' inserts ([`insert_batches`]), `binds_per_row` what one row
/// binds ([`binds_per_row`]).
pub(crate) async fn bulk_create<M, DB, Out, E, S, R>(
    exec: &mut E,
    statements: S,
    rows: usize,
    binds_per_row: usize,
    contexts: &R,
    options: BulkOptions,
) -> Result<Vec<Out::Row>, HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    Out: Returning<M, DB>,
    E: Executor<Backend = DB>,
    S: InsertBatches<Values: QueryFragment<DB>>,
    R: RowContexts<UserIdOf<M>> + ?Sized,
{
    check_context_count(M::HISTORY_TABLE.model, contexts.rows(), rows)?;
    let now = Utc::now();
    let batch = rows_per_statement(exec, options.batch_size, binds_per_row).await?;
    captured::write::<M, DB, E, _, _>(exec, contexts, async |exec: &mut E| {
        DB::bulk_create::<Out, _, _, _>(exec, statements, batch, contexts, now).await
    })
    .await
}

/// The binds of one row of a bulk create: those of its first row.
pub(crate) fn binds_per_row<'r, M, DB, N>(rows: &'r [N]) -> Result<usize, HistoryError>
where
    M: HistoricalRecords,
    DB: HistoryBackend,
    N: InsertRows<'r, M, DB>,
{
    Ok(match N::statements(&rows[..rows.len().min(1)]).first() {
        Some((values, _)) => DB::bind_count(values)?,
        None => 0,
    })
}

/// Writes many existing rows whole and records a `~` for each.
pub(crate) async fn bulk_update<M, DB, E, R>(
    exec: &mut E,
    rows: &[M],
    contexts: &R,
    options: BulkOptions,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords + crate::__private::RowValues<DB>,
    M::Id: Eq + std::hash::Hash,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
    R: RowContexts<UserIdOf<M>> + ?Sized,
{
    check_context_count(M::HISTORY_TABLE.model, contexts.rows(), rows.len())?;
    let now = Utc::now();
    let mut keys = HashSet::with_capacity(rows.len());
    if !rows.iter().all(|row| keys.insert(row.history_key())) {
        return Err(HistoryError::DuplicateKey {
            model: M::HISTORY_TABLE.model,
        });
    }
    // The upsert binds every field of the model.
    let binds_per_row = M::HISTORY_TABLE.model_columns.len();
    let batch = rows_per_statement(exec, options.batch_size, binds_per_row).await?;
    // One transaction for every batch.
    captured::write::<M, DB, E, _, _>(exec, contexts, async |exec: &mut E| {
        atomic(exec, async |exec: &mut E| {
            let mut updated = 0;
            for (i, chunk) in rows.chunks(batch).enumerate() {
                updated += DB::bulk_update(exec, chunk, contexts, i * batch, now).await?;
            }
            Ok(updated)
        })
        .await
    })
    .await
}

/// Saves one row's changes by key and records a `~`; `NotFound` without
/// the row.
pub(crate) async fn save<M, DB, E, Ch>(
    exec: &mut E,
    key: M::Id,
    changes: Ch,
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
    Ch: QueryFragment<DB>,
{
    if captured::triggered::<M>() {
        let keys = [key];
        return found::<M>(
            update_where::<M, DB, E, _, _>(exec, DB::keys(&keys), changes, ctx).await?,
        );
    }
    found::<M>(DB::update_key(exec, key, changes, ctx).await?)
}

/// Deletes one row by key and records a `-`; `NotFound` without the row.
pub(crate) async fn delete<M, DB, E>(
    exec: &mut E,
    key: M::Id,
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
{
    if captured::triggered::<M>() {
        let keys = [key];
        return found::<M>(delete_where::<M, DB, E, _>(exec, DB::keys(&keys), ctx).await?);
    }
    found::<M>(DB::delete_key(exec, key, ctx).await?)
}

/// Updates the rows `filter` selects and records a `~` for each. In
/// trigger capture the update alone, in its context: no keys need reading.
pub(crate) async fn update_where<M, DB, E, W, Ch>(
    exec: &mut E,
    filter: W,
    changes: Ch,
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
    W: QueryFragment<DB>,
    Ch: QueryFragment<DB>,
{
    if !captured::triggered::<M>() {
        return DB::update(exec, filter, changes, ctx).await;
    }
    if captured::alone::<M, DB, E>(exec) {
        let write = update_node::<M, _, _>(filter, changes);
        return captured::write_alone::<M, DB, E, _>(exec, write, ctx).await;
    }
    captured::write::<M, DB, E, _, _>(exec, ctx, async |exec: &mut E| {
        Ok(DB::update_where(exec, filter, changes).await?)
    })
    .await
}

/// Deletes the rows `filter` selects and records a `-` for each; in
/// trigger capture the delete alone, in its context.
pub(crate) async fn delete_where<M, DB, E, W>(
    exec: &mut E,
    filter: W,
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
    W: QueryFragment<DB>,
{
    if !captured::triggered::<M>() {
        return DB::delete(exec, filter, ctx).await;
    }
    if captured::alone::<M, DB, E>(exec) {
        let write = delete_node::<M, _>(filter);
        return captured::write_alone::<M, DB, E, _>(exec, write, ctx).await;
    }
    captured::write::<M, DB, E, _, _>(exec, ctx, async |exec: &mut E| {
        Ok(DB::delete_where(exec, filter).await?)
    })
    .await
}

fn found<M: HistoricalRecords>(rows: usize) -> Result<(), HistoryError> {
    match rows {
        0 => Err(HistoryError::NotFound {
            model: M::HISTORY_TABLE.model,
        }),
        _ => Ok(()),
    }
}

/// Per-row contexts must name every row, no more.
fn check_context_count(
    model: &'static str,
    contexts: Option<usize>,
    rows: usize,
) -> Result<(), HistoryError> {
    match contexts {
        Some(contexts) if contexts != rows => Err(HistoryError::ContextCount {
            model,
            contexts,
            rows,
        }),
        _ => Ok(()),
    }
}
