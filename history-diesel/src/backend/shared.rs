//! Sequences, and the steps of sequences, that more than one backend runs.
//! Each backend's file says which of them it calls; none of them looks at
//! the backend.

use chrono::{DateTime, Utc};
use diesel::query_builder::QueryFragment;

use super::{ModelStatements, Returning, WriteBackend, KEY_CHUNK};
use crate::context::{HistoryContext, HistoryMeta, RowContexts};
use crate::error::HistoryError;
use crate::exec::{atomic, Executor};
use crate::{HistoricalRecords, HistoryTableSpec, HistoryType, RecordEvent, RecordHooks, UserIdOf};

/// One history metadata per write, or one per row, for rows
/// `offset..offset + count` of the input.
pub(crate) type Metas<M> = Vec<Option<HistoryMeta<UserIdOf<M>>>>;

/// The metadata of rows `offset..offset + count` of a write, checked
/// against the model and the backend before anything is sent.
pub(crate) fn metas<M, DB, R>(
    contexts: &R,
    offset: usize,
    count: usize,
    now: DateTime<Utc>,
) -> Result<Metas<M>, HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
    R: RowContexts<UserIdOf<M>> + ?Sized,
{
    check_source::<M, DB>()?;
    HistoryContext::metas_for(contexts, &M::HISTORY_TABLE, DB::DIALECT, offset, count, now)
}

/// The metadata of a write of one context, checked as [`metas`] does.
pub(crate) fn meta<M, DB>(
    ctx: &HistoryContext<UserIdOf<M>>,
) -> Result<Option<HistoryMeta<UserIdOf<M>>>, HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
{
    check_source::<M, DB>()?;
    ctx.meta_for(&M::HISTORY_TABLE, DB::DIALECT, Utc::now())
}

/// Checks a schema-qualified source table against its `table!` before a
/// write.
///
/// Diesel keeps the parts of `schema.table` where no constant can read them,
/// so the spec takes the schema from `#[history(schema = ...)]` and the name
/// from the Rust path; the derive checks at compile time only that a schema
/// is given when the `table!` has one. Here Diesel renders both the table
/// and the spec's name for it, and a difference is an error before any
/// statement, never a write to a same-named table in another schema. A
/// table without a schema takes its name from Diesel at compile time.
fn check_source<M: HistoricalRecords, DB: ModelStatements<M>>() -> Result<(), HistoryError> {
    let spec = &M::HISTORY_TABLE;
    let Some(schema) = spec.source_schema else {
        return Ok(());
    };
    let (declared, table) = DB::render_source(schema, spec.source_table);
    if declared == table {
        return Ok(());
    }
    Err(HistoryError::SchemaMismatch {
        model: spec.model,
        declared,
        table,
    })
}

/// Inserts each statement's rows, reads them back as the backend does
/// ([`WriteBackend::insert_returning`]), and records a `+` for each batch's
/// rows, one history statement per batch (and distinct context); all in one
/// transaction, without a savepoint per batch.
pub(crate) async fn create_then_record<M, DB, Out, E, V>(
    exec: &mut E,
    batches: Vec<Vec<(V, usize)>>,
    metas: &Metas<M>,
) -> Result<Vec<Out::Row>, HistoryError>
where
    M: HistoricalRecords,
    DB: WriteBackend<M>,
    Out: Returning<M, DB>,
    E: Executor<Backend = DB>,
    V: QueryFragment<DB>,
{
    let spec = &M::HISTORY_TABLE;
    atomic(exec, async move |exec: &mut E| {
        let mut rows: Vec<Out::Row> = Vec::new();
        for batch in batches {
            let first = rows.len();
            for (values, count) in batch {
                let inserted = DB::insert_returning::<Out, _, _>(exec, values, count).await?;
                if inserted.len() != count {
                    return Err(HistoryError::ReadBack {
                        model: spec.model,
                        written: count,
                        read: inserted.len(),
                    });
                }
                rows.extend(inserted);
            }
            let ids: Vec<M::Id> = rows[first..].iter().map(Out::key).collect();
            // One metadata for all rows, or the batch's own rows'.
            let batch_metas = match metas.as_slice() {
                [_] => &metas[..],
                per_row => &per_row[first..rows.len()],
            };
            record_grouped::<M, DB, E>(exec, &ids, batch_metas, HistoryType::Created).await?;
        }
        Ok(rows)
    })
    .await
}

