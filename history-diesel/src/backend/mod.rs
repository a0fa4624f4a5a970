//! Backends: what each database is told, in which order.
//!
//! Three layers, one rule each:
//! - *words* — a backend's spelling of one phrase is a method of
//!   [`Dialect`] (history-core);
//! - *grammar* — every statement is a node of `crate::query`, which reads
//!   the dialect for words and never chooses what to send;
//! - *sequences* — which statements a write sends, in which order and
//!   transaction, is one file per backend here (`sqlite.rs`, `postgres.rs`,
//!   `mysql.rs`), each an impl of [`WriteBackend`]. No other file branches on
//!   the backend; a sequence two backends share is one generic function in
//!   `shared.rs` that both call.
//!
//! A sequence is an `async fn` over an executor (see `crate::exec`), so a
//! synchronous and an asynchronous connection run the same statements.

pub(crate) mod captured;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
pub(crate) mod shared;
#[cfg(feature = "sqlite")]
mod sqlite;
pub(crate) mod statements;

use chrono::{DateTime, Utc};
use diesel::query_builder::QueryFragment;

pub use self::statements::{KeysOnly, ModelStatements, Returning, WholeRows, KEY_CHUNK};
use crate::context::{HistoryContext, RowContexts};
use crate::error::HistoryError;
use crate::exec::Executor;
use crate::{HistoricalRecords, HistoryBackend, UserIdOf};

