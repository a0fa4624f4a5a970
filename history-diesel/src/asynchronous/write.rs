//! [`WriteWithHistory`] on asynchronous connections.

use diesel::expression::{AppearsOnTable, Expression};
use diesel::query_builder::{AsChangeset, QueryFragment};
use diesel::sql_types::BoolOrNullableBool;
use diesel::Insertable;
use diesel_async::AsyncConnection;

use super::exec::Awaiting;
use crate::backend::{InsertRows, KeysOnly, Returning, WholeRows, WriteBackend};
use crate::context::{HistoryContext, RowContexts};
use crate::error::HistoryError;
use crate::write::{self as plan, BulkOptions};
use crate::{HistoricalRecords, UserIdOf};

/// Writes with history on an asynchronous connection, for every model with
/// `#[derive(HistoricalRecords)]`: each method is its namesake of
/// [`crate::WriteWithHistory`], awaited, with the same statements,
/// transactions, costs and errors (documented there).
#[allow(async_fn_in_trait)] // the futures are Send whenever the connection and arguments are
pub trait WriteWithHistory: HistoricalRecords {
    /// Inserts one row and records a `+`; see
    /// [`crate::WriteWithHistory::create_with_history`].
    async fn create_with_history<C, N>(
        conn: &mut C,
        new: N,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<Self, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        N: Insertable<Self::Table>,
        N::Values: QueryFragment<C::Backend>,
    {
        plan::create(&mut Awaiting(conn), new, ctx).await
    }

    /// Inserts many rows in batches and records a `+` for each; see
    /// [`crate::WriteWithHistory::bulk_create_with_history`].
    async fn bulk_create_with_history<'r, C, N, R>(
        conn: &mut C,
        rows: &'r [N],
        contexts: &R,
        options: BulkOptions,
    ) -> Result<Vec<Self>, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        N: InsertRows<'r, Self, C::Backend> + Sync,
        N::Values: Send + Sync + 'r,
        R: RowContexts<UserIdOf<Self>> + ?Sized,
    {
        bulk_create_rows::<Self, C, N, R, WholeRows>(conn, rows, contexts, options).await
    }

