//! One model as the browser sees it: its typed reads and revert behind an
//! object-safe trait, so a list of models of different types can be served
//! by one router. Everything typed happens here; the pages see
//! [`RecordView`]s, plain values.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::error::BrowseError;
use super::view::{key_from_url, key_to_url, FieldView, RecordView};
use crate::asynchronous::exec::Awaiting;
use crate::backend::{ReadBackend, WriteBackend};
use crate::query::{PageFilter, PageStart};
use crate::{
    columns, DiffRecords, HistoricalRecords, HistoryContext, HistoryError, HistoryIdOf,
    HistoryRecord, HistoryTableSpec, HistoryType, UserIdOf,
};
use history_core::sql_types::UtcTimestamp;

/// A boxed future borrowing its arguments, as an object-safe trait returns.
///
/// Not `Send`: the statements' futures are `async fn`s of a trait, whose
/// `Send` a generic caller cannot prove on stable Rust (it is known only
/// once the model and backend are concrete). The handlers therefore drive
/// these futures on tokio's blocking pool through the runtime's handle
/// (`Browser::blocking`), where nothing needs to be `Send` but the inputs.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The position of the last record of a page across models: the next
/// page holds what sorts after it, by (date, model, record) newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub(crate) date: DateTime<Utc>,
    pub(crate) model: usize,
    pub(crate) history_id: String,
}

/// The filters of a page, before they are typed for a model.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    pub(crate) object: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) kind: Option<HistoryType>,
    pub(crate) from: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) cursor: Option<Cursor>,
}

/// A record, with the one it is compared with and the fields that differ.
pub struct Comparison {
    pub(crate) record: RecordView,
    pub(crate) older: Option<RecordView>,
    pub(crate) changed: Vec<&'static str>,
}

/// One browsable model over connections of type `C`.
pub trait Browse<C>: Send + Sync {
    fn spec(&self) -> &'static HistoryTableSpec;

    /// How many records its history holds.
    fn count<'a>(&'a self, conn: &'a mut C) -> BoxFuture<'a, Result<i64, BrowseError>>;

    /// At most `limit` records that `query` selects, newest first; `index`
    /// is this model's place in the router's list, which the cursor names.
    /// `Ok(None)` when a filter cannot match this model (a user id of
    /// another type).
    fn page<'a>(
        &'a self,
        conn: &'a mut C,
        index: usize,
        query: &'a PageQuery,
        limit: usize,
    ) -> BoxFuture<'a, Result<Option<Vec<RecordView>>, BrowseError>>;

    /// The record `history_id` of `object`, against `against` or, without
    /// it, against the record before it.
    fn compare<'a>(
        &'a self,
        conn: &'a mut C,
        object: &'a str,
        history_id: &'a str,
        against: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Comparison, BrowseError>>;

    /// Writes the version of record `history_id` back through
    /// `restore_with_history`, with the request's context and `reason`.
    fn revert<'a>(
        &'a self,
        conn: &'a mut C,
        object: &'a str,
        history_id: &'a str,
        extensions: &'a http::Extensions,
        reason: String,
    ) -> BoxFuture<'a, Result<(), BrowseError>>;
}

/// The typed side of a model `M`.
pub(crate) struct Browsed<M>(std::marker::PhantomData<fn() -> M>);

impl<M> Browsed<M> {
    pub(crate) fn new() -> Self {
        Browsed(std::marker::PhantomData)
    }
}

/// What the browser needs of a model and its connection: the reads and the
/// restore of history-diesel's async path, and serde for keys and records.
/// Written once here; [`Models::model`](super::Models::model) repeats it.
pub trait Browsable<C>: HistoricalRecords + Send + Sync + 'static
where
    C: AsyncConnection + Send + 'static,
{
    #[doc(hidden)]
    fn __browse() -> Box<dyn Browse<C>>;
}

