//! Writing with history: every create, update and delete records its history
//! in the same transaction, built from what the database holds afterwards
//! (before, for a delete). What each call costs per backend is documented on
//! [`WriteWithHistory`]; the statements themselves are each backend's
//! sequence (`crate::backend`).

mod plan;
mod restore;

pub(crate) use self::plan::*;
pub(crate) use self::restore::{restore, update_change_reason};

use diesel::connection::LoadConnection;
use diesel::expression::{AppearsOnTable, Expression};
use diesel::query_builder::{AsChangeset, QueryFragment};
use diesel::sql_types::BoolOrNullableBool;
use diesel::Insertable;

use crate::backend::{InsertRows, KeysOnly, Returning, WholeRows, WriteBackend};
use crate::context::{HistoryContext, RowContexts};
use crate::error::HistoryError;
use crate::exec::{block, Blocking};
use crate::{HistoricalRecords, UserIdOf};

/// Options of the bulk writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOptions {
    /// Rows per statement, at most: a batch whose binds would pass the
    /// backend's limit on one statement (65,535 on PostgreSQL and MySQL,
    /// SQLite's `SQLITE_MAX_VARIABLE_NUMBER`, 32,766 by default) is cut to
    /// the rows that fit.
    pub batch_size: usize,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions { batch_size: 500 }
    }
}

