//! [`with_context`] on diesel-async connections: the context of trigger
//! capture for the statements of an async closure.

use std::fmt::Display;

use diesel_async::AsyncConnection;

use super::exec::Awaiting;
use crate::backend::captured::{self, ContextBackend};
use crate::context::HistoryContext;
use crate::error::HistoryError;

/// [`crate::with_context`] for diesel-async connections: runs `body` in a
/// transaction (a savepoint inside yours) whose writes the capture triggers
/// record with `ctx`, and removes the context however it ends.
///
/// ```
/// # use diesel::prelude::*;
/// # use diesel::sqlite::SqliteConnection;
/// # use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
/// # use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
/// # use history_diesel::{Dialect, HistoricalRecords, HistoryContext, HistoryError};
/// # diesel::table! { orders (id) { id -> Integer, status -> Text } }
/// #[derive(Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
/// #[diesel(table_name = orders)]
/// #[history(capture = trigger)]
/// pub struct Order { pub id: i32, pub status: String }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut conn = SyncConnectionWrapper::<SqliteConnection>::establish(":memory:").await?;
/// conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL);").await?;
/// conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up).await?;
///
/// let ctx = HistoryContext::new().user(7);
/// history_diesel::asynchronous::with_context(&mut conn, &ctx, async |conn| {
///     diesel::insert_into(orders::table)
///         .values((orders::id.eq(1), orders::status.eq("new")))
///         .execute(conn)
///         .await?;
///     Ok::<_, HistoryError>(())
/// })
/// .await?;
/// let users: Vec<Option<i64>> = historical_orders::table
///     .select(historical_orders::history_user_id)
///     .load(&mut conn)
///     .await?;
/// assert_eq!(users, [Some(7)]);
/// # Ok(())
/// # }
/// ```
pub async fn with_context<C, U, T, E>(
    conn: &mut C,
    ctx: &HistoryContext<U>,
    body: impl AsyncFnOnce(&mut C) -> Result<T, E>,
) -> Result<T, E>
where
    C: AsyncConnection,
    C::Backend: ContextBackend,
    U: Display + Clone + Send + Sync + 'static,
    E: From<HistoryError>,
{
    let values = captured::values_of_context(ctx);
    // As the blocking twin: `body`'s own error is returned as it is.
    let mut failure = None;
    let outcome = captured::in_context(
        &mut Awaiting(conn),
        &values,
        true,
        async |exec: &mut Awaiting<'_, C>| captured::keep_failure(body(exec.0).await, &mut failure),
    )
    .await;
    captured::body_outcome(outcome, failure)
}
