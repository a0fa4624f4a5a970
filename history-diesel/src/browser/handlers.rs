//! The routes: each parses its input, asks the permission callback, reads
//! through the models' typed side, and renders a page or JSON. Errors are
//! pages (or JSON) with their status, never a panic.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use http::request::Parts;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::BrowseError;
use super::filters::{format_cursor, parse, RawFilters};
use super::model::{Browse, Comparison, PageQuery};
use super::pages::{self, encode, object_path, FilterValues, Frame, ModelRow, RevertForm};
use super::view::RecordView;
use super::{csrf, Access, Action, Browser, Connections};

type Shared<P> = State<Arc<Browser<P>>>;
type Model<P> = dyn Browse<<P as Connections>::Connection>;

/// The prefix the router is nested under: the original path without the
/// path the router saw.
fn base(original: &OriginalUri, parts: &Parts) -> String {
    let (full, inner) = (original.path(), parts.uri.path());
    let base = if inner == "/" {
        full
    } else {
        full.strip_suffix(inner).unwrap_or("")
    };
    base.trim_end_matches('/').to_owned()
}

impl<P: Connections> Browser<P> {
    fn allowed(&self, parts: &Parts, model: &Model<P>, action: Action) -> bool {
        let spec = model.spec();
        (self.options.permission)(
            parts,
            Access {
                model: spec.source_table,
                model_name: spec.model,
                action,
            },
        )
    }

    /// The models this request may see, with their indexes.
    fn visible<'a>(&'a self, parts: &'a Parts) -> impl Iterator<Item = (usize, &'a Model<P>)> {
        self.models
            .iter()
            .enumerate()
            .map(|(index, model)| (index, model.as_ref()))
            .filter(move |(_, model)| self.allowed(parts, *model, Action::View))
    }

    /// The model of table `table`, if this request may do `action` on it.
    fn model(
        &self,
        parts: &Parts,
        table: &str,
        action: Action,
    ) -> Result<(usize, &Model<P>), BrowseError> {
        let (index, model) = self
            .models
            .iter()
            .enumerate()
            .find(|(_, model)| model.spec().source_table == table)
            .ok_or_else(|| BrowseError::NotFound(format!("no model {table:?}")))?;
        if !self.allowed(parts, model.as_ref(), Action::View) {
            return Err(BrowseError::Forbidden(format!(
                "you may not see the history of {table}"
            )));
        }
        if action == Action::Revert && !self.allowed(parts, model.as_ref(), action) {
            return Err(BrowseError::Forbidden(format!(
                "you may not revert records of {table}"
            )));
        }
        Ok((index, model.as_ref()))
    }

    fn tables(&self) -> Vec<&'static str> {
        self.models
            .iter()
            .map(|model| model.spec().source_table)
            .collect()
    }

    /// Runs `work` with a connection from the pool on tokio's blocking
    /// pool, driven by the runtime's handle: the models' futures are not
    /// `Send` (see `model::BoxFuture`), the work's inputs and output are.
    async fn blocking<R, F, Fut>(self: &Arc<Self>, work: F) -> Result<R, BrowseError>
    where
        F: FnOnce(Arc<Self>, P::Guard) -> Fut + Send + 'static,
        Fut: Future<Output = Result<R, BrowseError>> + 'static,
        R: Send + 'static,
    {
        let guard = self
            .pool
            .connection()
            .await
            .map_err(BrowseError::Unavailable)?;
        let browser = Arc::clone(self);
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || handle.block_on(work(browser, guard)))
            .await
            .map_err(|err| BrowseError::Unavailable(format!("the request's task failed: {err}")))?
    }

    /// One page of records across the models `indexes`, newest first, and
    /// the cursor of the page after it, if any: `page_size + 1` records of
    /// each model (one statement each), merged.
    async fn changes(
        &self,
        conn: &mut P::Connection,
        indexes: &[usize],
        query: &PageQuery,
    ) -> Result<(Vec<RecordView>, Option<String>), BrowseError> {
        let size = self.options.page_size;
        let mut merged: Vec<(usize, RecordView)> = Vec::new();
        for index in indexes {
            let model = &self.models[*index];
            if let Some(records) = model.page(conn, *index, query, size + 1).await? {
                merged.extend(records.into_iter().map(|record| (*index, record)));
            }
        }
        // Stable: each model's records keep their database order (by
        // history_id within a date); within a date, later models first.
        merged.sort_by(|(a_model, a), (b_model, b)| (b.date, b_model).cmp(&(a.date, a_model)));
        let more = merged.len() > size;
        merged.truncate(size);
        let cursor = more
            .then(|| merged.last())
            .flatten()
            .map(|(_, last)| format_cursor(last.date, last.model, &last.history_id));
        Ok((
            merged.into_iter().map(|(_, record)| record).collect(),
            cursor,
        ))
    }
}

