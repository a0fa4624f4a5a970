//! A page of records, newest first, for a browser of history: filtered by
//! object, record, user, kind and date range, and cut by keyset after the
//! last record of the page before. Every value is a bind.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Nullable, SingleValue, SqlType, Text};
use diesel::QueryResult;
use history_core::sql_types::{HistoryDate, UtcTimestamp};

use super::order::push_order;
use super::{dynamic_query_id, push_column, push_table, Direction};
use crate::{columns, HistoricalRecords, HistoryBackend, HistoryType, KeySqlType};

/// Where a page starts: below this bound, walking newest first (the
/// history browser's pages; without it, no page has a start).
#[cfg_attr(not(feature = "browser"), allow(dead_code))]
pub enum PageStart<'q, HId> {
    /// Records strictly older than this record.
    After(UtcTimestamp, &'q HId),
    /// Records dated before this instant, or at it when `inclusive`.
    Date(UtcTimestamp, bool),
}

/// Which records a page holds; `None` is no condition.
pub struct PageFilter<'q, Id, U, HId> {
    pub(crate) object: Option<&'q Id>,
    pub(crate) history_id: Option<&'q HId>,
    pub(crate) user: Option<U>,
    pub(crate) kind: Option<HistoryType>,
    /// `history_date >= from`.
    pub(crate) from: Option<UtcTimestamp>,
    /// `history_date < until`.
    pub(crate) until: Option<UtcTimestamp>,
    pub(crate) start: Option<PageStart<'q, HId>>,
}

/// `SELECT selection FROM history WHERE .. ORDER BY history_date DESC,
/// history_id DESC LIMIT n`. Its text depends on which conditions are
/// present, so it is cached by text, not by type.
pub(crate) struct RecordPage<'q, M: HistoricalRecords, U, HId, HST, S> {
    pub(crate) filter: &'q PageFilter<'q, M::Id, U, HId>,
    pub(crate) selection: S,
    pub(crate) limit: usize,
    pub(crate) types: std::marker::PhantomData<(M, HST)>,
}

/// `SELECT COUNT(*) FROM history`.
pub(crate) struct CountRecords {
    pub(crate) spec: &'static crate::HistoryTableSpec,
}

impl<DB: HistoryBackend> QueryFragment<DB> for CountRecords {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM ");
        push_table(&mut out, self.spec.history());
        Ok(())
    }
}

/// Writes ` WHERE ` before the first condition and ` AND ` before the others.
struct Conditions(bool);

impl Conditions {
    fn next<DB: Backend>(&mut self, out: &mut AstPass<'_, '_, DB>) {
        out.push_sql(if self.0 { " AND " } else { " WHERE " });
        self.0 = true;
    }
}

impl<M, U, HId, HST, S, DB> QueryFragment<DB> for RecordPage<'_, M, U, HId, HST, S>
where
    M: HistoricalRecords,
    M::UserIdSqlType: SqlType + SingleValue,
    DB: HistoryBackend
        + HasSqlType<KeySqlType<M>>
        + HasSqlType<HistoryDate>
        + HasSqlType<HST>
        + HasSqlType<Text>
        + HasSqlType<M::UserIdSqlType>,
    M::Id: ToSql<KeySqlType<M>, DB>,
    Option<U>: ToSql<Nullable<M::UserIdSqlType>, DB>,
    HId: ToSql<HST, DB>,
    UtcTimestamp: ToSql<HistoryDate, DB>,
    HistoryType: ToSql<Text, DB>,
    S: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let spec = &M::HISTORY_TABLE;
        let table = spec.history_table;
        let filter = self.filter;
        out.push_sql("SELECT ");
        self.selection.walk_ast(out.reborrow())?;
        out.push_sql(" FROM ");
        push_table(&mut out, spec.history());
        let mut conditions = Conditions(false);
        if let Some(id) = filter.object {
            conditions.next(&mut out);
            push_column(&mut out, table, spec.primary_key[0])?;
            out.push_sql(" = ");
            out.push_bind_param::<KeySqlType<M>, M::Id>(id)?;
        }
        if let Some(history_id) = filter.history_id {
            conditions.next(&mut out);
            push_column(&mut out, table, columns::HISTORY_ID)?;
            out.push_sql(" = ");
            out.push_bind_param::<HST, HId>(history_id)?;
        }
        if filter.user.is_some() {
            conditions.next(&mut out);
            push_column(&mut out, table, columns::HISTORY_USER_ID)?;
            out.push_sql(" = ");
            out.push_bind_param::<Nullable<M::UserIdSqlType>, Option<U>>(&filter.user)?;
        }
        if let Some(kind) = &filter.kind {
            conditions.next(&mut out);
            push_column(&mut out, table, columns::HISTORY_TYPE)?;
            out.push_sql(" = ");
            out.push_bind_param::<Text, HistoryType>(kind)?;
        }
        for (bound, comparison) in [(&filter.from, " >= "), (&filter.until, " < ")] {
            if let Some(date) = bound {
                conditions.next(&mut out);
                push_column(&mut out, table, columns::HISTORY_DATE)?;
                out.push_sql(comparison);
                out.push_bind_param::<HistoryDate, UtcTimestamp>(date)?;
            }
        }
        match &filter.start {
            None => {}
            Some(PageStart::After(date, history_id)) => {
                // `date <= d AND (date < d OR id < i)`: the records after
                // (d, i) newest first, with a range on `history_date` that
                // its index serves (the plain OR form makes SQLite scan).
                conditions.next(&mut out);
                push_column(&mut out, table, columns::HISTORY_DATE)?;
                out.push_sql(" <= ");
                out.push_bind_param::<HistoryDate, UtcTimestamp>(date)?;
                out.push_sql(" AND (");
                push_column(&mut out, table, columns::HISTORY_DATE)?;
                out.push_sql(" < ");
                out.push_bind_param::<HistoryDate, UtcTimestamp>(date)?;
                out.push_sql(" OR ");
                push_column(&mut out, table, columns::HISTORY_ID)?;
                out.push_sql(" < ");
                out.push_bind_param::<HST, HId>(*history_id)?;
                out.push_sql(")");
            }
            Some(PageStart::Date(date, inclusive)) => {
                conditions.next(&mut out);
                push_column(&mut out, table, columns::HISTORY_DATE)?;
                out.push_sql(if *inclusive { " <= " } else { " < " });
                out.push_bind_param::<HistoryDate, UtcTimestamp>(date)?;
            }
        }
        out.push_sql(" ORDER BY ");
        push_order(&mut out, table, Direction::NewestFirst)?;
        out.push_sql(&format!(" LIMIT {}", self.limit));
        Ok(())
    }
}

impl<M: HistoricalRecords, U, HId, HST, S> diesel::query_builder::QueryId
    for RecordPage<'_, M, U, HId, HST, S>
{
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

dynamic_query_id!(CountRecords);
