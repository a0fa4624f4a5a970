//! Reading history back: an object's records, its state at any time, the
//! whole table at any time, neighbours of a record, and diffs. Each helper
//! documents the statements it sends; restoring an old version is a write
//! ([`WriteWithHistory`](crate::WriteWithHistory)).

mod diff;
pub(crate) mod plan;

use std::hash::Hash;

use chrono::{DateTime, Utc};
use diesel::connection::LoadConnection;
use diesel::query_dsl::methods::{FilterDsl, OrderDsl};

pub use self::diff::{Diff, DiffOptions, FieldChange};
use crate::backend::ReadBackend;
use crate::exec::{block, Blocking};
pub use crate::query::{NewestFirst, ObjectIs, StateAt};
use crate::{HistoricalRecords, HistoryError, HistoryRecord};

/// [`HistoryQueries::history`]: one object's records, newest first.
pub type HistoryQuery<M> = diesel::dsl::Order<
    diesel::dsl::Filter<<M as HistoricalRecords>::HistoryTable, ObjectIs<M>>,
    NewestFirst<M>,
>;

/// [`HistoryQueries::all_history`]: every record of a model, newest first.
pub type AllHistoryQuery<M> =
    diesel::dsl::Order<<M as HistoricalRecords>::HistoryTable, NewestFirst<M>>;

/// [`HistoryQueries::state_as_of`] and [`HistoryQueries::latest_records_as_of`]:
/// the latest record of each object at a time.
pub type StateQuery<M> = diesel::dsl::Filter<<M as HistoricalRecords>::HistoryTable, StateAt<M>>;

/// The history of a model as Diesel queries, for every model with
/// `#[derive(HistoricalRecords)]`: no connection, no statement until you run
/// one (with `diesel::RunQueryDsl` or `diesel_async::RunQueryDsl`), so the
/// synchronous and the asynchronous preludes share it.
pub trait HistoryQueries: HistoricalRecords {
    /// This object's records, newest first: a Diesel query to filter,
    /// paginate and load (`.load::<HistoricalOrder>(&mut conn)`).
    fn history(&self) -> HistoryQuery<Self>
    where
        Self::HistoryTable: FilterDsl<ObjectIs<Self>>,
        diesel::dsl::Filter<Self::HistoryTable, ObjectIs<Self>>: OrderDsl<NewestFirst<Self>>,
    {
        Self::history_of(self.history_key())
    }

    /// The records of the object with key `id`, newest first (it may have
    /// been deleted since).
    fn history_of(id: Self::Id) -> HistoryQuery<Self>
    where
        Self::HistoryTable: FilterDsl<ObjectIs<Self>>,
        diesel::dsl::Filter<Self::HistoryTable, ObjectIs<Self>>: OrderDsl<NewestFirst<Self>>,
    {
        let filtered = FilterDsl::filter(Self::HistoryTable::default(), ObjectIs::new(id));
        OrderDsl::order(filtered, NewestFirst::new())
    }

    /// Every record of this model, newest first; filter it by user, date
    /// range or history type with the history table's columns. The query is
    /// ordered, so count records on the history table itself
    /// (`historical_orders::table.filter(..).count()`): PostgreSQL refuses
    /// `count()` over an `ORDER BY`.
    fn all_history() -> AllHistoryQuery<Self>
    where
        Self::HistoryTable: OrderDsl<NewestFirst<Self>>,
    {
        OrderDsl::order(Self::HistoryTable::default(), NewestFirst::new())
    }

    /// The state of every object at `at`: the latest record of each up to
    /// `at`, without the objects deleted by then. A Diesel query of records
    /// (one statement) to filter further and load; turn the records into
    /// models with [`models_from_records`](ReadHistory::models_from_records).
    fn state_as_of(at: DateTime<Utc>) -> StateQuery<Self>
    where
        Self::HistoryTable: FilterDsl<StateAt<Self>>,
    {
        FilterDsl::filter(Self::HistoryTable::default(), StateAt::new(at, true))
    }