/// A Diesel backend that history of model `M` can be written to: its
/// sequence of statements for each write.
///
/// Implemented for SQLite, PostgreSQL and MySQL (with the matching feature)
/// for every model whose types they support, so the user-facing methods of
/// [`WriteWithHistory`](crate::WriteWithHistory) need one bound. Its items
/// are not public API.
#[allow(async_fn_in_trait)] // implemented inside the crate only
pub trait WriteBackend<M: HistoricalRecords>:
    ModelStatements<M> + captured::ContextBackend
{
    /// In trigger capture, whether a write sent alone carries its context in
    /// its own statement ([`ModelStatements::insert_in_context`]) rather than
    /// in a statement before it, in a transaction: PostgreSQL's settings can
    /// be made by the write itself.
    #[doc(hidden)]
    const CONTEXT_IN_WRITE: bool = false;

    /// Runs batches of insert statements (each with its row count) in one
    /// transaction and records a `+` for every row: by default each
    /// statement read back as [`insert_returning`](Self::insert_returning)
    /// does, then one history statement per batch. Returns what `Out` reads
    /// back of each row, in input order.
    #[doc(hidden)]
    async fn create<Out, E, V, R>(
        exec: &mut E,
        batches: Vec<Vec<(V, usize)>>,
        contexts: &R,
        now: DateTime<Utc>,
    ) -> Result<Vec<Out::Row>, HistoryError>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized,
    {
        let total = batches.iter().flatten().map(|(_, count)| count).sum();
        let metas = shared::metas::<M, Self, R>(contexts, 0, total, now)?;
        shared::create_then_record::<M, Self, Out, E, V>(exec, batches, &metas).await
    }

    /// Inserts the rows of `statements`, `batch` rows per statement, and
    /// records a `+` for each.
    #[doc(hidden)]
    async fn bulk_create<Out, E, S, R>(
        exec: &mut E,
        statements: S,
        batch: usize,
        contexts: &R,
        now: DateTime<Utc>,
    ) -> Result<Vec<Out::Row>, HistoryError>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        S: InsertBatches<Values: QueryFragment<Self>>,
        R: RowContexts<UserIdOf<M>> + ?Sized,
    {
        Self::create::<Out, _, _, _>(exec, statements.batches(batch, batch), contexts, now).await
    }

    /// Inserts one statement's `count` rows and reads back what `Out` reads
    /// of them as stored: by default with the insert's own `RETURNING`.
    #[doc(hidden)]
    async fn insert_returning<Out, E, V>(
        exec: &mut E,
        values: V,
        count: usize,
    ) -> Result<Vec<Out::Row>, HistoryError>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
    {
        let _ = count;
        shared::insert_returning::<M, Self, Out, E, V>(exec, values).await
    }

    /// Trigger capture: inserts one row in the context of `ctx` (the
    /// triggers record it) and reads it back as stored.
    #[doc(hidden)]
    async fn create_in_context<E, V>(
        exec: &mut E,
        values: V,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<M, HistoryError>
    where
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
    {
        captured::write::<M, Self, E, _, _>(exec, ctx, async |exec: &mut E| {
            let rows = Self::insert_returning::<WholeRows, _, _>(exec, values, 1).await?;
            captured::one_row::<M>(rows)
        })
        .await
    }

    /// Updates the rows `filter` selects and records a `~` for each.
    #[doc(hidden)]
    async fn update<E, W, Ch>(
        exec: &mut E,
        filter: W,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>;

    /// Updates one row by key and records a `~`.
    #[doc(hidden)]
    async fn update_key<E, Ch>(
        exec: &mut E,
        key: M::Id,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        Ch: QueryFragment<Self>,
    {
        let keys = [key];
        Self::update(exec, Self::keys(&keys), changes, ctx).await
    }

    /// Records a `-` for each row `filter` selects and deletes them.
    #[doc(hidden)]
    async fn delete<E, W>(
        exec: &mut E,
        filter: W,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>;

    /// Deletes one row by key, recording a `-`.
    #[doc(hidden)]
    async fn delete_key<E>(
        exec: &mut E,
        key: M::Id,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
    {
        let keys = [key];
        Self::delete(exec, Self::keys(&keys), ctx).await
    }

    /// Writes whole rows that exist (one upsert per statement) and records a
    /// `~` for each (rows `offset..` of the input, for their contexts);
    /// [`HistoryError::NotFound`] if any is missing.
    #[doc(hidden)]
    async fn bulk_update<E, R>(
        exec: &mut E,
        rows: &[M],
        contexts: &R,
        offset: usize,
        now: DateTime<Utc>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        M: crate::__private::RowValues<Self>,
        R: RowContexts<UserIdOf<M>> + ?Sized,
    {
        let metas = shared::metas::<M, Self, R>(contexts, offset, rows.len(), now)?;
        shared::bulk_update::<M, Self, E>(exec, rows, &metas).await
    }

    /// Inserts whole rows, keys included (an undelete), and records a `+`
    /// for each.
    #[doc(hidden)]
    async fn insert_whole<E>(
        exec: &mut E,
        rows: &[M],
        ctx: &HistoryContext<UserIdOf<M>>,
        now: DateTime<Utc>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        M: crate::__private::RowValues<Self>,
    {
        let metas = shared::metas::<M, Self, _>(ctx, 0, rows.len(), now)?;
        shared::insert_whole::<M, Self, E>(exec, rows, &metas).await
    }
}

/// A Diesel backend that history of model `M` can be read from.
/// Implemented for SQLite, PostgreSQL and MySQL for every model whose types
/// they support, so the methods of [`ReadHistory`](crate::ReadHistory) and
/// [`RecordNavigation`](crate::RecordNavigation) need one bound.
pub trait ReadBackend<M: HistoricalRecords>: ModelStatements<M> {}

impl<M: HistoricalRecords, DB: ModelStatements<M>> ReadBackend<M> for DB {}

/// Rows of a bulk insert of model `M`, and how a backend takes them: one
/// multi-row `VALUES` statement per batch on PostgreSQL and MySQL.
///
/// SQLite has no `DEFAULT` in `VALUES`: a row that leaves a field to its
/// default omits the column, as in Diesel itself. There a batch is one
/// multi-row statement per run of consecutive rows that name the same
/// columns, so rows that all give (or all leave out) the same fields take
/// one statement, through any connection type.
///
/// Implemented for every `Insertable` struct; a bound on the row type rather
/// than on a slice keeps type inference at call sites simple.
pub trait InsertRows<'r, M: HistoricalRecords, DB: diesel::backend::Backend>: Sized {
    /// The `VALUES` clause of one statement.
    type Values: QueryFragment<DB>;
    /// The statements inserting `rows`, each with its number of rows.
    fn statements(rows: &'r [Self]) -> Vec<(Self::Values, usize)>;
}

/// The insert statements of a bulk create's rows, each with its row count:
/// `statements(batch, per_statement)` cuts the rows into batches of `batch`
/// (one history statement each) and each batch into statements of at most
/// `per_statement` rows (fewer where [`InsertRows`] splits them).
///
/// A sequence takes this function rather than the rows themselves: its state
/// then holds the statements' own types, never a projection through the
/// user's `Insertable` impl, whose lifetimes the compiler cannot prove `Send`
/// for in an async state machine (rust-lang/rust#110338).
///
/// The values' type is this trait's own (not a second parameter beside the
/// function's) for the same reason: the compiler then reads it off the
/// function's signature rather than relating two types' lifetimes.
pub trait InsertBatches {
    /// The `VALUES` of one statement.
    type Values;
    /// The statements of batches of `batch` rows, at most `per_statement` rows each.
    fn batches(&self, batch: usize, per_statement: usize) -> Vec<Vec<(Self::Values, usize)>>;
}

impl<V, S: Fn(usize, usize) -> Vec<Vec<(V, usize)>>> InsertBatches for S {
    type Values = V;

    fn batches(&self, batch: usize, per_statement: usize) -> Vec<Vec<(V, usize)>> {
        self(batch, per_statement)
    }
}

/// The [`InsertBatches`] of `rows`.
pub(crate) fn insert_batches<'r, M, DB, N>(
    rows: &'r [N],
) -> impl Fn(usize, usize) -> Vec<Vec<(N::Values, usize)>> + 'r
where
    M: HistoricalRecords,
    DB: diesel::backend::Backend,
    N: InsertRows<'r, M, DB>,
{
    move |batch, per_statement| {
        rows.chunks(batch.max(1))
            .map(|chunk| {
                chunk
                    .chunks(per_statement.max(1))
                    .flat_map(N::statements)
                    .collect()
            })
            .collect()
    }
}

/// Diesel's own multi-row `VALUES` for a backend that has `DEFAULT`: one
/// statement for the whole batch.
#[allow(unused_macros)] // unused when only the sqlite feature is on
macro_rules! multi_row_insert {
    ($backend:ty) => {
        impl<'r, N: 'r, M: $crate::HistoricalRecords> $crate::backend::InsertRows<'r, M, $backend>
            for N
        where
            &'r [N]: diesel::Insertable<M::Table>,
            <&'r [N] as diesel::Insertable<M::Table>>::Values:
                diesel::query_builder::QueryFragment<$backend>,
        {
            type Values = <&'r [N] as diesel::Insertable<M::Table>>::Values;

            fn statements(rows: &'r [Self]) -> Vec<(Self::Values, usize)> {
                vec![(diesel::Insertable::values(rows), rows.len())]
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use multi_row_insert;

/// Bind parameters a statement of a bulk write carries besides its rows'
/// values: those of its history INSERT (PostgreSQL's CTE), the history date
/// (twice when it is bound), user and reason, and with
/// `#[history(request_info)]` client address, user agent and request id:
/// seven at most, with room to spare.
const OWN_BINDS: usize = 16;

/// Rows per statement of a bulk write: `batch_size`, cut so that the rows'
/// binds stay within what one statement on this connection may carry,
/// instead of failing with the database's own error.
pub(crate) async fn rows_per_statement<E>(
    exec: &mut E,
    batch_size: usize,
    binds_per_row: usize,
) -> Result<usize, HistoryError>
where
    E: Executor,
    E::Backend: HistoryBackend,
{
    let limit = <E::Backend as HistoryBackend>::bind_limit(exec).await?;
    let fit = (limit.saturating_sub(OWN_BINDS) / binds_per_row.max(1)).max(1);
    Ok(batch_size.clamp(1, fit))
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use std::marker::PhantomData;

    use diesel::sql_types::BigInt;
    use diesel::sqlite::Sqlite;

    use super::OWN_BINDS;
    use crate::context::HistoryMeta;
    use crate::query::{Fixed, RecordHistory, WithUserSqlType};
    use crate::{
        ChangeReasonColumn, ColumnSpec, ColumnType, HistoryIdKind, HistoryTableSpec, HistoryType,
        SqlKind,
    };

    const TICKETS: HistoryTableSpec = HistoryTableSpec {
        model: "Ticket",
        source_table: "tickets",
        source_schema: None,
        history_table: "historical_tickets",
        history_schema: None,
        primary_key: &["id"],
        columns: &[ColumnSpec {
            name: "id",
            ty: ColumnType::Kind(SqlKind::Integer),
            nullable: false,
            field: "id",
            default: None,
        }],
        history_id: HistoryIdKind::Integer,
        user_id: SqlKind::BigInt,
        change_reason: ChangeReasonColumn::Varchar(100),
        model_columns: &["id"],
        skip_unchanged: false,
        request_info: true,
        capture: crate::Capture::Client,
        require_user: false,
    };

    /// The most binds a history INSERT carries: a bound date (twice), user,
    /// reason and the three request columns, within what a bulk write keeps
    /// free of its rows' binds. The values are binds, not SQL text.
    #[test]
    fn a_record_statement_binds_its_context_within_own_binds() {
        let meta = HistoryMeta::<i64> {
            date: history_core::sql_types::UtcTimestamp::new(chrono::Utc::now()),
            explicit: true,
            user: Some(7),
            reason: Some("why".into()),
            client_ip: Some("2001:db8::1".parse().unwrap()),
            user_agent: Some("'); DROP TABLE tickets; --".into()),
            request_id: Some("req-1".into()),
        };
        let record = WithUserSqlType::<_, BigInt>(
            RecordHistory {
                spec: &TICKETS,
                from_cte: None,
                filter: Fixed("TRUE"),
                kind: HistoryType::Created,
                meta: &meta,
            },
            PhantomData,
        );
        let binds = crate::dialect::rendered_bind_count::<Sqlite, _>(&record).unwrap();
        assert_eq!(binds, 7);
        assert!(binds <= OWN_BINDS);
        let text = diesel::debug_query::<Sqlite, _>(&record).to_string();
        let sql = text.split(" -- binds:").next().unwrap();
        assert!(sql.contains("history_client_ip"), "{sql}");
        for value in ["DROP", "req-1", "2001:db8", "why"] {
            assert!(!sql.contains(value), "{value} in {sql}");
        }
    }
}