/// The query string again, with `after` set to `cursor`.
fn older_link(path: &str, raw: &RawFilters, cursor: &str) -> String {
    let mut pairs = vec![];
    for (name, value) in [
        ("model", &raw.model),
        ("user", &raw.user),
        ("type", &raw.kind),
        ("from", &raw.from),
        ("until", &raw.until),
    ] {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            pairs.push(format!("{name}={}", encode(value)));
        }
    }
    pairs.push(format!("after={}", encode(cursor)));
    format!("{path}?{}", pairs.join("&"))
}

/// An HTML page, or the error page.
fn html_page(
    browser: &Browser<impl Connections>,
    base: &str,
    result: Result<Response, BrowseError>,
) -> Response {
    result.unwrap_or_else(|err| {
        let frame = Frame {
            base,
            title: &browser.options.title,
        };
        let status = err.status();
        (
            status,
            Html(pages::error(&frame, status, &err.to_string()).into_string()),
        )
            .into_response()
    })
}

/// A JSON body, or `{"error": message}` with the error's status.
fn json_body(result: Result<Value, BrowseError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(err) => (err.status(), Json(json!({ "error": err.to_string() }))).into_response(),
    }
}

pub(crate) async fn index<P: Connections>(
    State(browser): Shared<P>,
    original: OriginalUri,
    parts: Parts,
) -> Response {
    let base = base(&original, &parts);
    let result = async {
        let counts = model_counts(&browser, &parts).await?;
        let rows: Vec<ModelRow<'_>> = counts
            .iter()
            .map(|(index, records)| {
                let spec = browser.models[*index].spec();
                ModelRow {
                    table: spec.source_table,
                    name: spec.model,
                    records: *records,
                }
            })
            .collect();
        let frame = Frame {
            base: &base,
            title: &browser.options.title,
        };
        Ok(Html(pages::index(&frame, &rows).into_string()).into_response())
    };
    html_page(&browser, &base, result.await)
}

/// Each visible model's index and record count: one statement each.
async fn model_counts<P: Connections>(
    browser: &Arc<Browser<P>>,
    parts: &Parts,
) -> Result<Vec<(usize, i64)>, BrowseError> {
    let indexes: Vec<usize> = browser.visible(parts).map(|(index, _)| index).collect();
    browser
        .blocking(move |browser, mut guard| async move {
            let mut counts = Vec::new();
            for index in indexes {
                counts.push((index, browser.models[index].count(&mut guard).await?));
            }
            Ok(counts)
        })
        .await
}

pub(crate) async fn api_models<P: Connections>(
    State(browser): Shared<P>,
    parts: Parts,
) -> Response {
    json_body(model_counts(&browser, &parts).await.map(|counts| {
        let models: Vec<Value> = counts
            .iter()
            .map(|(index, records)| {
                let spec = browser.models[*index].spec();
                json!({
                    "model": spec.model,
                    "table": spec.source_table,
                    "history_table": spec.history_table,
                    "records": records,
                })
            })
            .collect();
        json!({ "models": models })
    }))
}

/// The models and filters of `/changes`.
async fn changes_of<P: Connections>(
    browser: &Arc<Browser<P>>,
    parts: &Parts,
    raw: &RawFilters,
) -> Result<(Vec<RecordView>, Option<String>), BrowseError> {
    let (only, query) = parse(raw, &browser.tables())?;
    let indexes: Vec<usize> = match only {
        Some(index) => {
            let table = browser.models[index].spec().source_table;
            vec![browser.model(parts, table, Action::View)?.0]
        }
        None => browser.visible(parts).map(|(index, _)| index).collect(),
    };
    browser
        .blocking(move |browser, mut guard| async move {
            browser.changes(&mut guard, &indexes, &query).await
        })
        .await
}

pub(crate) async fn changes<P: Connections>(
    State(browser): Shared<P>,
    original: OriginalUri,
    parts: Parts,
    Query(raw): Query<RawFilters>,
) -> Response {
    let base = base(&original, &parts);
    let result = async {
        let (records, cursor) = changes_of(&browser, &parts, &raw).await?;
        let tables: Vec<(&str, &str)> = browser
            .visible(&parts)
            .map(|(_, model)| (model.spec().source_table, model.spec().model))
            .collect();
        let values = FilterValues {
            model: raw.model.as_deref().unwrap_or(""),
            user: raw.user.as_deref().unwrap_or(""),
            kind: raw.kind.as_deref().unwrap_or(""),
            from: raw.from.as_deref().unwrap_or(""),
            until: raw.until.as_deref().unwrap_or(""),
        };
        let older = cursor.map(|cursor| older_link(&format!("{base}/changes"), &raw, &cursor));
        let frame = Frame {
            base: &base,
            title: &browser.options.title,
        };
        let page = pages::changes(&frame, &tables, &values, &records, older);
        Ok(Html(page.into_string()).into_response())
    };
    html_page(&browser, &base, result.await)
}