    /// The latest record of every object up to `at`, deletions included.
    fn latest_records_as_of(at: DateTime<Utc>) -> StateQuery<Self>
    where
        Self::HistoryTable: FilterDsl<StateAt<Self>>,
    {
        FilterDsl::filter(Self::HistoryTable::default(), StateAt::new(at, false))
    }
}

impl<M: HistoricalRecords> HistoryQueries for M {}

/// Reads the history of a model, for every model with
/// `#[derive(HistoricalRecords)]`.
///
/// On diesel-async connections (feature `async`), the same methods, `async`,
/// are `history_diesel::asynchronous::ReadHistory`'s.
///
/// Records are always ordered by (`history_date`, `history_id`): two
/// records with the same date are told apart by their id, so every question
/// has one answer. Times are inclusive and kept to the microsecond.
///
/// Statements per call: `record_as_of`, `latest` and `earliest` are one
/// each (the queries to run yourself are on [`HistoryQueries`]). Reads that
/// return models (`as_of`, `most_recent`, `all_as_of`,
/// `models_from_records`) add one read of the live rows per 1000 keys when
/// the model leaves fields out of history, to fill those fields. Restoring
/// a record and changing its reason are writes, on
/// [`WriteWithHistory`](crate::WriteWithHistory).
///
/// ```
/// # use diesel::{connection::SimpleConnection, prelude::*};
/// # use history_diesel::{Dialect, HistoricalRecords};
/// # diesel::table! { orders (id) { id -> Integer, status -> Text } }
/// # #[derive(Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
/// # #[diesel(table_name = orders)]
/// # pub struct Order { pub id: i32, pub status: String }
/// # #[derive(Insertable)]
/// # #[diesel(table_name = orders)]
/// # pub struct NewOrder<'a> { pub status: &'a str }
/// use history_diesel::prelude::*;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut conn = SqliteConnection::establish(":memory:")?;
/// # conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL);")?;
/// # conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
/// let ctx = HistoryContext::new().user(7);
/// let mut order = Order::create_with_history(&mut conn, &NewOrder { status: "new" }, &ctx)?;
/// let created = history_diesel::chrono::Utc::now();
/// order.status = "shipped".into();
/// order.save_with_history(&mut conn, &ctx.clone().reason("courier came"))?;
///
/// // The records, newest first, as a Diesel query you can filter further.
/// let records: Vec<HistoricalOrder> = order.history().load(&mut conn)?;
/// assert_eq!(records.len(), 2);
/// assert_eq!(records[0].history_change_reason.as_deref(), Some("courier came"));
///
/// // The order as it was, and what changed since.
/// assert_eq!(Order::as_of(&mut conn, &order.id, created)?.status, "new");
/// let older = records[0].prev_record(&mut conn)?.expect("the creation");
/// assert_eq!(records[0].diff_against(&older)?.changed_fields(), ["status"]);
/// # Ok(())
/// # }
/// ```
pub trait ReadHistory: HistoricalRecords {
    /// The latest record of the object `id` at `at` (inclusive), a deletion
    /// included. [`HistoryError::NotCreatedYet`] when it has no record by
    /// then. One statement.
    fn record_as_of<C>(
        conn: &mut C,
        id: &Self::Id,
        at: DateTime<Utc>,
    ) -> Result<Self::Record, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self>,
    {
        block(plan::record_as_of(&mut Blocking(conn), id, at))
    }