/// `INSERT .. RETURNING` of one statement's rows: how PostgreSQL and SQLite
/// read back what they inserted.
pub(crate) async fn insert_returning<M, DB, Out, E, V>(
    exec: &mut E,
    values: V,
) -> Result<Vec<Out::Row>, HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
    Out: Returning<M, DB>,
    E: Executor<Backend = DB>,
    V: QueryFragment<DB>,
{
    DB::insert_values_returning::<Out, _, _>(exec, values)
        .await
        .map_err(|err| conflict(&M::HISTORY_TABLE, err))
}

/// Updates the rows `filter` selects, learning their keys from the update's
/// `RETURNING` (which locks exactly the rows it changed until commit), and
/// records a `~` for each.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) async fn update_returning<M, DB, E, W, Ch>(
    exec: &mut E,
    filter: W,
    changes: Ch,
    meta: Option<HistoryMeta<UserIdOf<M>>>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
    E: Executor<Backend = DB>,
    W: QueryFragment<DB>,
    Ch: QueryFragment<DB>,
{
    atomic(exec, async move |exec: &mut E| {
        let ids = DB::update_returning_keys(exec, filter, changes).await?;
        if let Some(meta) = &meta {
            record::<M, DB, E>(exec, &ids, HistoryType::Changed, meta).await?;
        }
        Ok(ids.len())
    })
    .await
}

