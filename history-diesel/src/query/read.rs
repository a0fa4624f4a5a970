//! The queries of the read path: filter and order expressions users compose
//! with Diesel's own query builder (`ObjectIs`, `NewestFirst`, `StateAt`),
//! and the one-record statement the helpers send themselves.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType};
use diesel::{QueryResult, RunQueryDsl};
use history_core::sql_types::{HistoryDate, UtcTimestamp};

use super::order::push_order;
use super::{push_column, push_table, Direction, Follows, Position};
use crate::{columns, Dialect, HistoricalRecords, HistoryBackend, HistoryType};

/// The SQL type of a model's primary key.
type KeySqlType<M> = crate::KeySqlType<M>;

/// Implements what a Diesel expression over any table needs: the nodes name
/// their own (history) table, and hold no aggregate.
macro_rules! history_expression {
    ($($node:ident),* $(,)?) => {$(
        impl<M: HistoricalRecords> Expression for $node<M> {
            type SqlType = Bool;
        }
        impl<M: HistoricalRecords, QS> AppearsOnTable<QS> for $node<M> {}
        impl<M: HistoricalRecords> diesel::expression::SelectableExpression<M::HistoryTable> for $node<M> {}
        impl<M: HistoricalRecords> ValidGrouping<()> for $node<M> {
            type IsAggregate = is_aggregate::Never;
        }
    )*};
}

/// The type-level identity of a node whose SQL depends only on the model
/// (`Node` is a marker): Diesel then caches its prepared statement by type,
/// without rendering the SQL again to look it up.
pub struct ModelQueryId<M, Node>(PhantomData<(M, Node)>);

/// Markers of [`ModelQueryId`].
pub struct ObjectIsId;
/// Markers of [`ModelQueryId`].
pub struct NewestFirstId;

/// `historical_x.key = ?`: the records of one object.
pub struct ObjectIs<M: HistoricalRecords> {
    id: M::Id,
}

impl<M: HistoricalRecords> ObjectIs<M> {
    pub(crate) fn new(id: M::Id) -> Self {
        ObjectIs { id }
    }
}

impl<M, DB> QueryFragment<DB> for ObjectIs<M>
where
    M: HistoricalRecords,
    DB: Backend + HasSqlType<KeySqlType<M>>,
    M::Id: ToSql<KeySqlType<M>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let spec = &M::HISTORY_TABLE;
        push_column(&mut out, spec.history_table, spec.primary_key[0])?;
        out.push_sql(" = ");
        out.push_bind_param::<KeySqlType<M>, M::Id>(&self.id)
    }
}

/// `history_date DESC, history_id DESC`: newest record first, as an
/// `ORDER BY` expression.
pub struct NewestFirst<M>(PhantomData<M>);

impl<M> NewestFirst<M> {
    pub(crate) fn new() -> Self {
        NewestFirst(PhantomData)
    }
}

impl<M: HistoricalRecords, DB: Backend> QueryFragment<DB> for NewestFirst<M> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        push_order(
            &mut out,
            M::HISTORY_TABLE.history_table,
            Direction::NewestFirst,
        )
    }
}

/// A read's upper bound on `history_date` as `dialect` compares it: cut to
/// the latest date the backend stores, since no record is later and the
/// bound itself would compare wrongly past it (SQLite compares the text of a
/// five-digit year as less than any four-digit one; MySQL takes a `DATETIME`
/// after 9999 as NULL). `None` before the first date it stores, where no
/// record can be and the bound may not even be sent (PostgreSQL refuses it,
/// Diesel cannot send a negative year to MySQL).
pub(crate) fn up_to(dialect: Dialect, at: chrono::DateTime<chrono::Utc>) -> Option<UtcTimestamp> {
    let range = dialect.history_date_range();
    let at = UtcTimestamp::new(at).0;
    (at >= *range.start()).then(|| UtcTimestamp(at.min(*range.end())))
}

/// [`up_to`] for every dialect: the state query is built before its
/// backend is known.
#[derive(Debug, Clone, Copy)]
struct UpTo([Option<UtcTimestamp>; Dialect::ALL.len()]);

impl UpTo {
    fn new(at: chrono::DateTime<chrono::Utc>) -> Self {
        UpTo(Dialect::ALL.map(|dialect| up_to(dialect, at)))
    }

    /// The bound to send to `dialect`.
    fn on(&self, dialect: Dialect) -> Option<&UtcTimestamp> {
        let index = Dialect::ALL.iter().position(|each| *each == dialect);
        self.0[index.expect("Dialect::ALL lists every dialect")].as_ref()
    }
}

/// The latest record of each object at a time: `history_date <= t` and no
/// later record of the same object up to `t`, optionally without the
/// objects whose latest record is a deletion.
pub struct StateAt<M> {
    at: UpTo,
    alive_only: bool,
    model: PhantomData<M>,
}

impl<M> StateAt<M> {
    pub(crate) fn new(at: chrono::DateTime<chrono::Utc>, alive_only: bool) -> Self {
        StateAt {
            at: UpTo::new(at),
            alive_only,
            model: PhantomData,
        }
    }
}

/// The alias of the history table inside `NOT EXISTS`.
const LATER: &str = "history_later";