    /// The object `id` as it was at `at` (inclusive).
    /// [`HistoryError::NotCreatedYet`] before its first record,
    /// [`HistoryError::Deleted`] when its latest record by then is a
    /// deletion. Fields left out of history come from the live row (their
    /// `Default` when it is gone). One statement, two when the model leaves
    /// fields out.
    ///
    /// ```
    /// # use diesel::{connection::SimpleConnection, prelude::*};
    /// # use history_diesel::{Dialect, HistoricalRecords};
    /// # diesel::table! { orders (id) { id -> Integer, status -> Text } }
    /// # #[derive(Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords)]
    /// # #[diesel(table_name = orders)]
    /// # pub struct Order { pub id: i32, pub status: String }
    /// # #[derive(Insertable)]
    /// # #[diesel(table_name = orders)]
    /// # pub struct NewOrder<'a> { pub status: &'a str }
    /// use history_diesel::chrono::{Duration, SubsecRound, Utc};
    /// use history_diesel::prelude::*;
    /// use history_diesel::HistoryError;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mut conn = SqliteConnection::establish(":memory:")?;
    /// # conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL);")?;
    /// # conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
    /// // History dates keep microseconds; explicit ones lie in the past.
    /// let start = Utc::now().trunc_subsecs(6) - Duration::days(1);
    /// let ctx = |at| HistoryContext::new().at(at);
    /// let order = Order::create_with_history(&mut conn, &NewOrder { status: "new" }, &ctx(start))?;
    /// order.delete_with_history(&mut conn, &ctx(start + Duration::hours(2)))?;
    ///
    /// let an_hour_in = start + Duration::hours(1);
    /// assert_eq!(Order::as_of(&mut conn, &order.id, an_hour_in)?.status, "new");
    /// let before = Order::as_of(&mut conn, &order.id, start - Duration::seconds(1));
    /// assert!(matches!(before, Err(HistoryError::NotCreatedYet { .. })));
    /// let after = Order::as_of(&mut conn, &order.id, start + Duration::hours(3));
    /// assert!(matches!(after, Err(HistoryError::Deleted { deleted_at, .. })
    ///     if deleted_at == start + Duration::hours(2)));
    /// # Ok(())
    /// # }
    /// ```
    fn as_of<C>(conn: &mut C, id: &Self::Id, at: DateTime<Utc>) -> Result<Self, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self>,
        Self::Id: Eq + Hash,
    {
        block(plan::as_of(&mut Blocking(conn), id, at))
    }

    /// Every object as it was at `at`, as models: [`state_as_of`](HistoryQueries::state_as_of)
    /// loaded and converted. One statement (plus the live rows of left-out
    /// fields).
    fn all_as_of<C>(conn: &mut C, at: DateTime<Utc>) -> Result<Vec<Self>, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self>,
        Self::Id: Eq + Hash,
    {
        block(plan::all_as_of(&mut Blocking(conn), at))
    }

    /// Models built from records ([`HistoryRecord::to_model`]), with the
    /// fields history leaves out read from the live rows: no statement when
    /// the model tracks every field, else one per 1000 keys.
    fn models_from_records<C>(
        conn: &mut C,
        records: Vec<Self::Record>,
    ) -> Result<Vec<Self>, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self>,
        Self::Id: Eq + Hash,
    {
        block(plan::models_from_records(&mut Blocking(conn), records))
    }

    /// The newest record of the object `id`. [`HistoryError::NoRecords`]
    /// when it has none. One statement.
    fn latest<C>(conn: &mut C, id: &Self::Id) -> Result<Self::Record, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self>,
    {
        block(plan::end_record::<Self, _, _>(
            &mut Blocking(conn),
            id,
            true,
        ))
    }

    /// The oldest record of the object `id`. [`HistoryError::NoRecords`]
    /// when it has none. One statement.
    fn earliest<C>(conn: &mut C, id: &Self::Id) -> Result<Self::Record, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self>,
    {
        block(plan::end_record::<Self, _, _>(
            &mut Blocking(conn),
            id,
            false,
        ))
    }

    /// The object `id` as its newest record has it.
    /// [`HistoryError::NoRecords`] without records, [`HistoryError::Deleted`]
    /// when the newest is a deletion. As [`as_of`](Self::as_of) for now.
    fn most_recent<C>(conn: &mut C, id: &Self::Id) -> Result<Self, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self>,
        Self::Id: Eq + Hash,
    {
        block(plan::most_recent(&mut Blocking(conn), id))
    }
}

impl<M: HistoricalRecords> ReadHistory for M {}

