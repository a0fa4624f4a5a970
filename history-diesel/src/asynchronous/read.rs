//! [`ReadHistory`] and [`RecordNavigation`] on asynchronous connections.

use std::hash::Hash;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use super::exec::Awaiting;
use crate::backend::ReadBackend;
use crate::read::plan;
use crate::{HistoricalRecords, HistoryError, HistoryRecord};

/// Reads history on an asynchronous connection, for every model with
/// `#[derive(HistoricalRecords)]`: each method is its namesake of
/// [`crate::ReadHistory`], awaited, with the same statements and errors.
/// The queries to run yourself (`history()`, `all_history()`, ...) are on
/// [`HistoryQueries`](crate::HistoryQueries), shared with the synchronous
/// path; run them with `diesel_async::RunQueryDsl`.
#[allow(async_fn_in_trait)] // the futures are Send whenever the connection and arguments are
pub trait ReadHistory: HistoricalRecords {
    /// The latest record of the object `id` at `at`; see
    /// [`crate::ReadHistory::record_as_of`].
    async fn record_as_of<C>(
        conn: &mut C,
        id: &Self::Id,
        at: DateTime<Utc>,
    ) -> Result<Self::Record, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self>,
    {
        plan::record_as_of(&mut Awaiting(conn), id, at).await
    }

    /// The object `id` as it was at `at`; see [`crate::ReadHistory::as_of`].
    async fn as_of<C>(conn: &mut C, id: &Self::Id, at: DateTime<Utc>) -> Result<Self, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self>,
        Self::Id: Eq + Hash,
    {
        plan::as_of(&mut Awaiting(conn), id, at).await
    }

    /// Every object alive at `at`, as it was then; see
    /// [`crate::ReadHistory::all_as_of`].
    async fn all_as_of<C>(conn: &mut C, at: DateTime<Utc>) -> Result<Vec<Self>, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self>,
        Self::Id: Eq + Hash,
    {
        plan::all_as_of(&mut Awaiting(conn), at).await
    }

    /// Models from records; see [`crate::ReadHistory::models_from_records`].
    async fn models_from_records<C>(
        conn: &mut C,
        records: Vec<Self::Record>,
    ) -> Result<Vec<Self>, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self>,
        Self::Id: Eq + Hash,
    {
        plan::models_from_records(&mut Awaiting(conn), records).await
    }

    /// The object's newest record; see [`crate::ReadHistory::latest`].
    async fn latest<C>(conn: &mut C, id: &Self::Id) -> Result<Self::Record, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self>,
    {
        plan::end_record::<Self, _, _>(&mut Awaiting(conn), id, true).await
    }

    /// The object's first record; see [`crate::ReadHistory::earliest`].
    async fn earliest<C>(conn: &mut C, id: &Self::Id) -> Result<Self::Record, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self>,
    {
        plan::end_record::<Self, _, _>(&mut Awaiting(conn), id, false).await
    }

    /// The object as its newest record has it; see
    /// [`crate::ReadHistory::most_recent`].
    async fn most_recent<C>(conn: &mut C, id: &Self::Id) -> Result<Self, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self>,
        Self::Id: Eq + Hash,
    {
        plan::most_recent(&mut Awaiting(conn), id).await
    }
}

impl<M: HistoricalRecords> ReadHistory for M {}

/// A record's neighbours on an asynchronous connection; see
/// [`crate::RecordNavigation`].
#[allow(async_fn_in_trait)] // the futures are Send whenever the connection and arguments are
pub trait RecordNavigation: HistoryRecord {
    /// The record of the same object just before this one; see
    /// [`crate::RecordNavigation::prev_record`].
    async fn prev_record<C>(&self, conn: &mut C) -> Result<Option<Self>, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self::Model>,
    {
        plan::neighbour(&mut Awaiting(conn), self, true).await
    }

    /// The record of the same object just after this one; see
    /// [`crate::RecordNavigation::next_record`].
    async fn next_record<C>(&self, conn: &mut C) -> Result<Option<Self>, HistoryError>
    where
        C: AsyncConnection,
        C::Backend: ReadBackend<Self::Model>,
    {
        plan::neighbour(&mut Awaiting(conn), self, false).await
    }
}

impl<R: HistoryRecord> RecordNavigation for R {}
