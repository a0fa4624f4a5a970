//! The history browser (feature `browser`): pages an operator opens to see
//! who changed what, compare any two versions of an object and put one
//! back, as an axum [`Router`] the application nests under a prefix of its
//! choice, inside its own auth layers.
//!
//! ```
//! # use diesel::prelude::*;
//! # use diesel::sqlite::SqliteConnection;
//! # use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
//! # use history_diesel::HistoricalRecords;
//! # diesel::table! { orders (id) { id -> Integer, status -> Text } }
//! # #[derive(Queryable, Selectable, HistoricalRecords)]
//! # #[diesel(table_name = orders)]
//! # pub struct Order { pub id: i32, pub status: String }
//! use axum::Router;
//! use diesel_async::pooled_connection::{deadpool::Pool, AsyncDieselConnectionManager};
//! use history_diesel::browser::{self, BrowserOptions, Models};
//! use history_diesel::web::HistoryLayer;
//!
//! type Conn = SyncConnectionWrapper<SqliteConnection>;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pool: Pool<Conn> = Pool::builder(AsyncDieselConnectionManager::new(":memory:")).build()?;
//!
//! let models = Models::new(pool).model::<Order>();
//! let app: Router = Router::new()
//!     .nest("/admin/history", browser::router(models, BrowserOptions::new()))
//!     // Who reverts: the layer's user function reads the app's own auth.
//!     .layer(HistoryLayer::new(|_parts: &axum::http::request::Parts| Some(1_i64)));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! Pages, server-rendered HTML that works without JavaScript (paths under
//! the prefix):
//!
//! - `/`: the models with their record counts;
//! - `/changes`: recent changes across models, newest first, filtered by
//!   `model`, `user`, `type` (`+`, `~`, `-`), `from` and `until` (dates,
//!   `2026-12-01` or RFC 3339), paginated by keyset (`after`, the link
//!   "Older changes" carries it), so a page deep in a million records costs
//!   what the first does;
//! - `/{model}/{object}`: the object's timeline, every record with its
//!   date, type, user, reason and, for `request_info` models, where it came
//!   from;
//! - `/{model}/{object}/{history_id}`: one record against the one before it
//!   (or `?against={history_id}`), changed fields highlighted, long text as
//!   a line diff, with the revert form;
//! - `POST /{model}/{object}/{history_id}/revert`: writes that version back
//!   through `restore_with_history`, so the revert is itself a `~` record
//!   with the request's user and the form's reason.
//!
//! `{model}` is the model's table name (`orders`). The same data as JSON:
//! `/api/models`, `/api/changes`, `/api/{model}/{object}` (the
//! `/orders/{id}/history` of a REST API) and
//! `/api/{model}/{object}/{history_id}`, records as their `Serialize`
//! gives them and diffs as `{"field": [old, new]}`.
//!
//! What guards it:
//! - the permission callback ([`BrowserOptions::permission`]) decides, per
//!   request, who may see which model and who may revert; the router
//!   itself trusts nobody it is not told to;
//! - a revert needs the CSRF token the record page sets (a `SameSite=Strict`
//!   cookie matched against the form's hidden field), and
//!   [`BrowserOptions::revert`] turns the form and the route off;
//! - every value on a page is escaped (maud), every filter is parsed into a
//!   typed value and bound, never spliced into SQL; unknown models, objects
//!   and records answer 404, malformed filters 400, refusals 403.
//!
//! Connections come from the application's diesel-async pool
//! ([`Connections`]; deadpool's is implemented). A synchronous SQLite
//! application wraps its connections in diesel-async's
//! `SyncConnectionWrapper`, as above, which runs each statement on tokio's
//! blocking pool. The revert's context (user, address, request id) is the
//! one [`HistoryLayer`](crate::web::HistoryLayer) builds for the request.

mod csrf;
mod error;
mod filters;
mod handlers;
mod linediff;
mod model;
mod pages;
mod view;

use std::future::Future;
use std::ops::DerefMut;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use diesel_async::AsyncConnection;
use http::request::Parts;

pub use self::error::BrowseError;
pub use self::model::Browsable;
use self::model::Browse;

/// Where the browser gets a connection for each request: the application's
/// pool. Implemented for diesel-async's deadpool [`Pool`]; implement it for
/// another pool (bb8, mobc) or a test's single connection.
///
/// [`Pool`]: diesel_async::pooled_connection::deadpool::Pool
pub trait Connections: Clone + Send + Sync + 'static {
    /// The connection type.
    type Connection: AsyncConnection + Send + 'static;
    /// What the pool hands out: a guard that returns the connection when
    /// dropped.
    type Guard: DerefMut<Target = Self::Connection> + Send;

    /// A connection for one request; the error's text is shown with 503.
    fn connection(&self) -> impl Future<Output = Result<Self::Guard, String>> + Send;
}

