//! The walk every operation shares: a table in keyset chunks of its first
//! key column, each chunk its own transaction, a callback between chunks.

use std::ops::ControlFlow;

use diesel::connection::{LoadConnection, TransactionManager};

use super::backend::{ChunkLock, MaintenanceBackend};
use super::sql::{Chunk, KeyValue, KeyWalk, Sql};
use super::{Outcome, Progress};
use crate::backend::shared::missing_history_table;
use crate::{HistoryError, HistoryTableSpec, TableName};

/// Refuses to run inside the caller's transaction: each chunk commits, and
/// a chunk that committed must stay committed when the caller rolls back.
pub(crate) fn outside_transaction<C: LoadConnection>(
    conn: &mut C,
    spec: &HistoryTableSpec,
) -> Result<(), HistoryError> {
    let depth = C::TransactionManager::transaction_manager_status_mut(conn).transaction_depth()?;
    match depth {
        None => Ok(()),
        Some(_) => Err(HistoryError::InTransaction { model: spec.model }),
    }
}

/// Runs `f` in a chunk's transaction: committed when it succeeds, rolled
/// back (and its error returned) when it fails.
pub(crate) fn in_chunk<C, T>(
    conn: &mut C,
    lock: ChunkLock<'_>,
    f: impl FnOnce(&mut C) -> Result<T, HistoryError>,
) -> Result<T, HistoryError>
where
    C: LoadConnection,
    C::Backend: MaintenanceBackend,
{
    C::Backend::begin_chunk(conn, lock)?;
    match f(conn) {
        Ok(value) => {
            if let Err(err) = C::Backend::commit_chunk(conn) {
                let _ = C::Backend::rollback_chunk(conn);
                return Err(err.into());
            }
            Ok(value)
        }
        Err(err) => {
            // The statement's error is the one to report; a failed rollback
            // leaves the server to end the transaction with the session.
            let _ = C::Backend::rollback_chunk(conn);
            Err(err)
        }
    }
}

/// Walks `table` in chunks of `size` rows, calling `step` on each (it
/// returns how many records it wrote, deleted or counted) and `on_chunk`
/// after it; stops early when `on_chunk` breaks.
pub(crate) fn walk<C>(
    conn: &mut C,
    sql: &Sql<'_>,
    table: TableName<'static>,
    size: usize,
    dry_run: bool,
    mut step: impl FnMut(&mut C, &Chunk) -> Result<u64, HistoryError>,
    on_chunk: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Outcome, HistoryError>
where
    C: LoadConnection,
    C::Backend: MaintenanceBackend,
{
    let spec = sql.spec;
    let missing = |err: diesel::result::Error| missing_history_table(spec, err);
    let total = C::Backend::load_counts(conn, &sql.count_rows(table))
        .map_err(missing)?
        .first()
        .map_or(0, |row| row.n as u64);
    let walk = KeyWalk::of(spec);
    let mut progress = Progress {
        model: spec.model,
        scanned: 0,
        total,
        records: 0,
        chunks: 0,
    };
    let mut after: Option<KeyValue> = None;
    let interrupted = loop {
        let (upto, rows) = match walk {
            KeyWalk::Whole => (None, total),
            KeyWalk::Integer | KeyWalk::Text => {
                let end = sql.chunk_end(table, walk, after.as_ref(), size);
                let (upto, rows) = if walk == KeyWalk::Integer {
                    let row = C::Backend::load_integer_ends(conn, &end)?;
                    let row = row.first().ok_or(diesel::result::Error::NotFound)?;
                    (row.upto_integer.map(KeyValue::Integer), row.n as u64)
                } else {
                    let row = C::Backend::load_text_ends(conn, &end)?;
                    let row = row.first().ok_or(diesel::result::Error::NotFound)?;
                    (row.upto_text.clone().map(KeyValue::Text), row.n as u64)
                };
                match upto {
                    Some(upto) => (Some(upto), rows),
                    None => break false,
                }
            }
        };
        let chunk = Chunk {
            after: after.clone(),
            upto: upto.clone(),
        };
        progress.records += step(conn, &chunk)?;
        progress.scanned += rows;
        progress.chunks += 1;
        let last = upto.is_none() || rows < size as u64;
        if on_chunk(&progress).is_break() && !last {
            break true;
        }
        if last {
            break false;
        }
        after = upto;
    };
    Ok(Outcome {
        model: spec.model,
        records: progress.records,
        chunks: progress.chunks,
        dry_run,
        interrupted,
    })
}
