//! The statements of one model on one backend, typed once: each method
//! builds one node of `crate::query` for the model, and runs it on an
//! executor. No choice of *which* statements run is made here; that is each
//! backend's sequence.
//!
//! Every bound the statements need of a model and a backend is written once,
//! on the blanket impl below, so the sequences and the public traits need one
//! bound, `DB: ModelStatements<M>`.

use std::marker::PhantomData;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use diesel::deserialize::FromSqlRow;
use diesel::dsl::AsSelect as SelectBy;
use diesel::expression::{Expression, QueryMetadata, Selectable};
use diesel::internal::table_macro::{Identifier, InfixNode};
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Nullable, SingleValue, SqlType, Text};
use diesel::{QueryResult, SelectableHelper};
use history_core::sql_types::{ClientIp, HistoryDate, UtcTimestamp};

use crate::context::HistoryMeta;
use crate::exec::Executor;
use crate::query::{
    up_to, ContextValues, ContextWrite, CountRecords, DeleteWhere, Direction, Fixed, InsertValues,
    KeyIn, Names, Neighbour, OneRecord, PageFilter, ReadBack, RecordHistory, RecordPage, RecordsOf,
    Rows, SelectFrom, SetReason, StateAt, UpdateWhere, Upsert, WithHistory, WithUserSqlType,
    WRITE_CTE,
};
use crate::{
    HistoricalRecords, HistoryBackend, HistoryIdOf, HistoryKeySqlType, HistoryType, KeySqlType,
    UserIdOf,
};

/// How many keys one statement names at most; longer inputs take one
/// statement per chunk (bind limits: SQLite 32766, PostgreSQL and MySQL 65535).
pub const KEY_CHUNK: usize = 1000;

/// What a write reads back of the rows it inserted: [`WholeRows`], the
/// rows as stored, or [`KeysOnly`], their keys (what a caller who does not
/// need the rows pays for: a key per row rather than every column).
#[allow(async_fn_in_trait)] // implemented inside the crate only
#[doc(hidden)]
pub trait Returning<M: HistoricalRecords, DB: ModelStatements<M>> {
    /// One row as read back.
    type Row;
    /// The selection that reads it.
    type Selection: QueryFragment<DB>;
    /// [`Selection`](Self::Selection)'s value.
    fn selection() -> Self::Selection;
    /// The key of a row read back.
    fn key(row: &Self::Row) -> M::Id;
    /// Runs `node`, whose selection is [`selection`](Self::selection).
    async fn load<E, N>(exec: &mut E, node: N) -> QueryResult<Vec<Self::Row>>
    where
        E: Executor<Backend = DB>,
        N: QueryFragment<DB> + QueryId;
}

/// Reads back the rows as stored, database defaults filled in.
#[doc(hidden)]
pub struct WholeRows;

/// Reads back the rows' keys only.
#[doc(hidden)]
pub struct KeysOnly;

impl<M: HistoricalRecords, DB: ModelStatements<M>> Returning<M, DB> for WholeRows {
    type Row = M;
    type Selection = DB::RowSelection;

    fn selection() -> Self::Selection {
        DB::row_selection()
    }

    fn key(row: &M) -> M::Id {
        row.history_key()
    }

    async fn load<E, N>(exec: &mut E, node: N) -> QueryResult<Vec<M>>
    where
        E: Executor<Backend = DB>,
        N: QueryFragment<DB> + QueryId,
    {
        DB::load_rows(exec, node).await
    }
}

impl<M: HistoricalRecords, DB: ModelStatements<M>> Returning<M, DB> for KeysOnly {
    type Row = M::Id;
    type Selection = Names;

    fn selection() -> Names {
        Names(M::HISTORY_TABLE.primary_key)
    }

    fn key(row: &M::Id) -> M::Id {
        row.clone()
    }

    async fn load<E, N>(exec: &mut E, node: N) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = DB>,
        N: QueryFragment<DB> + QueryId,
    {
        DB::load_keys(exec, node).await
    }
}

/// The SQL type of a `Selectable`'s selection.
pub(crate) type SelectionSqlType<T, DB> =
    <<T as Selectable<DB>>::SelectExpression as Expression>::SqlType;

