//! A diesel-async connection as an [`Executor`]: the same sequences as the
//! synchronous path, awaiting each statement.

use std::pin::pin;

use diesel::deserialize::FromSqlRow;
use diesel::expression::QueryMetadata;
use diesel::query_builder::{Query, QueryFragment, QueryId};
use diesel::query_dsl::CompatibleType;
use diesel::result::Error;
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncConnectionCore, TransactionManager};
use futures_util::StreamExt;

use crate::exec::Executor;

/// Runs each statement on an asynchronous connection and awaits it.
pub struct Awaiting<'c, C>(pub(crate) &'c mut C);

impl<C, DB> Executor for Awaiting<'_, C>
where
    C: AsyncConnection<Backend = DB>,
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
        // The connection renders the statement and collects its binds before
        // it returns the future, so the query node, which borrows the
        // caller's values, is not held across the await (diesel-async's own
        // `RunQueryDsl::load` calls the same method).
        let rows = AsyncConnectionCore::load(&mut *self.0, query).await?;
        let mut rows = pin!(rows);
        let mut loaded = Vec::new();
        while let Some(row) = rows.next().await {
            loaded.push(U::build_from_row(&row?).map_err(Error::DeserializationError)?);
        }
        Ok(loaded)
    }

    async fn execute<Q>(&mut self, query: Q) -> QueryResult<usize>
    where
        Q: QueryFragment<DB> + QueryId,
    {
        AsyncConnectionCore::execute_returning_count(&mut *self.0, query).await
    }

    fn in_transaction(&mut self) -> bool {
        let status = C::TransactionManager::transaction_manager_status_mut(self.0);
        !matches!(status.transaction_depth(), Ok(None))
    }

    async fn begin(&mut self) -> QueryResult<()> {
        C::TransactionManager::begin_transaction(self.0).await
    }

    async fn commit(&mut self) -> QueryResult<()> {
        C::TransactionManager::commit_transaction(self.0).await
    }

    async fn rollback(&mut self) -> QueryResult<()> {
        C::TransactionManager::rollback_transaction(self.0).await
    }
}
