//! The reads, written once over an executor: the synchronous
//! [`ReadHistory`](crate::ReadHistory) and
//! [`RecordNavigation`](crate::RecordNavigation) and, with the `async`
//! feature, their asynchronous twins all run these.

use std::collections::HashMap;
use std::hash::Hash;

use chrono::{DateTime, Utc};

use crate::backend::ReadBackend;
use crate::exec::Executor;
use crate::{HistoricalRecords, HistoryError, HistoryRecord, HistoryType};

/// The object's newest record at `at`; `NotCreatedYet` before its first.
pub(crate) async fn record_as_of<M, DB, E>(
    exec: &mut E,
    id: &M::Id,
    at: DateTime<Utc>,
) -> Result<M::Record, HistoryError>
where
    M: HistoricalRecords,
    DB: ReadBackend<M>,
    E: Executor<Backend = DB>,
{
    DB::one_record(exec, id, Some(at), None, true)
        .await?
        .ok_or(HistoryError::NotCreatedYet {
            model: M::HISTORY_TABLE.model,
            as_of: at,
        })
}

/// The object as it was at `at`.
pub(crate) async fn as_of<M, DB, E>(
    exec: &mut E,
    id: &M::Id,
    at: DateTime<Utc>,
) -> Result<M, HistoryError>
where
    M: HistoricalRecords,
    M::Id: Eq + Hash,
    DB: ReadBackend<M>,
    E: Executor<Backend = DB>,
{
    let record = record_as_of::<M, DB, E>(exec, id, at).await?;
    model_of(exec, record).await
}

/// Every object alive at `at`, as it was then.
pub(crate) async fn all_as_of<M, DB, E>(
    exec: &mut E,
    at: DateTime<Utc>,
) -> Result<Vec<M>, HistoryError>
where
    M: HistoricalRecords,
    M::Id: Eq + Hash,
    DB: ReadBackend<M>,
    E: Executor<Backend = DB>,
{
    let records = DB::state(exec, at, true).await?;
    models_from_records(exec, records).await
}

/// Models from records; fields left out of history are read from the live
/// rows (one statement), and are their `Default` for deleted rows.
pub(crate) async fn models_from_records<M, DB, E>(
    exec: &mut E,
    records: Vec<M::Record>,
) -> Result<Vec<M>, HistoryError>
where
    M: HistoricalRecords,
    M::Id: Eq + Hash,
    DB: ReadBackend<M>,
    E: Executor<Backend = DB>,
{
    let spec = &M::HISTORY_TABLE;
    if spec.columns.len() == spec.model_columns.len() {
        return Ok(records.iter().map(|record| record.to_model(None)).collect());
    }
    let ids: Vec<M::Id> = records.iter().map(HistoryRecord::object_id).collect();
    let live: HashMap<M::Id, M> = DB::live_rows(exec, &ids, false)
        .await?
        .into_iter()
        .map(|row| (row.history_key(), row))
        .collect();
    Ok(records
        .iter()
        .zip(&ids)
        .map(|(record, id)| record.to_model(live.get(id)))
        .collect())
}

/// The object's newest record (`newest`) or its first; `NoRecords` without
/// one.
pub(crate) async fn end_record<M, DB, E>(
    exec: &mut E,
    id: &M::Id,
    newest: bool,
) -> Result<M::Record, HistoryError>
where
    M: HistoricalRecords,
    DB: ReadBackend<M>,
    E: Executor<Backend = DB>,
{
    DB::one_record(exec, id, None, None, newest)
        .await?
        .ok_or(HistoryError::NoRecords {
            model: M::HISTORY_TABLE.model,
        })
}

/// The object as its newest record has it; `Deleted` when that is a `-`.
pub(crate) async fn most_recent<M, DB, E>(exec: &mut E, id: &M::Id) -> Result<M, HistoryError>
where
    M: HistoricalRecords,
    M::Id: Eq + Hash,
    DB: ReadBackend<M>,
    E: Executor<Backend = DB>,
{
    let record = end_record::<M, DB, E>(exec, id, true).await?;
    model_of(exec, record).await
}

/// The record just before (`before`) or after `record`, by the one (date,
/// id) order.
pub(crate) async fn neighbour<R, DB, E>(
    exec: &mut E,
    record: &R,
    before: bool,
) -> Result<Option<R>, HistoryError>
where
    R: HistoryRecord,
    DB: ReadBackend<R::Model>,
    E: Executor<Backend = DB>,
{
    let at = (record.history_date(), record.history_id());
    Ok(DB::one_record(exec, &record.object_id(), None, Some(at), before).await?)
}

/// The model `record` holds; `Deleted` when it is a `-`.
async fn model_of<M, DB, E>(exec: &mut E, record: M::Record) -> Result<M, HistoryError>
where
    M: HistoricalRecords,
    M::Id: Eq + Hash,
    DB: ReadBackend<M>,
    E: Executor<Backend = DB>,
{
    let record = alive(record)?;
    Ok(models_from_records(exec, vec![record]).await?.remove(0))
}

/// The record, unless it is a `-`.
fn alive<R: HistoryRecord>(record: R) -> Result<R, HistoryError> {
    if record.history_type() == HistoryType::Deleted {
        return Err(HistoryError::Deleted {
            model: <R::Model as HistoricalRecords>::HISTORY_TABLE.model,
            deleted_at: record.history_date(),
        });
    }
    Ok(record)
}