pub(crate) async fn api_changes<P: Connections>(
    State(browser): Shared<P>,
    parts: Parts,
    Query(raw): Query<RawFilters>,
) -> Response {
    json_body(
        changes_of(&browser, &parts, &raw)
            .await
            .map(|(records, cursor)| json!({ "records": records_json(&records), "next": cursor })),
    )
}

fn records_json(records: &[RecordView]) -> Vec<Value> {
    records
        .iter()
        .map(|record| json!({ "model": record.model, "object": record.object, "record": record.json }))
        .collect()
}

/// An object's records, a page of them; NotFound when it has none at all.
async fn timeline_of<P: Connections>(
    browser: &Arc<Browser<P>>,
    parts: &Parts,
    table: &str,
    object: &str,
    raw: &RawFilters,
) -> Result<(bool, Vec<RecordView>, Option<String>), BrowseError> {
    let (index, model) = browser.model(parts, table, Action::View)?;
    let request_info = model.spec().request_info;
    let (_, mut query) = parse(raw, &browser.tables())?;
    query.object = Some(object.to_owned());
    let first_page = query.cursor.is_none();
    let (records, cursor) = browser
        .blocking(move |browser, mut guard| async move {
            browser.changes(&mut guard, &[index], &query).await
        })
        .await?;
    if records.is_empty() && first_page {
        return Err(BrowseError::NotFound(format!(
            "{table} {object:?} has no history"
        )));
    }
    Ok((request_info, records, cursor))
}

pub(crate) async fn timeline<P: Connections>(
    State(browser): Shared<P>,
    original: OriginalUri,
    parts: Parts,
    Path((table, object)): Path<(String, String)>,
    Query(raw): Query<RawFilters>,
) -> Response {
    let base = base(&original, &parts);
    let result = async {
        let (request_info, records, cursor) =
            timeline_of(&browser, &parts, &table, &object, &raw).await?;
        let path = object_path(&base, &table, &object);
        let older = cursor.map(|cursor| older_link(&path, &raw, &cursor));
        let frame = Frame {
            base: &base,
            title: &browser.options.title,
        };
        let page = pages::timeline(&frame, &table, &object, request_info, &records, older);
        Ok(Html(page.into_string()).into_response())
    };
    html_page(&browser, &base, result.await)
}

