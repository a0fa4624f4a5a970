//! Writes that start from a record: restoring an old version, and setting
//! a record's change reason after the fact. The same on every backend: they
//! read, then call the backend's own sequences.

use chrono::Utc;

use crate::backend::{captured, ModelStatements, WriteBackend};
use crate::context::{check_reason, HistoryContext};
use crate::error::HistoryError;
use crate::exec::{atomic, Executor};
use crate::{HistoricalRecords, HistoryRecord, UserIdOf};

/// Writes `record`'s version back, when the object's newest record is still
/// `expected_latest` (if given): an update when the row exists, else an
/// insert (an undelete).
pub(crate) async fn restore<M, DB, E>(
    exec: &mut E,
    record: &M::Record,
    expected_latest: Option<&M::Record>,
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<M, HistoryError>
where
    M: HistoricalRecords + crate::__private::RowValues<DB>,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
{
    let now = Utc::now();
    captured::write::<M, DB, E, _, _>(exec, ctx, async |exec: &mut E| {
        restore_now(exec, record, expected_latest, ctx, now).await
    })
    .await
}

async fn restore_now<M, DB, E>(
    exec: &mut E,
    record: &M::Record,
    expected_latest: Option<&M::Record>,
    ctx: &HistoryContext<UserIdOf<M>>,
    now: chrono::DateTime<Utc>,
) -> Result<M, HistoryError>
where
    M: HistoricalRecords + crate::__private::RowValues<DB>,
    DB: WriteBackend<M>,
    E: Executor<Backend = DB>,
{
    let spec = &M::HISTORY_TABLE;
    atomic(exec, async |exec: &mut E| {
        let id = record.object_id();
        let live = DB::live_rows(exec, std::slice::from_ref(&id), true)
            .await?
            .pop();
        if let Some(expected) = expected_latest {
            let latest = DB::one_record(exec, &id, None, None, true).await?;
            if latest.as_ref().map(HistoryRecord::history_id) != Some(expected.history_id()) {
                return Err(HistoryError::Stale { model: spec.model });
            }
        }
        let model = record.to_model(live.as_ref());
        let rows = std::slice::from_ref(&model);
        if live.is_some() {
            DB::bulk_update(exec, rows, ctx, 0, now).await?;
        } else {
            DB::insert_whole(exec, rows, ctx, now).await?;
        }
        Ok(model)
    })
    .await
}

/// Sets the change reason of the object's newest record.
pub(crate) async fn update_change_reason<M, E>(
    exec: &mut E,
    id: &M::Id,
    reason: &str,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    E: Executor,
    E::Backend: ModelStatements<M>,
{
    check_reason(&M::HISTORY_TABLE, reason)?;
    atomic(exec, async |exec: &mut E| {
        let latest = <E::Backend as ModelStatements<M>>::one_record(exec, id, None, None, true)
            .await?
            .ok_or(HistoryError::NoRecords {
                model: M::HISTORY_TABLE.model,
            })?;
        <E::Backend as ModelStatements<M>>::set_reason(
            exec,
            latest.history_id(),
            Some(reason.to_owned()),
        )
        .await?;
        Ok(())
    })
    .await
}
