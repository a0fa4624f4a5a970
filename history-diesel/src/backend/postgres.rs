//! PostgreSQL's sequences.
//!
//! A write and its history are one statement where they can be: a
//! data-modifying CTE whose `RETURNING` rows feed the history `INSERT`
//! (atomic by itself, so no BEGIN/COMMIT round trips when it runs alone).
//! A write with per-row contexts or an explicit date takes the shared
//! sequences instead: the data write, then its records.

use chrono::{DateTime, Utc};
use diesel::insertable::InsertValues;
use diesel::pg::Pg;
use diesel::query_builder::{QueryFragment, ValuesClause};
use diesel::{Insertable, QueryResult};

use super::shared;
use super::statements::{delete_node, update_node};
use super::{InsertRows, ModelStatements, Returning, WriteBackend};
use crate::context::{HistoryContext, HistoryMeta, RowContexts};
use crate::error::HistoryError;
use crate::exec::{single_statement, Executor};
use crate::query::PgRows;
use crate::HistoryBackend;
use crate::{Dialect, HistoricalRecords, HistoryType, RecordHooks, UserIdOf};

impl HistoryBackend for Pg {
    const DIALECT: Dialect = Dialect::Postgres;

    fn bind_count<T: QueryFragment<Self>>(fragment: &T) -> QueryResult<usize> {
        crate::dialect::rendered_bind_count(fragment)
    }
}

/// One statement per batch: its rows as one array per column where they
/// allow it (`query/arrays.rs`), else Diesel's multi-row `VALUES`.
impl<'r, N: 'r, M, V> InsertRows<'r, M, Pg> for N
where
    M: HistoricalRecords,
    &'r N: Insertable<M::Table, Values = ValuesClause<V, M::Table>>,
    V: InsertValues<Pg, M::Table>,
{
    type Values = PgRows<V, M::Table>;

    fn statements(rows: &'r [Self]) -> Vec<(Self::Values, usize)> {
        let values = rows.iter().map(|row| row.values()).collect();
        vec![(PgRows::new(values), rows.len())]
    }
}

impl<M> WriteBackend<M> for Pg
where
    M: HistoricalRecords,
    Pg: ModelStatements<M>,
{
    const CONTEXT_IN_WRITE: bool = true;

    async fn create<Out, E, V, R>(
        exec: &mut E,
        batches: Vec<Vec<(V, usize)>>,
        contexts: &R,
        now: DateTime<Utc>,
    ) -> Result<Vec<Out::Row>, HistoryError>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized,
    {
        let spec = &M::HISTORY_TABLE;
        let total = batches.iter().flatten().map(|(_, count)| count).sum();
        let metas = shared::metas::<M, Pg, R>(contexts, 0, total, now)?;
        let Some(meta) = one_statement_meta::<M>(&metas) else {
            return shared::create_then_record::<M, Pg, Out, E, V>(exec, batches, &metas).await;
        };
        // Each statement inserts its rows and their records at once; the
        // batches share one transaction, without savepoints.
        let meta = shared::hooked_meta::<M>(HistoryType::Created, meta)?;
        let statements: Vec<(V, usize)> = batches.into_iter().flatten().collect();
        let alone = statements.len() == 1 && !<M::Hooks as RecordHooks<M>>::AFTER_RECORD;
        single_statement(exec, alone, async move |exec: &mut E| {
            let mut rows: Vec<Out::Row> = Vec::with_capacity(total);
            for (values, count) in statements {
                let inserted = Pg::insert_with_history::<Out, _, _>(exec, values, &meta)
                    .await
                    .map_err(|err| match shared::conflict(spec, err) {
                        HistoryError::Database(err) => shared::missing_history_table(spec, err),
                        other => other,
                    })?;
                if inserted.len() != count {
                    return Err(HistoryError::ReadBack {
                        model: spec.model,
                        written: count,
                        read: inserted.len(),
                    });
                }
                let ids: Vec<M::Id> = inserted.iter().map(Out::key).collect();
                shared::after_hook::<M, Pg, E>(exec, &ids, HistoryType::Created).await?;
                rows.extend(inserted);
            }
            Ok(rows)
        })
        .await
    }

    async fn update<E, W, Ch>(
        exec: &mut E,
        filter: W,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>,
    {
        let meta = shared::meta::<M, Pg>(ctx)?;
        match one_statement_meta::<M>(std::slice::from_ref(&meta)) {
            // The UPDATE's RETURNING rows are the values after the update.
            Some(meta) => {
                let write = update_node::<M, _, _>(filter, changes);
                in_one_statement::<M, E, _>(exec, write, HistoryType::Changed, meta).await
            }
            None => shared::update_returning::<M, Pg, E, W, Ch>(exec, filter, changes, meta).await,
        }
    }

    async fn delete<E, W>(
        exec: &mut E,
        filter: W,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
    {
        let meta = shared::meta::<M, Pg>(ctx)?;
        match one_statement_meta::<M>(std::slice::from_ref(&meta)) {
            // The DELETE's RETURNING rows are the values before the delete.
            Some(meta) => {
                let write = delete_node::<M, _>(filter);
                in_one_statement::<M, E, _>(exec, write, HistoryType::Deleted, meta).await
            }
            None => shared::delete_locked::<M, Pg, E, W>(exec, filter, meta).await,
        }
    }
}

/// The one metadata of a write that is sent as a single statement.
///
/// Not for an explicit date: the CTE's history INSERT reads the object's
/// latest record from the statement's snapshot, which may predate the record
/// of a writer it waited for, and an explicit date must be placed after that
/// record (see `query/record.rs`). Such writes take the locks in a
/// statement of their own first.
fn one_statement_meta<M: HistoricalRecords>(
    metas: &[Option<HistoryMeta<UserIdOf<M>>>],
) -> Option<&HistoryMeta<UserIdOf<M>>> {
    match metas {
        // Trigger capture sends the data write alone (`super::captured`).
        _ if super::captured::triggered::<M>() => None,
        [Some(meta)] if !meta.explicit => Some(meta),
        _ => None,
    }
}

/// An update or delete by filter and its history as one statement. Returns
/// how many rows the write touched.
async fn in_one_statement<M, E, Wr>(
    exec: &mut E,
    write: Wr,
    kind: HistoryType,
    meta: &HistoryMeta<UserIdOf<M>>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords,
    Pg: ModelStatements<M>,
    E: Executor<Backend = Pg>,
    Wr: QueryFragment<Pg>,
{
    let spec = &M::HISTORY_TABLE;
    let meta = shared::hooked_meta::<M>(kind, meta)?;
    let alone = !<M::Hooks as RecordHooks<M>>::AFTER_RECORD;
    single_statement(exec, alone, async move |exec: &mut E| {
        let ids = Pg::write_with_history(exec, write, kind, &meta)
            .await
            .map_err(|err| shared::missing_history_table(spec, err))?;
        shared::after_hook::<M, Pg, E>(exec, &ids, kind).await?;
        Ok(ids.len())
    })
    .await
}