/// Writes with history, for every model with `#[derive(HistoricalRecords)]`.
///
/// Each call is atomic (one statement, or one transaction; a savepoint inside
/// yours): the data write and its history are kept together or not at all.
/// On diesel-async connections (feature `async`), the same methods, `async`,
/// are `history_diesel::asynchronous::WriteWithHistory`'s, with the same
/// statements.
///
/// What each backend costs, per call (`k` = key chunks of [`KEY_CHUNK`](crate::KEY_CHUNK)
/// rows; `b` = batches; round trips on PostgreSQL and MySQL):
///
/// | write | PostgreSQL | SQLite | MySQL |
/// |---|---|---|---|
/// | create one row | 1 statement (CTE), no BEGIN/COMMIT | `INSERT .. RETURNING`, history, in a transaction | key left to `AUTO_INCREMENT`: `SELECT LAST_INSERT_ID(0), ..`, `INSERT`, `SELECT`, history; key bound: `INSERT`, `SELECT`, history; in a transaction |
/// | update or delete by key or filter | 1 statement (CTE), no BEGIN/COMMIT | update: `UPDATE .. RETURNING key`, history; delete: history, `DELETE` | `SELECT key .. FOR UPDATE`, `UPDATE`/`DELETE`, history; `save_with_history`: `UPDATE`, history |
/// | bulk create | 1 CTE per batch, its rows bound as one array per column (`unnest`; the same prepared statement for every batch size) where every row binds every column, else a `VALUES` list | one `INSERT .. RETURNING` per run of rows that name the same columns + 1 history per batch: 2 per batch when the rows all give (or all leave out) the same fields (see [`InsertRows`]) | 4 per batch (3 with bound keys) |
/// | bulk update | key check `FOR UPDATE`, multi-row upsert, history per batch | the same (no `FOR UPDATE`) | the same |
/// | restore | lock and read the live row, then as bulk update of one row (or insert and its record, for an undelete) | the same (no lock) | the same |
///
/// A statement-per-write call runs without a transaction of its own when it
/// is alone (it is atomic by itself); inside a caller's transaction, or with
/// an after-record hook, it takes a savepoint or transaction as every other
/// write does. Per-row contexts add one history statement per distinct
/// context (the PostgreSQL CTE serves one shared context).
///
/// A bulk batch is cut to the rows whose binds one statement may carry (see
/// [`BulkOptions::batch_size`]); on SQLite the first bulk write of a process
/// reads that limit from the compile options, one statement more.
///
/// On MySQL every `.. FOR UPDATE` above is prepared afresh (one round trip
/// more, about 0.09 ms on loopback) rather than reused from Diesel's statement
/// cache, so that a deadlock victim can retry on the same connection.
///
/// ```
/// # use diesel::{connection::SimpleConnection, prelude::*};
/// # use history_diesel::{Dialect, HistoricalRecords};
/// # diesel::table! { orders (id) { id -> Integer, status -> Text, total -> Double } }
/// # #[derive(Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
/// # #[diesel(table_name = orders)]
/// # pub struct Order { pub id: i32, pub status: String, pub total: f64 }
/// # #[derive(Insertable)]
/// # #[diesel(table_name = orders)]
/// # pub struct NewOrder<'a> { pub status: &'a str, pub total: f64 }
/// use history_diesel::prelude::*;
/// use history_diesel::{BulkOptions, HistoryError, HistoryType};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut conn = SqliteConnection::establish(":memory:")?;
/// # conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL);")?;
/// # conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
/// let ctx = HistoryContext::new().user(7).reason("import");
/// let new = [NewOrder { status: "new", total: 10.0 }, NewOrder { status: "new", total: 20.0 }];
/// let orders = Order::bulk_create_with_history(&mut conn, &new, &ctx, BulkOptions::default())?;
///
/// // An update by filter records every row it touched, with the values the
/// // database computed.
/// let touched = Order::update_where_with_history(
///     &mut conn,
///     orders::status.eq("new"),
///     orders::total.eq(orders::total * 2.0),
///     &HistoryContext::new().user(8),
/// )?;
/// assert_eq!(touched, 2);
/// let totals: Vec<f64> = historical_orders::table
///     .filter(historical_orders::history_type.eq(HistoryType::Changed))
///     .order(historical_orders::id)
///     .select(historical_orders::total)
///     .load(&mut conn)?;
/// assert_eq!(totals, [20.0, 40.0]);
///
/// // A context that demands a user refuses the write, and nothing is kept.
/// let strict = HistoryContext::new().require_user();
/// let err = orders[0].delete_with_history(&mut conn, &strict).unwrap_err();
/// assert!(matches!(err, HistoryError::UserRequired { .. }));
/// assert_eq!(orders::table.count().get_result::<i64>(&mut conn)?, 2);
/// # Ok(())
/// # }
/// ```
pub trait WriteWithHistory: HistoricalRecords {
    /// Inserts one row and records a `+`. Returns the row as stored, with
    /// database defaults filled in.
    ///
    /// MySQL reports no keys of inserted rows, so there the key must be
    /// bound by `new` or left to `AUTO_INCREMENT` (a key given as an SQL
    /// expression is [`HistoryError::UnknownKeys`], before anything is
    /// written); the row is read back by it.
    fn create_with_history<C, N>(
        conn: &mut C,
        new: N,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<Self, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        N: Insertable<Self::Table>,
        N::Values: QueryFragment<C::Backend>,
    {
        block(create(&mut Blocking(conn), new, ctx))
    }

    /// Inserts many rows, `batch_size` per statement, and records a `+` for
    /// each; all in one transaction. A key that repeats or already exists
    /// fails the whole call with [`HistoryError::KeyExists`], per-row
    /// contexts that are not one per row with [`HistoryError::ContextCount`]
    /// (before any statement); either way nothing is written.
    ///
    /// On MySQL the rows of one statement either all bind their keys or all
    /// leave them to `AUTO_INCREMENT`, whose values one statement takes in
    /// steps of `auto_increment_increment`; a mix is
    /// [`HistoryError::UnknownKeys`] before anything is written. Under
    /// `innodb_autoinc_lock_mode = 2` (interleaved, MySQL 8's default), where
    /// the values of a multi-row insert need not be consecutive, rows whose
    /// keys are generated are inserted one per statement (each read back by
    /// its own `LAST_INSERT_ID()`), with one history statement per batch.
    fn bulk_create_with_history<'r, C, N, R>(
        conn: &mut C,
        rows: &'r [N],
        contexts: &R,
        options: BulkOptions,
    ) -> Result<Vec<Self>, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        N: InsertRows<'r, Self, C::Backend>,
        R: RowContexts<UserIdOf<Self>> + ?Sized,
    {
        block(bulk_create_rows::<Self, C, N, R, WholeRows>(
            conn, rows, contexts, options,
        ))
    }

