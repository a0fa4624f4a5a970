//! An orders service on axum and diesel-async: every create, update and
//! delete keeps its history, with the request's user, client address, user
//! agent and request id, and `/orders/{id}/history` returns it as JSON.
//!
//! Runs on bundled SQLite (in memory) with nothing installed:
//!
//! ```sh
//! cargo run -p history-examples --example orders_service
//! ```
//!
//! or on PostgreSQL or MySQL/MariaDB, with the `postgres` or `mysql` feature
//! and `DATABASE_URL`:
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/orders \
//!     cargo run -p history-examples --features postgres --example orders_service
//! DATABASE_URL=mysql://root@127.0.0.1:3306/orders \
//!     cargo run -p history-examples --features mysql --example orders_service
//! ```
//!
//! Then:
//!
//! ```sh
//! curl -s -X POST localhost:3000/orders -H 'x-user-id: 7' -H 'content-type: application/json' \
//!     -d '{"customer": "Ada", "status": "new", "total": 12.5}'
//! curl -s -X PATCH localhost:3000/orders/1 -H 'x-user-id: 8' -H 'x-change-reason: paid by card' \
//!     -H 'content-type: application/json' -d '{"status": "paid"}'
//! curl -s localhost:3000/orders/1/history
//! ```
//!
//! The history browser (`history_diesel::browser`) is mounted at
//! `/admin/history`; `-- --sample-data` fills the database with a few orders
//! and their changes first, to have something to browse:
//!
//! ```sh
//! cargo run -p history-examples --example orders_service -- --sample-data
//! ```
//!
//! The `x-user-id` header stands in for an application's own authentication:
//! the layer takes the user from a function of the request, so a real app
//! reads its auth layer's request extension there instead. `ADDR` (default
//! `127.0.0.1:3000`) sets the address and `TRUSTED_PROXIES` (CIDR list, e.g.
//! `127.0.0.1/32,10.0.0.0/8`) the proxies whose `X-Forwarded-For` is believed.

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::{request::Parts, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::FutureExt;
use history_diesel::asynchronous::prelude::*;
use history_diesel::browser::{self, BrowserOptions, Models};
use history_diesel::web::{HistoryLayer, TrustedProxies};
use history_diesel::{Dialect, HistoryError, HistoryType};
use serde::{Deserialize, Serialize};

#[path = "orders_model.rs"]
mod orders_model;
use orders_model::{orders, HistoricalOrder, Order};

#[derive(Deserialize, Insertable)]
#[diesel(table_name = orders)]
struct NewOrder {
    customer: String,
    status: String,
    total: f64,
}

/// A partial update: the fields given are changed.
#[derive(Deserialize, AsChangeset)]
#[diesel(table_name = orders)]
struct OrderChanges {
    customer: Option<String>,
    status: Option<String>,
    total: Option<f64>,
}

/// One history record, as the history endpoint shows it.
#[derive(Serialize)]
struct HistoryEntry {
    history_id: i64,
    history_type: &'static str,
    history_date: String,
    user: Option<i64>,
    reason: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    order: OrderState,
}

#[derive(Serialize)]
struct OrderState {
    customer: String,
    status: String,
    total: f64,
}

impl From<HistoricalOrder> for HistoryEntry {
    fn from(record: HistoricalOrder) -> Self {
        HistoryEntry {
            history_id: record.history_id,
            history_type: match record.history_type {
                HistoryType::Created => "created",
                HistoryType::Changed => "changed",
                HistoryType::Deleted => "deleted",
            },
            history_date: record.history_date.to_rfc3339(),
            user: record.history_user_id,
            reason: record.history_change_reason,
            client_ip: record.history_client_ip.map(|ip| ip.to_string()),
            user_agent: record.history_user_agent,
            request_id: record.history_request_id,
            order: OrderState {
                customer: record.customer,
                status: record.status,
                total: record.total,
            },
        }
    }
}

type SqliteConn =
    diesel_async::sync_connection_wrapper::SyncConnectionWrapper<diesel::SqliteConnection>;

/// The database, on either backend. Each handler's body is written once and
/// compiled for each connection type (`with_conn!`): the history helpers
/// take a concrete connection, so that their futures are known to be `Send`.
#[derive(Clone)]
enum Db {
    Sqlite(Pool<SqliteConn>),
    #[cfg(feature = "postgres")]
    Postgres(Pool<diesel_async::AsyncPgConnection>),
    #[cfg(feature = "mysql")]
    Mysql(Pool<diesel_async::AsyncMysqlConnection>),
}

/// Runs `$body` with `$conn`, a connection from the pool.
macro_rules! with_conn {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            Db::Sqlite(pool) => {
                let mut $conn = pool.get().await.map_err(AppError::pool)?;
                $body
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => {
                let mut $conn = pool.get().await.map_err(AppError::pool)?;
                $body
            }
            #[cfg(feature = "mysql")]
            Db::Mysql(pool) => {
                let mut $conn = pool.get().await.map_err(AppError::pool)?;
                $body
            }
        }
    };
}