/// Locks the rows `filter` selects and reads their keys, records a `-` for
/// each, and deletes them by key.
pub(crate) async fn delete_locked<M, DB, E, W>(
    exec: &mut E,
    filter: W,
    meta: Option<HistoryMeta<UserIdOf<M>>>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
    E: Executor<Backend = DB>,
    W: QueryFragment<DB>,
{
    atomic(exec, async move |exec: &mut E| {
        let ids = DB::select_keys(exec, filter, true).await?;
        if let Some(meta) = &meta {
            record::<M, DB, E>(exec, &ids, HistoryType::Deleted, meta).await?;
        }
        let mut deleted = 0;
        for chunk in ids.chunks(KEY_CHUNK) {
            deleted += DB::delete_where(exec, DB::keys(chunk)).await?;
        }
        Ok(deleted)
    })
    .await
}

/// Writes whole rows that exist, in one multi-row upsert, and records a `~`
/// for each: the rows are locked and checked to exist first, since the
/// upsert must never create one. [`HistoryError::NotFound`] if any is missing.
pub(crate) async fn bulk_update<M, DB, E>(
    exec: &mut E,
    rows: &[M],
    metas: &Metas<M>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords + crate::__private::RowValues<DB>,
    DB: ModelStatements<M>,
    E: Executor<Backend = DB>,
{
    let spec = &M::HISTORY_TABLE;
    let ids: Vec<M::Id> = rows.iter().map(M::history_key).collect();
    atomic(exec, async |exec: &mut E| {
        let mut found = 0;
        for chunk in ids.chunks(KEY_CHUNK) {
            found += DB::select_keys(exec, DB::keys(chunk), true).await?.len();
        }
        if found != ids.len() {
            return Err(HistoryError::NotFound { model: spec.model });
        }
        DB::upsert(exec, rows, true).await?;
        record_grouped::<M, DB, E>(exec, &ids, metas, HistoryType::Changed).await?;
        Ok(ids.len())
    })
    .await
}

/// Inserts whole rows, keys included (an undelete), and records a `+` for
/// each.
pub(crate) async fn insert_whole<M, DB, E>(
    exec: &mut E,
    rows: &[M],
    metas: &Metas<M>,
) -> Result<usize, HistoryError>
where
    M: HistoricalRecords + crate::__private::RowValues<DB>,
    DB: ModelStatements<M>,
    E: Executor<Backend = DB>,
{
    let spec = &M::HISTORY_TABLE;
    let ids: Vec<M::Id> = rows.iter().map(M::history_key).collect();
    atomic(exec, async |exec: &mut E| {
        DB::upsert(exec, rows, false)
            .await
            .map_err(|err| conflict(spec, err))?;
        record_grouped::<M, DB, E>(exec, &ids, metas, HistoryType::Created).await?;
        Ok(ids.len())
    })
    .await
}

/// Records `kind` for rows with these keys, each with its metadata (one
/// entry for all, or one per row): one statement per distinct metadata and
/// key chunk, so a bulk write with a few overrides stays a few statements.
pub(crate) async fn record_grouped<M, DB, E>(
    exec: &mut E,
    ids: &[M::Id],
    metas: &[Option<HistoryMeta<UserIdOf<M>>>],
    kind: HistoryType,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
    E: Executor<Backend = DB>,
{
    if let [uniform] = metas {
        return match uniform {
            Some(meta) => record::<M, DB, E>(exec, ids, kind, meta).await,
            None => Ok(()),
        };
    }
    /// Keys that share one metadata.
    type Group<'m, M> = (
        &'m HistoryMeta<UserIdOf<M>>,
        Vec<<M as HistoricalRecords>::Id>,
    );
    let mut groups: Vec<Group<'_, M>> = Vec::new();
    for (id, meta) in ids.iter().zip(metas) {
        let Some(meta) = meta else { continue };
        match groups.iter_mut().find(|(seen, _)| *seen == meta) {
            Some((_, group)) => group.push(id.clone()),
            None => groups.push((meta, vec![id.clone()])),
        }
    }
    for (meta, group) in groups {
        record::<M, DB, E>(exec, &group, kind, meta).await?;
    }
    Ok(())
}

/// Records `kind` for the rows with these keys, a statement per chunk, with
/// the hooks around each.
pub(crate) async fn record<M, DB, E>(
    exec: &mut E,
    ids: &[M::Id],
    kind: HistoryType,
    meta: &HistoryMeta<UserIdOf<M>>,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
    E: Executor<Backend = DB>,
{
    for chunk in ids.chunks(KEY_CHUNK) {
        record_where::<M, DB, E, _>(exec, DB::keys(chunk), kind, meta).await?;
        after_hook::<M, DB, E>(exec, chunk, kind).await?;
    }
    Ok(())
}

/// Records `kind` for the rows `filter` selects. The `before_record` hook
/// runs first and may change the metadata.
pub(crate) async fn record_where<M, DB, E, W>(
    exec: &mut E,
    filter: W,
    kind: HistoryType,
    meta: &HistoryMeta<UserIdOf<M>>,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
    E: Executor<Backend = DB>,
    W: QueryFragment<DB>,
{
    // In trigger capture the write's own statement has recorded it.
    if super::captured::triggered::<M>() {
        return Ok(());
    }
    let meta = hooked_meta::<M>(kind, meta)?;
    DB::record(exec, filter, kind, &meta)
        .await
        .map_err(|err| missing_history_table(&M::HISTORY_TABLE, err))?;
    Ok(())
}

/// The metadata after the `before_record` hook, which may change it.
pub(crate) fn hooked_meta<M: HistoricalRecords>(
    kind: HistoryType,
    meta: &HistoryMeta<UserIdOf<M>>,
) -> Result<HistoryMeta<UserIdOf<M>>, HistoryError> {
    let mut meta = meta.clone();
    <M::Hooks as RecordHooks<M>>::before_record(&mut RecordEvent {
        model: M::HISTORY_TABLE.model,
        kind,
        date: meta.date.into(),
        user: &mut meta.user,
        reason: &mut meta.reason,
    })
    .map_err(HistoryError::Hook)?;
    // A reason the hook set must fit the column like any other.
    if let Some(reason) = &meta.reason {
        crate::context::check_reason(&M::HISTORY_TABLE, reason)?;
    }
    Ok(meta)
}

/// Runs the `after_record` hook, when the model has one, with the records
/// just written for these keys.
pub(crate) async fn after_hook<M, DB, E>(
    exec: &mut E,
    ids: &[M::Id],
    kind: HistoryType,
) -> Result<(), HistoryError>
where
    M: HistoricalRecords,
    DB: ModelStatements<M>,
    E: Executor<Backend = DB>,
{
    if !<M::Hooks as RecordHooks<M>>::AFTER_RECORD {
        return Ok(());
    }
    for chunk in ids.chunks(KEY_CHUNK) {
        let records = DB::records_of(exec, chunk, kind).await?;
        <M::Hooks as RecordHooks<M>>::after_record(&records).map_err(HistoryError::Hook)?;
    }
    Ok(())
}

/// The database's "no such table" for the history table, as a typed error:
/// the usual cause is a history migration that was not run.
pub(crate) fn missing_history_table(
    spec: &HistoryTableSpec,
    err: diesel::result::Error,
) -> HistoryError {
    let text = err.to_string();
    let missing = ["no such table", "does not exist", "doesn't exist"]
        .iter()
        .any(|phrase| text.contains(phrase));
    if missing && text.contains(spec.history_table) {
        HistoryError::HistoryTableMissing {
            table: spec.history_table,
            source: err,
        }
    } else {
        HistoryError::Database(err)
    }
}

/// A unique violation while inserting is the input conflicting with the
/// table (or itself): [`HistoryError::KeyExists`], which keeps the
/// database's error as its source.
pub(crate) fn conflict(spec: &HistoryTableSpec, err: diesel::result::Error) -> HistoryError {
    match err {
        err @ diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => HistoryError::KeyExists {
            model: spec.model,
            source: err,
        },
        other => HistoryError::Database(other),
    }
}