    /// As [`bulk_create_with_history`](Self::bulk_create_with_history), but
    /// reads back only the keys of the rows, in input order: the call for a
    /// caller who does not need the rows, which then do not travel back
    /// (on PostgreSQL the insert and its records stay one statement, which
    /// returns one key per row; SQLite returns the keys from the insert;
    /// MySQL reads them back by key instead of reading every column).
    ///
    /// ```
    /// # use diesel::{connection::SimpleConnection, prelude::*};
    /// # use history_diesel::{Dialect, HistoricalRecords};
    /// # diesel::table! { orders (id) { id -> Integer, status -> Text, total -> Double } }
    /// # #[derive(Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
    /// # #[diesel(table_name = orders)]
    /// # pub struct Order { pub id: i32, pub status: String, pub total: f64 }
    /// # #[derive(Insertable)]
    /// # #[diesel(table_name = orders)]
    /// # pub struct NewOrder<'a> { pub status: &'a str, pub total: f64 }
    /// use history_diesel::prelude::*;
    /// use history_diesel::BulkOptions;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mut conn = SqliteConnection::establish(":memory:")?;
    /// # conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL);")?;
    /// # conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
    /// let new: Vec<NewOrder> = (0..3).map(|i| NewOrder { status: "new", total: f64::from(i) }).collect();
    /// let ctx = HistoryContext::new().user(7).reason("import");
    /// let ids = Order::bulk_create_keys_with_history(&mut conn, &new, &ctx, BulkOptions::default())?;
    /// assert_eq!(ids, [1, 2, 3]);
    /// assert_eq!(historical_orders::table.count().get_result::<i64>(&mut conn)?, 3);
    /// # Ok(())
    /// # }
    /// ```
    fn bulk_create_keys_with_history<'r, C, N, R>(
        conn: &mut C,
        rows: &'r [N],
        contexts: &R,
        options: BulkOptions,
    ) -> Result<Vec<Self::Id>, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        N: InsertRows<'r, Self, C::Backend>,
        R: RowContexts<UserIdOf<Self>> + ?Sized,
    {
        block(bulk_create_rows::<Self, C, N, R, KeysOnly>(
            conn, rows, contexts, options,
        ))
    }

    /// Writes many existing rows whole, `batch_size` per statement, and
    /// records a `~` for each; all in one transaction. Each batch is one
    /// multi-row upsert of rows that are locked and checked to exist first,
    /// with every field of the model (tracked or not). A key given twice is
    /// [`HistoryError::DuplicateKey`] and contexts that are not one per row
    /// [`HistoryError::ContextCount`] (both before any statement), a missing
    /// row [`HistoryError::NotFound`]; either way nothing is written.
    /// Returns the number of rows.
    fn bulk_update_with_history<C, R>(
        conn: &mut C,
        rows: &[Self],
        contexts: &R,
        options: BulkOptions,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        Self: crate::__private::RowValues<C::Backend>,
        Self::Id: Eq + std::hash::Hash,
        R: RowContexts<UserIdOf<Self>> + ?Sized,
    {
        block(bulk_update(&mut Blocking(conn), rows, contexts, options))
    }

    /// Saves this row's changes (its `AsChangeset`) and records a `~`.
    /// [`HistoryError::NotFound`] when the row does not exist.
    fn save_with_history<C>(
        &self,
        conn: &mut C,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<(), HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        for<'a> &'a Self: AsChangeset<Target = Self::Table>,
        for<'a> <&'a Self as AsChangeset>::Changeset: QueryFragment<C::Backend>,
    {
        block(save::<Self, _, _, _>(
            &mut Blocking(conn),
            self.history_key(),
            self.as_changeset(),
            ctx,
        ))
    }

    /// Deletes this row and records a `-` with its last values.
    /// [`HistoryError::NotFound`] when the row does not exist.
    fn delete_with_history<C>(
        &self,
        conn: &mut C,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<(), HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
    {
        block(delete::<Self, _, _>(
            &mut Blocking(conn),
            self.history_key(),
            ctx,
        ))
    }

    /// Updates every row `filter` selects with `changes` and records a `~`
    /// for each, with the values after the update. Returns how many rows
    /// changed. Rows are captured by the statement that changes them (or
    /// locked first, on MySQL), so concurrent writers neither hide a row nor
    /// get one recorded twice. The filter's counterpart of
    /// [`save_with_history`](Self::save_with_history), as
    /// [`delete_where_with_history`](Self::delete_where_with_history) is of
    /// [`delete_with_history`](Self::delete_with_history).
    fn update_where_with_history<C, W, V>(
        conn: &mut C,
        filter: W,
        changes: V,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        W: Expression + AppearsOnTable<Self::Table> + QueryFragment<C::Backend>,
        W::SqlType: BoolOrNullableBool,
        V: AsChangeset<Target = Self::Table>,
        V::Changeset: QueryFragment<C::Backend>,
    {
        block(update_where::<Self, C::Backend, _, _, _>(
            &mut Blocking(conn),
            filter,
            changes.as_changeset(),
            ctx,
        ))
    }

    /// Deletes every row `filter` selects and records a `-` for each, with
    /// the values before the delete. Returns how many rows were deleted.
    fn delete_where_with_history<C, W>(
        conn: &mut C,
        filter: W,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<usize, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        W: Expression + AppearsOnTable<Self::Table> + QueryFragment<C::Backend>,
        W::SqlType: BoolOrNullableBool,
    {
        block(delete_where::<Self, C::Backend, _, _>(
            &mut Blocking(conn),
            filter,
            ctx,
        ))
    }

    /// Writes `record`'s version of its object back: a `~` record when the
    /// row exists, a `+` when it had been deleted (an undelete). Fields left
    /// out of history keep their live values (their `Default` on an
    /// undelete). Atomic; returns the model as written.
    ///
    /// Statements: read and lock the live row, then as
    /// [`bulk_update_with_history`](Self::bulk_update_with_history) of one
    /// row (3), or an insert and its record (2) for an undelete.
    fn restore_with_history<C>(
        conn: &mut C,
        record: &Self::Record,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<Self, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        Self: crate::__private::RowValues<C::Backend>,
    {
        block(restore(&mut Blocking(conn), record, None, ctx))
    }

    /// As [`restore_with_history`](Self::restore_with_history), but only
    /// when `latest` is still the object's newest record: a write since
    /// then fails with [`HistoryError::Stale`] and nothing is written.
    /// One statement more.
    fn restore_unless_changed<C>(
        conn: &mut C,
        record: &Self::Record,
        latest: &Self::Record,
        ctx: &HistoryContext<UserIdOf<Self>>,
    ) -> Result<Self, HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
        Self: crate::__private::RowValues<C::Backend>,
    {
        block(restore(&mut Blocking(conn), record, Some(latest), ctx))
    }

    /// Sets the change reason of the object's newest record, after the fact.
    /// [`HistoryError::NoRecords`] without records,
    /// [`HistoryError::ReasonTooLong`] over the column's limit (before any
    /// statement). Two statements, in a transaction.
    fn update_change_reason<C>(
        conn: &mut C,
        id: &Self::Id,
        reason: &str,
    ) -> Result<(), HistoryError>
    where
        C: LoadConnection,
        C::Backend: WriteBackend<Self>,
    {
        block(update_change_reason::<Self, _>(
            &mut Blocking(conn),
            id,
            reason,
        ))
    }
}

impl<M: HistoricalRecords> WriteWithHistory for M {}

/// The bulk creates of [`WriteWithHistory`] on a synchronous connection,
/// reading back what `Out` reads of each row.
async fn bulk_create_rows<'r, M, C, N, R, Out>(
    conn: &mut C,
    rows: &'r [N],
    contexts: &R,
    options: BulkOptions,
) -> Result<Vec<Out::Row>, HistoryError>
where
    M: HistoricalRecords,
    C: LoadConnection,
    C::Backend: WriteBackend<M>,
    N: InsertRows<'r, M, C::Backend>,
    R: RowContexts<UserIdOf<M>> + ?Sized,
    Out: Returning<M, C::Backend>,
{
    let binds = binds_per_row::<M, C::Backend, N>(rows)?;
    let statements = insert_batches::<M, C::Backend, N>(rows);
    let exec = &mut Blocking(conn);
    bulk_create::<M, C::Backend, Out, _, _, _>(
        exec,
        statements,
        rows.len(),
        binds,
        contexts,
        options,
    )
    .await
}