impl<M, C> Browsable<C> for M
where
    C: AsyncConnection + Send + 'static,
    C::Backend: ReadBackend<M> + WriteBackend<M>,
    M: HistoricalRecords + crate::__private::RowValues<C::Backend> + Send + Sync + 'static,
    M::Id: Serialize + DeserializeOwned + Send + Sync,
    M::Record: Serialize + Clone + Send + Sync,
    HistoryIdOf<M>: Serialize + DeserializeOwned + Send + Sync,
    UserIdOf<M>: Serialize + DeserializeOwned,
{
    fn __browse() -> Box<dyn Browse<C>> {
        Box::new(Browsed::<M>::new())
    }
}

/// The record as the pages show it: meta columns apart, tracked fields in
/// declaration order, every value its JSON.
fn view<M>(record: &M::Record) -> Result<RecordView, BrowseError>
where
    M: HistoricalRecords,
    M::Id: Serialize,
    M::Record: Serialize,
{
    let json = serde_json::to_value(record).map_err(BrowseError::serialize)?;
    let text = |name: &str| match json.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    };
    let fields = M::Record::FIELDS
        .iter()
        .map(|name| FieldView {
            name,
            value: json.get(*name).cloned().unwrap_or(Value::Null),
        })
        .collect();
    Ok(RecordView {
        model: M::HISTORY_TABLE.source_table,
        object: key_to_url(&record.object_id()).map_err(BrowseError::serialize)?,
        history_id: text(columns::HISTORY_ID).unwrap_or_default(),
        date: record.history_date(),
        kind: record.history_type(),
        user: text(columns::HISTORY_USER_ID),
        reason: record.history_change_reason().map(str::to_owned),
        client_ip: text(columns::HISTORY_CLIENT_IP),
        user_agent: text(columns::HISTORY_USER_AGENT),
        request_id: text(columns::HISTORY_REQUEST_ID),
        fields,
        json,
    })
}

fn empty_filter<'q, M: HistoricalRecords>() -> PageFilter<'q, M::Id, UserIdOf<M>, HistoryIdOf<M>> {
    PageFilter {
        object: None,
        history_id: None,
        user: None,
        kind: None,
        from: None,
        until: None,
        start: None,
    }
}

/// The record `history_id` of the object `object`; NotFound otherwise.
async fn find<M, C>(
    conn: &mut C,
    object: &M::Id,
    history_id: &str,
) -> Result<M::Record, BrowseError>
where
    C: AsyncConnection + Send + 'static,
    C::Backend: ReadBackend<M>,
    M: HistoricalRecords,
    HistoryIdOf<M>: DeserializeOwned,
{
    let model = M::HISTORY_TABLE.source_table;
    let missing = || BrowseError::NotFound(format!("{model} has no record {history_id:?}"));
    let history_id: HistoryIdOf<M> = key_from_url(history_id).ok_or_else(missing)?;
    let filter = PageFilter {
        object: Some(object),
        history_id: Some(&history_id),
        ..empty_filter::<M>()
    };
    let mut records =
        <C::Backend as crate::ModelStatements<M>>::record_page(&mut Awaiting(conn), &filter, 1)
            .await
            .map_err(HistoryError::from)?;
    records.pop().ok_or_else(missing)
}

/// The object a URL names; NotFound when it is no key of `M`.
fn object_key<M>(object: &str) -> Result<M::Id, BrowseError>
where
    M: HistoricalRecords,
    M::Id: DeserializeOwned,
{
    key_from_url(object).ok_or_else(|| {
        BrowseError::NotFound(format!(
            "{} has no object {object:?}",
            M::HISTORY_TABLE.source_table
        ))
    })
}