/// The statements of model `M` on this backend. Not public API: implemented
/// for every backend and model whose types it supports, so that one bound
/// carries them all.
#[allow(async_fn_in_trait)] // implemented inside the crate only
#[doc(hidden)]
pub trait ModelStatements<M: HistoricalRecords>: HistoryBackend {
    /// `key IN (..)` over the model's table, as a filter of the statements below.
    type Keys<'q>: QueryFragment<Self> + QueryId
    where
        M: 'q;

    /// The rows with these keys (at most [`KEY_CHUNK`]).
    fn keys(ids: &[M::Id]) -> Self::Keys<'_>;

    /// Diesel's rendering of `schema.name` and of the model's table, which
    /// name the same table when the spec's schema is the `table!`'s.
    fn render_source(schema: &'static str, name: &'static str) -> (String, String);

    /// `SELECT key .. WHERE filter`, locking the rows when `lock` (where the
    /// backend has row locks).
    async fn select_keys<E, W>(exec: &mut E, filter: W, lock: bool) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>;

    /// `UPDATE .. WHERE filter`: the rows it matched.
    async fn update_where<E, W, Ch>(exec: &mut E, filter: W, changes: Ch) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>;

    /// `UPDATE .. WHERE filter RETURNING key`: the keys of the rows it changed.
    async fn update_returning_keys<E, W, Ch>(
        exec: &mut E,
        filter: W,
        changes: Ch,
    ) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>;

    /// `DELETE .. WHERE filter`: the rows it deleted.
    async fn delete_where<E, W>(exec: &mut E, filter: W) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>;

    /// `INSERT INTO history .. SELECT .. FROM source WHERE filter`: a record
    /// of `kind` for every row `filter` selects.
    async fn record<E, W>(
        exec: &mut E,
        filter: W,
        kind: HistoryType,
        meta: &HistoryMeta<UserIdOf<M>>,
    ) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>;

    /// The latest record of each of these keys, of `kind`: what the history
    /// statement just wrote for them.
    async fn records_of<E>(
        exec: &mut E,
        ids: &[M::Id],
        kind: HistoryType,
    ) -> QueryResult<Vec<M::Record>>
    where
        E: Executor<Backend = Self>;

    /// `INSERT INTO source values`: the rows inserted.
    async fn insert_values<E, V>(exec: &mut E, values: V) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>;

    /// `INSERT INTO source values RETURNING ..`: what `Out` reads back of
    /// the rows as stored.
    async fn insert_values_returning<Out, E, V>(
        exec: &mut E,
        values: V,
    ) -> QueryResult<Vec<Out::Row>>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>;

    /// One data-modifying CTE: `INSERT INTO source values`, and a `+` record
    /// of every row it inserted; what `Out` reads back of the rows as stored.
    async fn insert_with_history<Out, E, V>(
        exec: &mut E,
        values: V,
        meta: &HistoryMeta<UserIdOf<M>>,
    ) -> QueryResult<Vec<Out::Row>>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>;

    /// The model's selection as a write reads its rows back (see [`ReadBack`]).
    type RowSelection: QueryFragment<Self>;

    /// [`RowSelection`](Self::RowSelection)'s value.
    fn row_selection() -> Self::RowSelection;

    /// Runs `node`, whose selection is [`row_selection`](Self::row_selection),
    /// and returns its rows as models.
    async fn load_rows<E, N>(exec: &mut E, node: N) -> QueryResult<Vec<M>>
    where
        E: Executor<Backend = Self>,
        N: QueryFragment<Self> + QueryId;

    /// Runs `node`, which selects the key columns, and returns the keys.
    async fn load_keys<E, N>(exec: &mut E, node: N) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        N: QueryFragment<Self> + QueryId;

    /// One data-modifying CTE: `write` (an `UPDATE` or `DELETE` without its
    /// `RETURNING`), and a record of `kind` for every row it returns, as it
    /// returns it; the keys of those rows.
    async fn write_with_history<E, Wr>(
        exec: &mut E,
        write: Wr,
        kind: HistoryType,
        meta: &HistoryMeta<UserIdOf<M>>,
    ) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        Wr: QueryFragment<Self>;

    /// Trigger capture, one statement: an insert that sets its own context
    /// ([`ContextWrite`]); the rows as stored.
    async fn insert_in_context<E, V>(
        exec: &mut E,
        values: V,
        context: &ContextValues,
    ) -> QueryResult<Vec<M>>
    where
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>;