impl<C> Connections for diesel_async::pooled_connection::deadpool::Pool<C>
where
    C: diesel_async::pooled_connection::PoolableConnection + Send + 'static,
    for<'a> diesel::dsl::select<diesel::dsl::AsExprOf<i32, diesel::sql_types::Integer>>:
        diesel_async::methods::LoadQuery<'a, C, i32>,
    diesel::query_builder::SqlQuery: diesel::query_builder::QueryFragment<C::Backend>,
{
    type Connection = C;
    type Guard = diesel_async::pooled_connection::deadpool::Object<C>;

    async fn connection(&self) -> Result<Self::Guard, String> {
        self.get().await.map_err(|err| err.to_string())
    }
}

/// The models the browser shows, in the order its pages list them, with
/// the pool their records are read from.
pub struct Models<P: Connections> {
    pool: P,
    models: Vec<Box<dyn Browse<P::Connection>>>,
}

impl<P: Connections> Models<P> {
    /// No models yet, over `pool`.
    pub fn new(pool: P) -> Self {
        Models {
            pool,
            models: Vec::new(),
        }
    }

    /// Adds `M`. Its records need `Serialize` (the `serde` feature, which
    /// `browser` turns on) and its keys `Deserialize`, since they are read
    /// from URLs.
    ///
    /// # Panics
    ///
    /// When a model with the same table name is already listed: URLs name
    /// models by table.
    pub fn model<M: Browsable<P::Connection>>(mut self) -> Self {
        let table = M::HISTORY_TABLE.source_table;
        assert!(
            self.models
                .iter()
                .all(|model| model.spec().source_table != table),
            "the history browser already lists a model of table `{table}`"
        );
        self.models.push(M::__browse());
        self
    }
}

/// What a request asks to do, for the permission callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// See a model's records (every page and JSON endpoint).
    View,
    /// Write an old version back.
    Revert,
}

/// One request's access to one model.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Access<'a> {
    /// The model's table name, as in URLs.
    pub model: &'a str,
    /// The model's Rust name.
    pub model_name: &'a str,
    /// What the request asks.
    pub action: Action,
}

type Permission = dyn Fn(&Parts, Access<'_>) -> bool + Send + Sync;

/// How the browser behaves.
#[derive(Clone)]
pub struct BrowserOptions {
    revert: bool,
    page_size: usize,
    title: String,
    permission: Arc<Permission>,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            revert: true,
            page_size: 50,
            title: "History".to_owned(),
            permission: Arc::new(|_, _| true),
        }
    }
}

impl std::fmt::Debug for BrowserOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserOptions")
            .field("revert", &self.revert)
            .field("page_size", &self.page_size)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

impl BrowserOptions {
    /// Revert on, 50 records a page, everyone allowed everything (the
    /// application's auth layer around the router decides who gets in).
    pub fn new() -> Self {
        BrowserOptions::default()
    }

    /// Whether records can be reverted (default on). Off, the pages show no
    /// form and the route answers 405: django-simple-history's "disable
    /// revert in production".
    pub fn revert(mut self, enabled: bool) -> Self {
        self.revert = enabled;
        self
    }

    /// Records per page of recent changes and of a timeline (1 to 1,000).
    ///
    /// # Panics
    ///
    /// Outside 1 to 1,000.
    pub fn page_size(mut self, records: usize) -> Self {
        assert!(
            (1..=1_000).contains(&records),
            "page size {records} is not within 1 to 1,000"
        );
        self.page_size = records;
        self
    }

    /// The heading of every page (default "History").
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Who may do what: called with the request (its headers, its
    /// extensions, where an auth layer put the user) and the model and
    /// action asked. `false` answers 403, and hides the model from the
    /// lists.
    pub fn permission(
        mut self,
        allow: impl Fn(&Parts, Access<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.permission = Arc::new(allow);
        self
    }
}

/// What every handler reads.
pub(crate) struct Browser<P: Connections> {
    pool: P,
    models: Vec<Box<dyn Browse<P::Connection>>>,
    options: BrowserOptions,
}

/// The browser's router, to nest under a prefix of the application's
/// router (its state is its own, so it nests into a router of any state).
pub fn router<P: Connections, S: Clone + Send + Sync + 'static>(
    models: Models<P>,
    options: BrowserOptions,
) -> Router<S> {
    let browser = Arc::new(Browser {
        pool: models.pool,
        models: models.models,
        options,
    });
    Router::new()
        .route("/", get(handlers::index::<P>))
        .route("/changes", get(handlers::changes::<P>))
        .route("/open", get(handlers::open::<P>))
        .route("/{model}/{object}/compare", get(handlers::compare::<P>))
        .route("/{model}/{object}", get(handlers::timeline::<P>))
        .route("/{model}/{object}/{history_id}", get(handlers::record::<P>))
        .route(
            "/{model}/{object}/{history_id}/revert",
            post(handlers::revert::<P>),
        )
        .route("/api/models", get(handlers::api_models::<P>))
        .route("/api/changes", get(handlers::api_changes::<P>))
        .route("/api/{model}/{object}", get(handlers::api_timeline::<P>))
        .route(
            "/api/{model}/{object}/{history_id}",
            get(handlers::api_record::<P>),
        )
        .fallback(handlers::not_found::<P>)
        .with_state(browser)
}