const SQLITE_DDL: &str = "CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, \
    customer TEXT NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL)";

/// An in-memory SQLite database on the pool's one connection, its tables
/// made when the connection opens.
fn sqlite_pool() -> Pool<SqliteConn> {
    let mut config = ManagerConfig::<SqliteConn>::default();
    config.custom_setup = Box::new(|url| {
        async move {
            let mut conn = SqliteConn::establish(url).await?;
            let history = Order::history_migration(Dialect::Sqlite).up;
            for ddl in [SQLITE_DDL, history.as_str()] {
                conn.batch_execute(ddl)
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            }
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(":memory:", config);
    Pool::builder(manager).max_size(1).build().expect("a pool")
}

/// A PostgreSQL pool, the tables made first if they do not exist (a real
/// application runs the migrations `Order::history_migration` gives with
/// its others).
#[cfg(feature = "postgres")]
async fn postgres_pool(url: &str) -> Pool<diesel_async::AsyncPgConnection> {
    use diesel::sql_types::Bool;
    let mut conn = diesel_async::AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|err| panic!("PostgreSQL at {url}: {err}"));
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS orders (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, \
         status TEXT NOT NULL, total DOUBLE PRECISION NOT NULL)",
    )
    .await
    .expect("the orders table");
    let exists: bool = diesel::select(diesel::dsl::sql::<Bool>(
        "to_regclass('historical_orders') IS NOT NULL",
    ))
    .get_result(&mut conn)
    .await
    .expect("the catalog");
    if !exists {
        conn.batch_execute(&Order::history_migration(Dialect::Postgres).up)
            .await
            .expect("the history table");
    }
    let manager = AsyncDieselConnectionManager::new(url);
    Pool::builder(manager).max_size(8).build().expect("a pool")
}

/// A MySQL/MariaDB pool, the tables made first if they do not exist.
#[cfg(feature = "mysql")]
async fn mysql_pool(url: &str) -> Pool<diesel_async::AsyncMysqlConnection> {
    use diesel::sql_types::BigInt;
    let mut conn = diesel_async::AsyncMysqlConnection::establish(url)
        .await
        .unwrap_or_else(|err| panic!("MySQL at {url}: {err}"));
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY AUTO_INCREMENT, \
         customer TEXT NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL)",
    )
    .await
    .expect("the orders table");
    let exists: i64 = diesel::select(diesel::dsl::sql::<BigInt>(
        "(SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name = 'historical_orders')",
    ))
    .get_result(&mut conn)
    .await
    .expect("the catalog");
    if exists == 0 {
        conn.batch_execute(&Order::history_migration(Dialect::Mysql).up)
            .await
            .expect("the history table");
    }
    let manager = AsyncDieselConnectionManager::new(url);
    Pool::builder(manager).max_size(8).build().expect("a pool")
}

async fn database() -> Db {
    match std::env::var("DATABASE_URL") {
        #[cfg(feature = "postgres")]
        Ok(url) if url.starts_with("postgres") => Db::Postgres(postgres_pool(&url).await),
        #[cfg(not(feature = "postgres"))]
        Ok(url) if url.starts_with("postgres") => {
            panic!("DATABASE_URL is PostgreSQL: build the example with `--features postgres`")
        }
        #[cfg(feature = "mysql")]
        Ok(url) if url.starts_with("mysql") => Db::Mysql(mysql_pool(&url).await),
        #[cfg(not(feature = "mysql"))]
        Ok(url) if url.starts_with("mysql") => {
            panic!("DATABASE_URL is MySQL: build the example with `--features mysql`")
        }
        _ => Db::Sqlite(sqlite_pool()),
    }
}