    /// Trigger capture, one statement: an `UPDATE` or `DELETE` (without its
    /// `RETURNING`) that sets its own context; the keys of its rows.
    async fn write_in_context<E, Wr>(
        exec: &mut E,
        write: Wr,
        context: &ContextValues,
    ) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        Wr: QueryFragment<Self>;

    /// A multi-row `INSERT` of whole rows, keys included; an update of the
    /// rows whose key exists when `update_existing`.
    async fn upsert<E>(exec: &mut E, rows: &[M], update_existing: bool) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        M: crate::__private::RowValues<Self>;

    /// The live rows with these keys, locked when `lock` (where the backend
    /// has row locks), a statement per [`KEY_CHUNK`] keys.
    async fn live_rows<E>(exec: &mut E, ids: &[M::Id], lock: bool) -> QueryResult<Vec<M>>
    where
        E: Executor<Backend = Self>;

    /// One record of the object `id`: the newest (or oldest) up to
    /// `at_most`, or the neighbour of the record with this date and id.
    async fn one_record<E>(
        exec: &mut E,
        id: &M::Id,
        at_most: Option<DateTime<Utc>>,
        neighbour: Option<(DateTime<Utc>, &HistoryIdOf<M>)>,
        newest_first: bool,
    ) -> QueryResult<Option<M::Record>>
    where
        E: Executor<Backend = Self>;

    /// The latest record of every object at `at`, without the deleted ones
    /// when `alive_only`.
    async fn state<E>(
        exec: &mut E,
        at: DateTime<Utc>,
        alive_only: bool,
    ) -> QueryResult<Vec<M::Record>>
    where
        E: Executor<Backend = Self>;

    /// Sets the change reason of one record.
    async fn set_reason<E>(
        exec: &mut E,
        history_id: &HistoryIdOf<M>,
        reason: Option<String>,
    ) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>;

    /// At most `limit` records that `filter` selects, newest first.
    async fn record_page<E>(
        exec: &mut E,
        filter: &PageFilter<'_, M::Id, UserIdOf<M>, HistoryIdOf<M>>,
        limit: usize,
    ) -> QueryResult<Vec<M::Record>>
    where
        E: Executor<Backend = Self>;

    /// How many records the history table holds.
    async fn count_records<E>(exec: &mut E) -> QueryResult<i64>
    where
        E: Executor<Backend = Self>;
}

/// `UPDATE .. WHERE filter`, as the node [`write_with_history`](ModelStatements::write_with_history) takes.
pub(crate) fn update_node<M: HistoricalRecords, W, Ch>(
    filter: W,
    changes: Ch,
) -> UpdateWhere<Ch, W> {
    UpdateWhere {
        spec: &M::HISTORY_TABLE,
        changes,
        filter,
        returning_key: false,
    }
}

/// `DELETE .. WHERE filter`, as the node [`write_with_history`](ModelStatements::write_with_history) takes.
pub(crate) fn delete_node<M: HistoricalRecords, W>(filter: W) -> DeleteWhere<W> {
    DeleteWhere {
        spec: &M::HISTORY_TABLE,
        filter,
    }
}

/// The history INSERT of a write, with the model's user id type.
type Record<'q, W, M> =
    WithUserSqlType<RecordHistory<'q, W, UserIdOf<M>>, <M as HistoricalRecords>::UserIdSqlType>;

fn record_node<'q, M: HistoricalRecords, W>(
    from_cte: Option<&'static str>,
    filter: W,
    kind: HistoryType,
    meta: &'q HistoryMeta<UserIdOf<M>>,
) -> Record<'q, W, M> {
    WithUserSqlType(
        RecordHistory {
            spec: &M::HISTORY_TABLE,
            from_cte,
            filter,
            kind,
            meta,
        },
        PhantomData,
    )
}