    /// Inserts many rows in batches, records a `+` for each and returns
    /// their keys; see
    /// [`crate::WriteWithHistory::bulk_create_keys_with_history`].
    async fn bulk_create_keys_with_history<'r, C, N, R>(
        conn: &mut C,
        rows: &'r [N],
        contexts: &R,
        options: BulkOptions,
    ) -> Result<Vec<Self::Id>, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        N: InsertRows<'r, Self, C::Backend> + Sync,
        N::Values: Send + Sync + 'r,
        R: RowContexts<UserIdOf<Self>> + ?Sized,
    {
        bulk_create_rows::<Self, C, N, R, KeysOnly>(conn, rows, contexts, options).await
    }

    /// Writes many existing rows whole and records a `~` for each; see
    /// [`crate::WriteWithHistory::bulk_update_with_history`].
    async fn bulk_update_with_history<C, R>(
        conn: &mut C,
        rows: &[Self],
        contexts: &R,
        options: BulkOptions,
    ) -> Result<usize, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        Self: crate::__private::RowValues<C::Backend>,
        Self::Id: Eq + std::hash::Hash,
        R: RowContexts<UserIdOf<Self>> + ?Sized,
    {
        plan::bulk_update(&mut Awaiting(conn), rows, contexts, options).await
    }

    /// Saves this row's changes and records a `~`; see
    /// [`crate::WriteWithHistory::save_with_history`].
    async fn save_with_history<C>(
        &self,
        conn: &mut C,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<(), HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        for<'a> &'a Self: AsChangeset<Target = Self::Table>,
        for<'a> <&'a Self as AsChangeset>::Changeset: QueryFragment<C::Backend>,
    {
        let changes = self.as_changeset();
        plan::save::<Self, _, _, _>(&mut Awaiting(conn), self.history_key(), changes, ctx).await
    }

    /// Deletes this row and records a `-`; see
    /// [`crate::WriteWithHistory::delete_with_history`].
    async fn delete_with_history<C>(
        &self,
        conn: &mut C,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<(), HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
    {
        plan::delete::<Self, _, _>(&mut Awaiting(conn), self.history_key(), ctx).await
    }

    /// Updates every row `filter` selects and records a `~` for each; see
    /// [`crate::WriteWithHistory::update_where_with_history`].
    async fn update_where_with_history<C, W, V>(
        conn: &mut C,
        filter: W,
        changes: V,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<usize, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        W: Expression + AppearsOnTable<Self::Table> + QueryFragment<C::Backend>,
        W::SqlType: BoolOrNullableBool,
        V: AsChangeset<Target = Self::Table>,
        V::Changeset: QueryFragment<C::Backend>,
    {
        plan::update_where::<Self, C::Backend, _, _, _>(
            &mut Awaiting(conn),
            filter,
            changes.as_changeset(),
            ctx,
        )
        .await
    }

    /// Deletes every row `filter` selects and records a `-` for each; see
    /// [`crate::WriteWithHistory::delete_where_with_history`].
    async fn delete_where_with_history<C, W>(
        conn: &mut C,
        filter: W,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<usize, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        W: Expression + AppearsOnTable<Self::Table> + QueryFragment<C::Backend>,
        W::SqlType: BoolOrNullableBool,
    {
        plan::delete_where::<Self, C::Backend, _, _>(&mut Awaiting(conn), filter, ctx).await
    }

    /// Writes `record`'s version of its object back; see
    /// [`crate::WriteWithHistory::restore_with_history`].
    async fn restore_with_history<C>(
        conn: &mut C,
        record: &Self::Record,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<Self, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        Self: crate::__private::RowValues<C::Backend>,
    {
        plan::restore(&mut Awaiting(conn), record, None, ctx).await
    }

    /// Restores `record` only when `latest` is still the newest record; see
    /// [`crate::WriteWithHistory::restore_unless_changed`].
    async fn restore_unless_changed<C>(
        conn: &mut C,
        record: &Self::Record,
        latest: &Self::Record,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<Self, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
        Self: crate::__private::RowValues<C::Backend>,
    {
        plan::restore(&mut Awaiting(conn), record, Some(latest), ctx).await
    }

    /// Sets the change reason of the object's newest record; see
    /// [`crate::WriteWithHistory::update_change_reason`].
    async fn update_change_reason<C>(
        conn: &mut C,
        id: &Self::Id,
        reason: &str,
    ) -> Result<(), HistoryError>
    where
        C: AsyncConnection,
        C::Backend: WriteBackend<Self>,
    {
        plan::update_change_reason::<Self, _>(&mut Awaiting(conn), id, reason).await
    }
}

impl<M: HistoricalRecords> WriteWithHistory for M {}

/// An insert statement's values, boxed.
type Erased<'r, DB> = Box<dyn QueryFragment<DB> + Send + Sync + 'r>;

/// The `InsertBatches` of a bulk create, boxed.
type ErasedBatches<'r, DB> =
    Box<dyn Fn(usize, usize) -> Vec<Vec<(Erased<'r, DB>, usize)>> + Send + Sync + 'r>;

/// The bulk creates of [`WriteWithHistory`], reading back what `Out` reads
/// of each row.
async fn bulk_create_rows<'r, M, C, N, R, Out>(
    conn: &mut C,
    rows: &'r [N],
    contexts: &R,
    options: BulkOptions,
) -> Result<Vec<Out::Row>, HistoryError>
where
    M: HistoricalRecords,
    C: AsyncConnection,
    C::Backend: WriteBackend<M>,
    N: InsertRows<'r, M, C::Backend> + Sync,
    N::Values: Send + Sync + 'r,
    R: RowContexts<UserIdOf<M>> + ?Sized,
    Out: Returning<M, C::Backend>,
{
    let binds = plan::binds_per_row::<M, C::Backend, N>(rows)?;
    let statements = erased_batches::<M, C::Backend, N>(rows);
    let exec = &mut Awaiting(conn);
    plan::bulk_create::<M, _, Out, _, _, _>(exec, statements, rows.len(), binds, contexts, options)
        .await
}

/// The statements of a bulk create's rows, boxed with the function that cuts
/// them, so that the future's state names them by types of their own rather
/// than through `N`'s impls (see `InsertBatches`).
fn erased_batches<'r, M, DB, N>(rows: &'r [N]) -> ErasedBatches<'r, DB>
where
    M: HistoricalRecords,
    DB: diesel::backend::Backend,
    N: InsertRows<'r, M, DB> + Sync,
    N::Values: Send + Sync + 'r,
{
    let statements = plan::insert_batches::<M, DB, N>(rows);
    Box::new(move |batch, per_statement| {
        statements(batch, per_statement)
            .into_iter()
            .map(|batch| {
                batch
                    .into_iter()
                    .map(|(values, rows)| (Box::new(values) as Erased<'r, DB>, rows))
                    .collect()
            })
            .collect()
    })
}