/// An error as the API reports it: a status and a message.
struct AppError(StatusCode, String);

impl AppError {
    fn pool(err: impl std::fmt::Display) -> Self {
        AppError(StatusCode::SERVICE_UNAVAILABLE, err.to_string())
    }
}

impl From<HistoryError> for AppError {
    fn from(err: HistoryError) -> Self {
        let status = match &err {
            HistoryError::NotFound { .. } | HistoryError::NoRecords { .. } => StatusCode::NOT_FOUND,
            HistoryError::UserRequired { .. } => StatusCode::UNAUTHORIZED,
            HistoryError::ReasonTooLong { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        AppError(status, err.to_string())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => {
                AppError(StatusCode::NOT_FOUND, "no such order".into())
            }
            other => AppError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// The request's context, with the reason the client gave and a user
/// required for every write.
fn write_context(ctx: HistoryContext, headers: &HeaderMap) -> HistoryContext {
    let ctx = ctx.require_user();
    match headers
        .get("x-change-reason")
        .and_then(|value| value.to_str().ok())
    {
        Some(reason) => ctx.reason(reason),
        None => ctx,
    }
}

async fn create_order(
    State(db): State<Db>,
    ctx: HistoryContext,
    headers: HeaderMap,
    Json(new): Json<NewOrder>,
) -> Result<(StatusCode, Json<Order>), AppError> {
    let ctx = write_context(ctx, &headers);
    let order = with_conn!(db, conn => Order::create_with_history(&mut conn, &new, &ctx).await?);
    Ok((StatusCode::CREATED, Json(order)))
}

async fn get_order(State(db): State<Db>, Path(id): Path<i32>) -> Result<Json<Order>, AppError> {
    let order = with_conn!(db, conn => orders::table.find(id).select(Order::as_select()).first(&mut conn).await?);
    Ok(Json(order))
}

async fn update_order(
    State(db): State<Db>,
    Path(id): Path<i32>,
    ctx: HistoryContext,
    headers: HeaderMap,
    Json(changes): Json<OrderChanges>,
) -> Result<Json<Order>, AppError> {
    let ctx = write_context(ctx, &headers);
    let order = with_conn!(db, conn => {
        let changed = Order::update_where_with_history(&mut conn, orders::id.eq(id), &changes, &ctx).await?;
        if changed == 0 {
            return Err(AppError(StatusCode::NOT_FOUND, "no such order".into()));
        }
        orders::table.find(id).select(Order::as_select()).first(&mut conn).await?
    });
    Ok(Json(order))
}

async fn delete_order(
    State(db): State<Db>,
    Path(id): Path<i32>,
    ctx: HistoryContext,
    headers: HeaderMap,
) -> Result<StatusCode, AppError> {
    let ctx = write_context(ctx, &headers);
    let deleted = with_conn!(db, conn => Order::delete_where_with_history(&mut conn, orders::id.eq(id), &ctx).await?);
    Ok(if deleted == 0 {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::NO_CONTENT
    })
}

async fn order_history(
    State(db): State<Db>,
    Path(id): Path<i32>,
) -> Result<Json<Vec<HistoryEntry>>, AppError> {
    let records: Vec<HistoricalOrder> = with_conn!(db, conn => {
        Order::history_of(id).select(HistoricalOrder::as_select()).load(&mut conn).await?
    });
    if records.is_empty() {
        return Err(AppError(
            StatusCode::NOT_FOUND,
            "no history for this order".into(),
        ));
    }
    Ok(Json(records.into_iter().map(HistoryEntry::from).collect()))
}

/// Where the history browser is mounted.
const BROWSER: &str = "/admin/history";

/// The id of the demo's operator, who is "signed in" on the browser's pages.
const OPERATOR: i64 = 1;

/// The user, from the stand-in authentication header; on the browser's
/// pages, where a real app's session would say who is signed in, the demo's
/// operator.
fn user_of(parts: &Parts) -> Option<i64> {
    let header = parts
        .headers
        .get("x-user-id")
        .and_then(|value| value.to_str().ok());
    match header {
        Some(user) => user.parse().ok(),
        None => parts.uri.path().starts_with(BROWSER).then_some(OPERATOR),
    }
}

/// The history browser over the app's own pool.
fn history_browser(db: &Db) -> Router<Db> {
    let options = BrowserOptions::new().title("Orders history");
    match db {
        Db::Sqlite(pool) => browser::router(Models::new(pool.clone()).model::<Order>(), options),
        #[cfg(feature = "postgres")]
        Db::Postgres(pool) => browser::router(Models::new(pool.clone()).model::<Order>(), options),
        #[cfg(feature = "mysql")]
        Db::Mysql(pool) => browser::router(Models::new(pool.clone()).model::<Order>(), options),
    }
}

/// A few orders with a history to browse: created, changed by other users
/// with reasons, one deleted, dated over the last hour (explicit dates, as
/// an import gives them, so the order of the changes does not hang on how
/// fast they are written: SQLite keeps dates to the millisecond).
async fn sample_data(db: &Db) -> Result<(), AppError> {
    let now = history_diesel::chrono::Utc::now();
    let by = |user: i64, reason: &str, minutes_ago: i64| {
        HistoryContext::new()
            .user(user)
            .reason(reason)
            .at(now - history_diesel::chrono::Duration::minutes(minutes_ago))
    };
    with_conn!(db, conn => {
        let customers = [("Ada", 12.5), ("Grace", 40.0), ("Linus", 7.25), ("Barbara", 99.0)];
        for (n, (customer, total)) in customers.into_iter().enumerate() {
            let new = NewOrder { customer: customer.into(), status: "new".into(), total };
            Order::create_with_history(&mut conn, &new, &by(7, "checkout", 60 - n as i64)).await?;
        }
        let steps: [(i32, i64, &str, i64, OrderChanges); 4] = [
            (1, 8, "paid by card", 50, OrderChanges { customer: None, status: Some("paid".into()), total: None }),
            (1, 9, "shipped with DHL", 40, OrderChanges { customer: None, status: Some("shipped".into()), total: None }),
            (2, 8, "discount for a late delivery", 30, OrderChanges { customer: None, status: None, total: Some(36.0) }),
            (2, 9, "customer renamed", 20, OrderChanges { customer: Some("Grace Hopper".into()), status: None, total: None }),
        ];
        for (id, user, reason, minutes_ago, changes) in steps {
            Order::update_where_with_history(&mut conn, orders::id.eq(id), &changes, &by(user, reason, minutes_ago)).await?;
        }
        Order::delete_where_with_history(&mut conn, orders::id.eq(3), &by(8, "cancelled by the customer", 10)).await?;
    });
    Ok(())
}

fn app(db: Db, proxies: TrustedProxies) -> Router {
    Router::new()
        .route("/orders", post(create_order))
        .route(
            "/orders/{id}",
            get(get_order).patch(update_order).delete(delete_order),
        )
        .route("/orders/{id}/history", get(order_history))
        .nest(BROWSER, history_browser(&db))
        .layer(HistoryLayer::new(user_of).trusted_proxies(proxies))
        .with_state(db)
}

#[tokio::main]
async fn main() {
    let addr: SocketAddr = std::env::var("ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()
        .expect("ADDR is host:port");
    let proxies: TrustedProxies = std::env::var("TRUSTED_PROXIES")
        .unwrap_or_default()
        .parse()
        .expect("TRUSTED_PROXIES is a comma-separated CIDR list");
    let db = database().await;
    if std::env::args().any(|arg| arg == "--sample-data") {
        if let Err(AppError(_, message)) = sample_data(&db).await {
            panic!("the sample data: {message}");
        }
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("the address is free");
    let addr = listener.local_addr().unwrap();
    println!("orders service on http://{addr}");
    println!("history browser on http://{addr}{BROWSER}");
    axum::serve(
        listener,
        app(db, proxies).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .expect("the server runs");
}