pub(crate) async fn api_timeline<P: Connections>(
    State(browser): Shared<P>,
    parts: Parts,
    Path((table, object)): Path<(String, String)>,
    Query(raw): Query<RawFilters>,
) -> Response {
    json_body(
        timeline_of(&browser, &parts, &table, &object, &raw)
            .await
            .map(|(_, records, cursor)| {
                let records: Vec<&Value> = records.iter().map(|record| &record.json).collect();
                json!({ "model": table, "object": object, "records": records, "next": cursor })
            }),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct Against {
    against: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CompareQuery {
    record: String,
    against: Option<String>,
}

/// The record `history_id` of `object` against `against` or its predecessor.
async fn compare_records<P: Connections>(
    browser: &Arc<Browser<P>>,
    index: usize,
    object: &str,
    history_id: &str,
    against: Option<&str>,
) -> Result<Comparison, BrowseError> {
    let (object, history_id) = (object.to_owned(), history_id.to_owned());
    let against = against
        .filter(|against| !against.is_empty())
        .map(str::to_owned);
    browser
        .blocking(move |browser, mut guard| async move {
            browser.models[index]
                .compare(&mut guard, &object, &history_id, against.as_deref())
                .await
        })
        .await
}

async fn record_page<P: Connections>(
    browser: &Arc<Browser<P>>,
    parts: &Parts,
    base: &str,
    (table, object, history_id): (&str, &str, &str),
    against: Option<&str>,
) -> Result<Response, BrowseError> {
    let (index, model) = browser.model(parts, table, Action::View)?;
    let comparison = compare_records(browser, index, object, history_id, against).await?;
    let (token, cookie) = csrf::token(&parts.headers);
    let revert =
        (browser.options.revert && browser.allowed(parts, model, Action::Revert)).then(|| {
            RevertForm {
                action: format!("{}/revert", pages::record_path(base, &comparison.record)),
                token: &token,
            }
        });
    let frame = Frame {
        base,
        title: &browser.options.title,
    };
    let mut response =
        Html(pages::record(&frame, &comparison, revert).into_string()).into_response();
    csrf::set(response.headers_mut(), cookie);
    Ok(response)
}

pub(crate) async fn record<P: Connections>(
    State(browser): Shared<P>,
    original: OriginalUri,
    parts: Parts,
    Path((table, object, history_id)): Path<(String, String, String)>,
    Query(query): Query<Against>,
) -> Response {
    let base = base(&original, &parts);
    let result = record_page(
        &browser,
        &parts,
        &base,
        (&table, &object, &history_id),
        query.against.as_deref(),
    )
    .await;
    html_page(&browser, &base, result)
}

pub(crate) async fn compare<P: Connections>(
    State(browser): Shared<P>,
    original: OriginalUri,
    parts: Parts,
    Path((table, object)): Path<(String, String)>,
    Query(query): Query<CompareQuery>,
) -> Response {
    let base = base(&original, &parts);
    let result = record_page(
        &browser,
        &parts,
        &base,
        (&table, &object, &query.record),
        query.against.as_deref(),
    )
    .await;
    html_page(&browser, &base, result)
}

pub(crate) async fn api_record<P: Connections>(
    State(browser): Shared<P>,
    parts: Parts,
    Path((table, object, history_id)): Path<(String, String, String)>,
    Query(query): Query<Against>,
) -> Response {
    let result = async {
        let (index, _) = browser.model(&parts, &table, Action::View)?;
        let comparison = compare_records(
            &browser,
            index,
            &object,
            &history_id,
            query.against.as_deref(),
        )
        .await?;
        let diff: serde_json::Map<String, Value> = match &comparison.older {
            Some(older) => comparison
                .changed
                .iter()
                .map(|field| {
                    let old = older.field(field).cloned().unwrap_or(Value::Null);
                    let new = comparison
                        .record
                        .field(field)
                        .cloned()
                        .unwrap_or(Value::Null);
                    ((*field).to_owned(), json!([old, new]))
                })
                .collect(),
            None => serde_json::Map::new(),
        };
        Ok(json!({
            "record": comparison.record.json,
            "against": comparison.older.as_ref().map(|older| &older.json),
            "diff": diff,
        }))
    };
    json_body(result.await)
}

#[derive(Debug, Deserialize)]
pub(crate) struct OpenQuery {
    model: String,
    object: String,
}

/// The index's "open an object" form, which cannot build a path itself.
pub(crate) async fn open<P: Connections>(
    State(browser): Shared<P>,
    original: OriginalUri,
    parts: Parts,
    Query(query): Query<OpenQuery>,
) -> Response {
    let base = base(&original, &parts);
    let result = browser.model(&parts, &query.model, Action::View).map(|_| {
        Redirect::to(&object_path(&base, &query.model, query.object.trim())).into_response()
    });
    html_page(&browser, &base, result)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevertFields {
    csrf_token: Option<String>,
    reason: Option<String>,
}

pub(crate) async fn revert<P: Connections>(
    State(browser): Shared<P>,
    original: OriginalUri,
    parts: Parts,
    Path((table, object, history_id)): Path<(String, String, String)>,
    Form(fields): Form<RevertFields>,
) -> Response {
    let base = base(&original, &parts);
    let result = async {
        if !browser.options.revert {
            return Err(BrowseError::RevertDisabled);
        }
        let (index, _) = browser.model(&parts, &table, Action::Revert)?;
        if !csrf::matches(&parts.headers, fields.csrf_token.as_deref().unwrap_or("")) {
            return Err(BrowseError::Forbidden(
                "the form's CSRF token is missing or does not match: reload the record page and submit again".to_owned(),
            ));
        }
        let reason = fields.reason.as_deref().map(str::trim).unwrap_or("");
        if reason.is_empty() {
            return Err(BrowseError::BadRequest(
                "a revert needs a reason".to_owned(),
            ));
        }
        let (key, history_id) = (object.clone(), history_id.clone());
        let (extensions, reason) = (parts.extensions.clone(), reason.to_owned());
        browser
            .blocking(move |browser, mut guard| async move {
                browser.models[index]
                    .revert(&mut guard, &key, &history_id, &extensions, reason)
                    .await
            })
            .await?;
        // 303: the browser follows with a GET of the timeline, where the
        // new record is on top.
        Ok(Redirect::to(&object_path(&base, &table, &object)).into_response())
    };
    html_page(&browser, &base, result.await)
}

pub(crate) async fn not_found<P: Connections>(
    State(browser): Shared<P>,
    original: OriginalUri,
    parts: Parts,
) -> Response {
    let base = base(&original, &parts);
    html_page(
        &browser,
        &base,
        Err(BrowseError::NotFound("no such page".to_owned())),
    )
}
