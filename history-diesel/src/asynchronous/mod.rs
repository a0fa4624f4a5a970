//! Writing and reading history on [diesel-async] connections (feature
//! `async`): `AsyncPgConnection`, `AsyncMysqlConnection`,
//! `SyncConnectionWrapper<SqliteConnection>`, and any pooled connection that
//! dereferences to one (deadpool, bb8, mobc).
//!
//! The traits here have the names and methods of their synchronous
//! counterparts, each method `async`, as diesel-async's `RunQueryDsl` mirrors
//! Diesel's: import [`prelude`] instead of [`crate::prelude`], next to
//! `diesel_async::RunQueryDsl`. Each call sends the same statements as the
//! synchronous one, in the same transactions, and fails with the same
//! [`HistoryError`](crate::HistoryError)s: both run one sequence per
//! backend, written once.
//!
//! The futures are `Send` whenever the connection and the arguments are, so
//! they run in `tokio::spawn` and in axum handlers. A future dropped before
//! it completes (a timeout, a client gone) may leave its transaction open on
//! the connection: diesel-async's pools then discard the connection rather
//! than hand it out again; on a connection of your own, do not reuse it.
//!
//! ```
//! # use diesel::prelude::*;
//! # use diesel::sqlite::SqliteConnection;
//! # use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
//! # use diesel_async::{AsyncConnection, SimpleAsyncConnection};
//! # use history_diesel::{Dialect, HistoricalRecords};
//! # diesel::table! { orders (id) { id -> Integer, status -> Text } }
//! # #[derive(Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
//! # #[diesel(table_name = orders)]
//! # pub struct Order { pub id: i32, pub status: String }
//! # #[derive(Insertable)]
//! # #[diesel(table_name = orders)]
//! # pub struct NewOrder<'a> { pub status: &'a str }
//! use diesel_async::RunQueryDsl;
//! use history_diesel::asynchronous::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut conn = SyncConnectionWrapper::<SqliteConnection>::establish(":memory:").await?;
//! # conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL);").await?;
//! # conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up).await?;
//! let ctx = HistoryContext::new().user(7);
//! let mut order = Order::create_with_history(&mut conn, &NewOrder { status: "new" }, &ctx).await?;
//! order.status = "paid".into();
//! order.save_with_history(&mut conn, &ctx).await?;
//!
//! // The queries are the synchronous path's, run with diesel-async.
//! let records: Vec<HistoricalOrder> = order.history().load(&mut conn).await?;
//! assert_eq!(records.len(), 2);
//! let created = records[1].clone();
//! assert_eq!(created.next_record(&mut conn).await?.unwrap().status, "paid");
//! # Ok(())
//! # }
//! ```
//!
//! [diesel-async]: https://docs.rs/diesel-async

mod capture;
pub(crate) mod exec;
mod read;
mod write;

pub use self::capture::with_context;
pub use self::read::{ReadHistory, RecordNavigation};
pub use self::write::WriteWithHistory;

/// What an asynchronous program imports, as
/// `use history_diesel::asynchronous::prelude::*;` next to
/// `use diesel_async::RunQueryDsl;`: the asynchronous extension traits, the
/// ones without a connection that both paths share
/// ([`HistoryQueries`](crate::HistoryQueries),
/// [`DiffRecords`](crate::DiffRecords)), the derive, and the context.
pub mod prelude {
    pub use super::{ReadHistory, RecordNavigation, WriteWithHistory};
    pub use crate::{DiffRecords, HistoricalRecords, HistoryContext, HistoryQueries};
}