impl<M, DB> ModelStatements<M> for DB
where
    M: HistoricalRecords + Selectable<DB> + FromSqlRow<SelectionSqlType<M, DB>, DB> + 'static,
    M::Record: Selectable<DB> + FromSqlRow<SelectionSqlType<M::Record, DB>, DB> + 'static,
    SelectionSqlType<M, DB>: SqlType + diesel::expression::TypedExpressionType,
    SelectionSqlType<M::Record, DB>: SqlType + diesel::expression::TypedExpressionType,
    SelectBy<M, DB>: QueryFragment<DB>,
    SelectBy<M::Record, DB>: QueryFragment<DB>,
    M::Id: ToSql<KeySqlType<M>, DB> + FromSqlRow<KeySqlType<M>, DB> + 'static,
    KeySqlType<M>: SingleValue,
    HistoryIdOf<M>: ToSql<HistoryKeySqlType<M>, DB>,
    Option<UserIdOf<M>>: ToSql<Nullable<M::UserIdSqlType>, DB>,
    M::UserIdSqlType: SqlType + SingleValue,
    DB: HistoryBackend
        + Default
        + HasSqlType<HistoryDate>
        + HasSqlType<Text>
        + HasSqlType<KeySqlType<M>>
        + HasSqlType<HistoryKeySqlType<M>>
        + HasSqlType<M::UserIdSqlType>
        + HasSqlType<ClientIp>
        + HasSqlType<BigInt>
        + QueryMetadata<BigInt>
        + QueryMetadata<KeySqlType<M>>
        + QueryMetadata<SelectBy<M, DB>>
        + QueryMetadata<SelectBy<M::Record, DB>>,
    DB::QueryBuilder: Default,
    UtcTimestamp: ToSql<HistoryDate, DB>,
    HistoryType: ToSql<Text, DB>,
    i64: FromSqlRow<BigInt, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    Option<IpAddr>: ToSql<Nullable<ClientIp>, DB>,
    <M::Table as diesel::QuerySource>::FromClause: QueryFragment<DB>,
    InfixNode<Identifier<'static>, Identifier<'static>, &'static str>: QueryFragment<DB>,
{
    type Keys<'q>
        = KeyIn<'q, M::Id, KeySqlType<M>>
    where
        M: 'q;

    fn keys(ids: &[M::Id]) -> Self::Keys<'_> {
        KeyIn::source(&M::HISTORY_TABLE, ids)
    }

    fn render_source(schema: &'static str, name: &'static str) -> (String, String) {
        // Both renderings end in the same ` -- binds: []`; keep the SQL.
        let sql = |text: String| text.split(" -- ").next().unwrap_or_default().to_owned();
        let declared = InfixNode::new(Identifier(schema), Identifier(name), ".");
        let table = <M::Table as diesel::QuerySource>::from_clause(&M::Table::default());
        (
            sql(diesel::debug_query::<DB, _>(&declared).to_string()),
            sql(diesel::debug_query::<DB, _>(&table).to_string()),
        )
    }

    async fn select_keys<E, W>(exec: &mut E, filter: W, lock: bool) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
    {
        let select = SelectFrom::keys(&M::HISTORY_TABLE, filter, lock);
        exec.load(Rows::<_, KeySqlType<M>>::of(select)).await
    }

    async fn update_where<E, W, Ch>(exec: &mut E, filter: W, changes: Ch) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>,
    {
        exec.execute(update_node::<M, _, _>(filter, changes)).await
    }

    async fn update_returning_keys<E, W, Ch>(
        exec: &mut E,
        filter: W,
        changes: Ch,
    ) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>,
    {
        let update = UpdateWhere {
            returning_key: true,
            ..update_node::<M, _, _>(filter, changes)
        };
        exec.load(Rows::<_, KeySqlType<M>>::of(update)).await
    }

    async fn delete_where<E, W>(exec: &mut E, filter: W) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
    {
        exec.execute(delete_node::<M, _>(filter)).await
    }

    async fn record<E, W>(
        exec: &mut E,
        filter: W,
        kind: HistoryType,
        meta: &HistoryMeta<UserIdOf<M>>,
    ) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
    {
        exec.execute(record_node::<M, W>(None, filter, kind, meta))
            .await
    }

    async fn records_of<E>(
        exec: &mut E,
        ids: &[M::Id],
        kind: HistoryType,
    ) -> QueryResult<Vec<M::Record>>
    where
        E: Executor<Backend = Self>,
    {
        let spec = &M::HISTORY_TABLE;
        let select = SelectFrom {
            from: spec.history(),
            selection: <M::Record as SelectableHelper<DB>>::as_select(),
            filter: RecordsOf {
                keys: KeyIn::<_, KeySqlType<M>>::history(spec, ids),
                kind,
            },
            lock: false,
        };
        exec.load(Rows::<_, SelectBy<M::Record, DB>>::of(select))
            .await
    }

    async fn insert_values<E, V>(exec: &mut E, values: V) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
    {
        exec.execute(InsertValues::<V, Fixed> {
            spec: &M::HISTORY_TABLE,
            values,
            returning: None,
        })
        .await
    }

    async fn insert_values_returning<Out, E, V>(
        exec: &mut E,
        values: V,
    ) -> QueryResult<Vec<Out::Row>>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
    {
        let insert = InsertValues {
            spec: &M::HISTORY_TABLE,
            values,
            returning: Some(Out::selection()),
        };
        Out::load(exec, insert).await
    }

    async fn insert_with_history<Out, E, V>(
        exec: &mut E,
        values: V,
        meta: &HistoryMeta<UserIdOf<M>>,
    ) -> QueryResult<Vec<Out::Row>>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
    {
        let spec = &M::HISTORY_TABLE;
        let write = WithHistory {
            spec,
            write: InsertValues::<V, Fixed> {
                spec,
                values,
                returning: None,
            },
            record: record_node::<M, _>(Some(WRITE_CTE), Fixed("TRUE"), HistoryType::Created, meta),
            selection: Out::selection(),
        };
        Out::load(exec, write).await
    }

    type RowSelection = ReadBack<SelectBy<M, DB>>;

    fn row_selection() -> Self::RowSelection {
        ReadBack::of(&M::HISTORY_TABLE, M::as_select())
    }

    async fn load_rows<E, N>(exec: &mut E, node: N) -> QueryResult<Vec<M>>
    where
        E: Executor<Backend = Self>,
        N: QueryFragment<Self> + QueryId,
    {
        exec.load(Rows::<_, SelectBy<M, DB>>::of(node)).await
    }

    async fn load_keys<E, N>(exec: &mut E, node: N) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        N: QueryFragment<Self> + QueryId,
    {
        exec.load(Rows::<_, KeySqlType<M>>::of(node)).await
    }

    async fn write_with_history<E, Wr>(
        exec: &mut E,
        write: Wr,
        kind: HistoryType,
        meta: &HistoryMeta<UserIdOf<M>>,
    ) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        Wr: QueryFragment<Self>,
    {
        let spec = &M::HISTORY_TABLE;
        let write = WithHistory {
            spec,
            write,
            record: record_node::<M, _>(Some(WRITE_CTE), Fixed("TRUE"), kind, meta),
            selection: Names(spec.primary_key),
        };
        exec.load(Rows::<_, KeySqlType<M>>::of(write)).await
    }

    async fn insert_in_context<E, V>(
        exec: &mut E,
        values: V,
        context: &ContextValues,
    ) -> QueryResult<Vec<M>>
    where
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
    {
        let spec = &M::HISTORY_TABLE;
        let write = ContextWrite {
            spec,
            write: InsertValues::<V, Fixed> {
                spec,
                values,
                returning: None,
            },
            values: context,
            selection: ReadBack::of(spec, M::as_select()),
        };
        exec.load(Rows::<_, SelectBy<M, DB>>::of(write)).await
    }

    async fn write_in_context<E, Wr>(
        exec: &mut E,
        write: Wr,
        context: &ContextValues,
    ) -> QueryResult<Vec<M::Id>>
    where
        E: Executor<Backend = Self>,
        Wr: QueryFragment<Self>,
    {
        let write = ContextWrite {
            spec: &M::HISTORY_TABLE,
            write,
            values: context,
            selection: Names(M::HISTORY_TABLE.primary_key),
        };
        exec.load(Rows::<_, KeySqlType<M>>::of(write)).await
    }

    async fn upsert<E>(exec: &mut E, rows: &[M], update_existing: bool) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
        M: crate::__private::RowValues<Self>,
    {
        exec.execute(Upsert {
            spec: &M::HISTORY_TABLE,
            rows,
            update_existing,
        })
        .await
    }

    async fn live_rows<E>(exec: &mut E, ids: &[M::Id], lock: bool) -> QueryResult<Vec<M>>
    where
        E: Executor<Backend = Self>,
    {
        let spec = &M::HISTORY_TABLE;
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(KEY_CHUNK) {
            let select = SelectFrom {
                from: spec.source(),
                selection: M::as_select(),
                filter: <Self as ModelStatements<M>>::keys(chunk),
                lock,
            };
            rows.extend(
                exec.load::<_, M>(Rows::<_, SelectBy<M, DB>>::of(select))
                    .await?,
            );
        }
        Ok(rows)
    }

    async fn one_record<E>(
        exec: &mut E,
        id: &M::Id,
        at_most: Option<DateTime<Utc>>,
        neighbour: Option<(DateTime<Utc>, &HistoryIdOf<M>)>,
        newest_first: bool,
    ) -> QueryResult<Option<M::Record>>
    where
        E: Executor<Backend = Self>,
    {
        let at_most = match at_most.map(|at| up_to(DB::DIALECT, at)) {
            // Before the first date the backend stores: no record.
            Some(None) => return Ok(None),
            bound => bound.flatten(),
        };
        let neighbour = neighbour.map(|(date, history_id)| Neighbour {
            date: UtcTimestamp::new(date),
            history_id,
        });
        let direction = if newest_first {
            Direction::NewestFirst
        } else {
            Direction::OldestFirst
        };
        macro_rules! load_shape {
            ($shape:literal) => {
                exec.load::<_, M::Record>(Rows::<_, SelectBy<M::Record, DB>>::of(OneRecord::<
                    '_,
                    M,
                    _,
                    HistoryKeySqlType<M>,
                    _,
                    $shape,
                > {
                    id,
                    at_most,
                    neighbour,
                    direction,
                    selection: <M::Record as SelectableHelper<DB>>::as_select(),
                    history_id_type: PhantomData,
                }))
                .await?
            };
        }
        let shape = u8::from(at_most.is_some())
            | u8::from(neighbour.is_some()) << 1
            | u8::from(newest_first) << 2;
        let mut records = match shape {
            0 => load_shape!(0),
            1 => load_shape!(1),
            2 => load_shape!(2),
            3 => load_shape!(3),
            4 => load_shape!(4),
            5 => load_shape!(5),
            6 => load_shape!(6),
            _ => load_shape!(7),
        };
        Ok(records.pop())
    }

    async fn state<E>(
        exec: &mut E,
        at: DateTime<Utc>,
        alive_only: bool,
    ) -> QueryResult<Vec<M::Record>>
    where
        E: Executor<Backend = Self>,
    {
        let select = SelectFrom {
            from: M::HISTORY_TABLE.history(),
            selection: <M::Record as SelectableHelper<DB>>::as_select(),
            filter: StateAt::<M>::new(at, alive_only),
            lock: false,
        };
        exec.load(Rows::<_, SelectBy<M::Record, DB>>::of(select))
            .await
    }

    async fn set_reason<E>(
        exec: &mut E,
        history_id: &HistoryIdOf<M>,
        reason: Option<String>,
    ) -> QueryResult<usize>
    where
        E: Executor<Backend = Self>,
    {
        exec.execute(SetReason {
            spec: &M::HISTORY_TABLE,
            reason,
            history_id,
            history_id_type: PhantomData::<HistoryKeySqlType<M>>,
        })
        .await
    }
    async fn record_page<E>(
        exec: &mut E,
        filter: &PageFilter<'_, M::Id, UserIdOf<M>, HistoryIdOf<M>>,
        limit: usize,
    ) -> QueryResult<Vec<M::Record>>
    where
        E: Executor<Backend = Self>,
    {
        let page = RecordPage::<M, _, _, HistoryKeySqlType<M>, _> {
            filter,
            selection: <M::Record as SelectableHelper<DB>>::as_select(),
            limit,
            types: PhantomData,
        };
        exec.load(Rows::<_, SelectBy<M::Record, DB>>::of(page))
            .await
    }

    async fn count_records<E>(exec: &mut E) -> QueryResult<i64>
    where
        E: Executor<Backend = Self>,
    {
        let count = CountRecords {
            spec: &M::HISTORY_TABLE,
        };
        let counts: Vec<i64> = exec.load(Rows::<_, BigInt>::of(count)).await?;
        Ok(counts.into_iter().next().unwrap_or_default())
    }
}