/// Walks from a record to its neighbours, for every generated
/// `Historical<Model>` struct. Each step is one statement; comparing two
/// records is [`DiffRecords`].
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
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut conn = SqliteConnection::establish(":memory:")?;
/// # conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL);")?;
/// # conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
/// let ctx = HistoryContext::new();
/// let new = NewOrder { status: "new", total: 10.0 };
/// let mut order = Order::create_with_history(&mut conn, &new, &ctx)?;
/// order.status = "paid".into();
/// order.total = 12.5;
/// order.save_with_history(&mut conn, &ctx)?;
///
/// let latest = Order::latest(&mut conn, &order.id)?;
/// let first = latest.prev_record(&mut conn)?.expect("the creation");
/// assert!(first.prev_record(&mut conn)?.is_none());
/// assert_eq!(first.next_record(&mut conn)?.map(|r| r.history_id), Some(latest.history_id));
/// # Ok(())
/// # }
/// ```
pub trait RecordNavigation: HistoryRecord {
    /// The object's record just before this one, `None` for the first.
    /// Records with the same date are ordered by `history_id`. One statement.
    fn prev_record<C>(&self, conn: &mut C) -> Result<Option<Self>, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self::Model>,
    {
        block(plan::neighbour(&mut Blocking(conn), self, true))
    }

    /// The object's record just after this one, `None` for the last.
    /// Records with the same date are ordered by `history_id`. One statement.
    fn next_record<C>(&self, conn: &mut C) -> Result<Option<Self>, HistoryError>
    where
        C: LoadConnection,
        C::Backend: ReadBackend<Self::Model>,
    {
        block(plan::neighbour(&mut Blocking(conn), self, false))
    }
}

impl<R: HistoryRecord> RecordNavigation for R {}

/// Compares two records of a model, for every generated `Historical<Model>`
/// struct. No statement: the records hold every tracked value.
///
/// A diff's values are the generated `Historical<Model>Value` enum, one
/// variant per tracked field, so a change can be matched on with its type.
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
/// use history_diesel::{DiffOptions, HistoryError};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut conn = SqliteConnection::establish(":memory:")?;
/// # conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL, total DOUBLE NOT NULL);")?;
/// # conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
/// let ctx = HistoryContext::new();
/// let new = NewOrder { status: "new", total: 10.0 };
/// let mut order = Order::create_with_history(&mut conn, &new, &ctx)?;
/// order.status = "paid".into();
/// order.total = 12.5;
/// order.save_with_history(&mut conn, &ctx)?;
/// let latest = Order::latest(&mut conn, &order.id)?;
/// let first = Order::earliest(&mut conn, &order.id)?;
///
/// let diff = latest.diff_against(&first)?;
/// assert_eq!(diff.changed_fields(), ["status", "total"]);
/// assert_eq!(diff.changes[1].new, HistoricalOrderValue::Total(12.5));
///
/// let only_total = latest.diff_against_with(&first, &DiffOptions::new().include(&["total"]))?;
/// assert_eq!(only_total.changed_fields(), ["total"]);
/// let unknown = latest.diff_against_with(&first, &DiffOptions::new().exclude(&["colour"]));
/// assert!(matches!(unknown, Err(HistoryError::UnknownField { .. })));
/// # Ok(())
/// # }
/// ```
pub trait DiffRecords: HistoryRecord {
    /// What changed from `older` to this record: every tracked field whose
    /// value differs, sorted by name. No statement.
    fn diff_against(&self, older: &Self) -> Result<Diff<Self::Value>, HistoryError> {
        diff::diff(self, older, &DiffOptions::new())
    }

    /// As [`diff_against`](Self::diff_against), over the fields `options`
    /// selects; a field name history does not track is
    /// [`HistoryError::UnknownField`].
    fn diff_against_with(
        &self,
        older: &Self,
        options: &DiffOptions<'_>,
    ) -> Result<Diff<Self::Value>, HistoryError> {
        diff::diff(self, older, options)
    }
}

impl<R: HistoryRecord> DiffRecords for R {}