impl<M, C> Browse<C> for Browsed<M>
where
    C: AsyncConnection + Send + 'static,
    C::Backend: ReadBackend<M> + WriteBackend<M>,
    M: HistoricalRecords + crate::__private::RowValues<C::Backend> + Send + Sync + 'static,
    M::Id: Serialize + DeserializeOwned + Send + Sync,
    M::Record: Serialize + Clone + Send + Sync,
    HistoryIdOf<M>: Serialize + DeserializeOwned + Send + Sync,
    UserIdOf<M>: Serialize + DeserializeOwned,
{
    fn spec(&self) -> &'static HistoryTableSpec {
        &M::HISTORY_TABLE
    }

    fn count<'a>(&'a self, conn: &'a mut C) -> BoxFuture<'a, Result<i64, BrowseError>> {
        Box::pin(async move {
            <C::Backend as crate::ModelStatements<M>>::count_records(&mut Awaiting(conn))
                .await
                .map_err(|err| BrowseError::Database(err.into()))
        })
    }

    fn page<'a>(
        &'a self,
        conn: &'a mut C,
        index: usize,
        query: &'a PageQuery,
        limit: usize,
    ) -> BoxFuture<'a, Result<Option<Vec<RecordView>>, BrowseError>> {
        Box::pin(async move {
            let object = match &query.object {
                Some(text) => Some(object_key::<M>(text)?),
                None => None,
            };
            let user = match &query.user {
                // A user id this model's records cannot hold matches none.
                Some(user) => match key_from_url::<UserIdOf<M>>(user) {
                    Some(user) => Some(user),
                    None => return Ok(None),
                },
                None => None,
            };
            let cursor_id = match &query.cursor {
                Some(cursor) if cursor.model == index => Some(
                    key_from_url::<HistoryIdOf<M>>(&cursor.history_id).ok_or_else(|| {
                        BrowseError::BadRequest(format!(
                            "the page cursor names no record of {}",
                            M::HISTORY_TABLE.source_table
                        ))
                    })?,
                ),
                _ => None,
            };
            let start = query.cursor.as_ref().map(|cursor| {
                let date = UtcTimestamp::new(cursor.date);
                match &cursor_id {
                    Some(history_id) => PageStart::After(date, history_id),
                    // Models listed before the cursor's sort after it on its date.
                    None => PageStart::Date(date, index < cursor.model),
                }
            });
            let filter = PageFilter {
                object: object.as_ref(),
                history_id: None,
                user,
                kind: query.kind,
                from: query.from.map(UtcTimestamp::new),
                until: query.until.map(UtcTimestamp::new),
                start,
            };
            let records = <C::Backend as crate::ModelStatements<M>>::record_page(
                &mut Awaiting(conn),
                &filter,
                limit,
            )
            .await
            .map_err(HistoryError::from)?;
            records
                .iter()
                .map(view::<M>)
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        })
    }

    fn compare<'a>(
        &'a self,
        conn: &'a mut C,
        object: &'a str,
        history_id: &'a str,
        against: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Comparison, BrowseError>> {
        Box::pin(async move {
            let id = object_key::<M>(object)?;
            let record = find::<M, C>(conn, &id, history_id).await?;
            let older = match against {
                Some(against) => Some(find::<M, C>(conn, &id, against).await?),
                None => <C::Backend as crate::ModelStatements<M>>::one_record(
                    &mut Awaiting(conn),
                    &id,
                    None,
                    Some((record.history_date(), record.history_id())),
                    true,
                )
                .await
                .map_err(HistoryError::from)?,
            };
            let changed = match &older {
                Some(older) => record.diff_against(older)?.changed_fields(),
                None => Vec::new(),
            };
            Ok(Comparison {
                record: view::<M>(&record)?,
                older: older.as_ref().map(view::<M>).transpose()?,
                changed,
            })
        })
    }

    fn revert<'a>(
        &'a self,
        conn: &'a mut C,
        object: &'a str,
        history_id: &'a str,
        extensions: &'a http::Extensions,
        reason: String,
    ) -> BoxFuture<'a, Result<(), BrowseError>> {
        Box::pin(async move {
            let ctx = extensions
                .get::<HistoryContext<UserIdOf<M>>>()
                .cloned()
                .ok_or(BrowseError::MissingContext(std::any::type_name::<
                    UserIdOf<M>,
                >()))?;
            let id = object_key::<M>(object)?;
            let record = find::<M, C>(conn, &id, history_id).await?;
            crate::asynchronous::WriteWithHistory::restore_with_history(
                conn,
                &record,
                &ctx.reason(reason),
            )
            .await?;
            Ok(())
        })
    }
}