impl<M, DB> QueryFragment<DB> for StateAt<M>
where
    M: HistoricalRecords,
    DB: HistoryBackend + HasSqlType<HistoryDate>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let spec = &M::HISTORY_TABLE;
        let table = spec.history_table;
        let Some(at) = self.at.on(DB::DIALECT) else {
            // Before the backend's first date: no record. Cached by its text
            // like every other shape of this node.
            out.push_sql("1 = 0");
            return Ok(());
        };
        push_column(&mut out, table, columns::HISTORY_DATE)?;
        out.push_sql(" <= ");
        out.push_bind_param::<HistoryDate, UtcTimestamp>(at)?;
        if self.alive_only {
            out.push_sql(" AND ");
            push_column(&mut out, table, columns::HISTORY_TYPE)?;
            out.push_sql(" <> '");
            out.push_sql(HistoryType::Deleted.as_str());
            out.push_sql("'");
        }
        out.push_sql(" AND NOT EXISTS (SELECT 1 FROM ");
        push_table(&mut out, spec.history());
        out.push_sql(" AS ");
        out.push_identifier(LATER)?;
        out.push_sql(" WHERE ");
        super::record::push_same_object(&mut out, spec, LATER, table)?;
        out.push_sql(" AND ");
        push_column(&mut out, LATER, columns::HISTORY_DATE)?;
        out.push_sql(" <= ");
        out.push_bind_param::<HistoryDate, UtcTimestamp>(at)?;
        out.push_sql(" AND ");
        Follows::rows(LATER, table, Direction::OldestFirst).push(&mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

history_expression!(ObjectIs, StateAt, NewestFirst);

impl<M: HistoricalRecords + 'static> QueryId for ObjectIs<M> {
    type QueryId = ModelQueryId<M, ObjectIsId>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<M: HistoricalRecords + 'static> QueryId for NewestFirst<M> {
    type QueryId = ModelQueryId<M, NewestFirstId>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

// Not cached by type: the text depends on `alive_only`. Diesel still caches
// the prepared statement by its SQL text.
impl<M> QueryId for StateAt<M> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// Where a record sits among its object's records: after (or before) the
/// record with this date and id.
pub struct Neighbour<'q, HId> {
    pub(crate) date: UtcTimestamp,
    pub(crate) history_id: &'q HId,
}

/// `SELECT selection FROM history WHERE key = ? [AND history_date <= ?]
/// [AND neighbour] ORDER BY history_date, history_id LIMIT 1`: one record
/// of one object, newest or oldest first.
///
/// `SHAPE` names which clauses are present (bit 0: `at_most`, bit 1:
/// `neighbour`, bit 2: newest first), so each shape is its own type and
/// Diesel caches its statement by type.
pub struct OneRecord<'q, M: HistoricalRecords, HId, HST, S, const SHAPE: u8> {
    pub(crate) id: &'q M::Id,
    pub(crate) at_most: Option<UtcTimestamp>,
    pub(crate) neighbour: Option<Neighbour<'q, HId>>,
    pub(crate) direction: Direction,
    pub(crate) selection: S,
    pub(crate) history_id_type: PhantomData<HST>,
}

impl<M, HId, HST, S, DB, const SHAPE: u8> QueryFragment<DB> for OneRecord<'_, M, HId, HST, S, SHAPE>
where
    M: HistoricalRecords,
    DB: HistoryBackend + HasSqlType<KeySqlType<M>> + HasSqlType<HistoryDate> + HasSqlType<HST>,
    M::Id: ToSql<KeySqlType<M>, DB>,
    HId: ToSql<HST, DB>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
    S: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let spec = &M::HISTORY_TABLE;
        let table = spec.history_table;
        out.push_sql("SELECT ");
        self.selection.walk_ast(out.reborrow())?;
        out.push_sql(" FROM ");
        push_table(&mut out, spec.history());
        out.push_sql(" WHERE ");
        push_column(&mut out, table, spec.primary_key[0])?;
        out.push_sql(" = ");
        out.push_bind_param::<KeySqlType<M>, M::Id>(self.id)?;
        if let Some(at) = &self.at_most {
            out.push_sql(" AND ");
            push_column(&mut out, table, columns::HISTORY_DATE)?;
            out.push_sql(" <= ");
            out.push_bind_param::<HistoryDate, UtcTimestamp>(at)?;
        }
        if let Some(neighbour) = &self.neighbour {
            // The records after the neighbour, walking this way.
            out.push_sql(" AND ");
            Follows {
                a: Position::Row(table),
                b: Position::Bound {
                    date: &neighbour.date,
                    history_id: neighbour.history_id,
                    sql_type: PhantomData::<HST>,
                },
                direction: self.direction,
            }
            .push(&mut out)?;
        }
        out.push_sql(" ORDER BY ");
        push_order(&mut out, table, self.direction)?;
        out.push_sql(" LIMIT 1");
        Ok(())
    }
}

/// The shape marker of [`OneRecord`]'s query id.
pub struct Shape<const SHAPE: u8>;

// The selection is always the model's record (`S` only keeps the backend
// out of the type), so model and shape identify the statement.
impl<M, HId, HST, S, const SHAPE: u8> QueryId for OneRecord<'_, M, HId, HST, S, SHAPE>
where
    M: HistoricalRecords + 'static,
{
    type QueryId = ModelQueryId<M, Shape<SHAPE>>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<M: HistoricalRecords, HId, HST, S, Conn, const SHAPE: u8> RunQueryDsl<Conn>
    for OneRecord<'_, M, HId, HST, S, SHAPE>
{
}
