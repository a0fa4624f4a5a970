//! Trigger capture (`#[history(capture = trigger)]`): the database writes
//! every record, for every client, and [`with_context`] hands the triggers
//! the user, reason, date and where-from of your own writes.
//!
//! The write helpers of [`WriteWithHistory`](crate::WriteWithHistory) do
//! the same for a model in trigger capture: they set the context once, send
//! the plain write, and the triggers record it. Any other statement inside
//! [`with_context`] (plain Diesel, `sql_query`) is recorded with that
//! context; any statement outside it, and any other program, is recorded
//! without one (no user), or refused where the model has
//! `#[history(require_user)]`.
//!
//! The items of `history_core::capture` (the context's keys, the refusal's
//! message) are here too.

use std::fmt::Display;

use diesel::connection::LoadConnection;

pub use history_core::capture::*;

use crate::backend::captured::{self, ContextBackend};
use crate::context::HistoryContext;
use crate::error::HistoryError;
use crate::exec::{block, Blocking};

/// Runs `body` in a transaction (a savepoint inside yours) whose writes the
/// capture triggers record with `ctx`: its user (or the one in
/// [scope](HistoryContext::scope)), reason, date and where-from.
///
/// The context is set once, before `body`, and is gone when the
/// transaction ends, however it ends: a local setting on PostgreSQL, session
/// variables cleared afterwards on MySQL, a row deleted before the commit on
/// SQLite. A pooled connection never hands it to its next user. Inside a
/// transaction of yours that has a context already, that context is back
/// once `body` returns. An error of `body`'s rolls the transaction back.
///
/// ```
/// # use diesel::{connection::SimpleConnection, prelude::*};
/// # use history_diesel::{Dialect, HistoricalRecords, HistoryType};
/// # diesel::table! { orders (id) { id -> Integer, status -> Text } }
/// #[derive(Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
/// #[diesel(table_name = orders)]
/// #[history(capture = trigger)]
/// pub struct Order { pub id: i32, pub status: String }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use history_diesel::prelude::*;
/// let mut conn = SqliteConnection::establish(":memory:")?;
/// conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL);")?;
/// // The migration installs the triggers beside the history table.
/// conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
///
/// // Plain Diesel, recorded with the context.
/// let ctx = HistoryContext::new().user(7).reason("data fix");
/// history_diesel::with_context(&mut conn, &ctx, |conn| {
///     diesel::insert_into(orders::table)
///         .values((orders::id.eq(1), orders::status.eq("new")))
///         .execute(conn)?;
///     diesel::update(orders::table).set(orders::status.eq("paid")).execute(conn)?;
///     Ok::<_, history_diesel::HistoryError>(())
/// })?;
/// // A write outside it is recorded too, without a user.
/// diesel::delete(orders::table).execute(&mut conn)?;
///
/// let records: Vec<(String, HistoryType, Option<i64>)> = historical_orders::table
///     .order(historical_orders::history_id)
///     .select((historical_orders::status, historical_orders::history_type, historical_orders::history_user_id))
///     .load(&mut conn)?;
/// assert_eq!(records, [
///     ("new".to_owned(), HistoryType::Created, Some(7)),
///     ("paid".to_owned(), HistoryType::Changed, Some(7)),
///     ("paid".to_owned(), HistoryType::Deleted, None),
/// ]);
/// # Ok(())
/// # }
/// ```
pub fn with_context<C, U, T, E, F>(conn: &mut C, ctx: &HistoryContext<U>, body: F) -> Result<T, E>
where
    C: LoadConnection,
    C::Backend: ContextBackend,
    U: Display + Clone + Send + Sync + 'static,
    F: FnOnce(&mut C) -> Result<T, E>,
    E: From<HistoryError>,
{
    let values = captured::values_of_context(ctx);
    // `body`'s own error is kept aside and returned as it is; the sequence
    // sees a rollback.
    let mut failure = None;
    let outcome = block(captured::in_context(
        &mut Blocking(conn),
        &values,
        true,
        async |exec: &mut Blocking<'_, C>| captured::keep_failure(body(exec.0), &mut failure),
    ));
    captured::body_outcome(outcome, failure)
}
