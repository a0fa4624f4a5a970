//! The order of an object's records: by (`history_date`, `history_id`), so
//! that two records with the same date are told apart by their id and every
//! question has one answer. The one place that writes the rule.

use diesel::backend::Backend;
use diesel::query_builder::AstPass;
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::QueryResult;
use history_core::sql_types::{HistoryDate, UtcTimestamp};

use super::push_column;
use crate::columns;

/// Which way records are walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    NewestFirst,
    OldestFirst,
}

impl Direction {
    /// The comparison that puts a record after another, walking this way.
    fn after(self) -> &'static str {
        match self {
            Direction::OldestFirst => " > ",
            Direction::NewestFirst => " < ",
        }
    }
}

/// `history_date DESC, history_id DESC` (or `ASC`): records in order, as an
/// `ORDER BY` list over `table`'s columns.
pub(crate) fn push_order<DB: Backend>(
    out: &mut AstPass<'_, '_, DB>,
    table: &str,
    direction: Direction,
) -> QueryResult<()> {
    let way = match direction {
        Direction::NewestFirst => " DESC",
        Direction::OldestFirst => " ASC",
    };
    push_column(out, table, columns::HISTORY_DATE)?;
    out.push_sql(way);
    out.push_sql(", ");
    push_column(out, table, columns::HISTORY_ID)?;
    out.push_sql(way);
    Ok(())
}

/// Where a record sits in the order: the columns of a table or alias, or a
/// date and id bound as values.
pub enum Position<'q, HId, HST> {
    /// The record in the current row of this table or alias.
    Row(&'q str),
    /// The record with this date and id.
    Bound {
        date: &'q UtcTimestamp,
        history_id: &'q HId,
        sql_type: std::marker::PhantomData<HST>,
    },
}

impl<'q, HId, HST> Position<'q, HId, HST> {
    fn push_date<'b, DB>(&self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        'q: 'b,
        DB: Backend + HasSqlType<HistoryDate>,
        UtcTimestamp: ToSql<HistoryDate, DB>,
    {
        match self {
            Position::Row(table) => push_column(out, table, columns::HISTORY_DATE),
            Position::Bound { date, .. } => out.push_bind_param::<HistoryDate, UtcTimestamp>(*date),
        }
    }

    fn push_id<'b, DB>(&self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        'q: 'b,
        DB: Backend + HasSqlType<HST>,
        HId: ToSql<HST, DB>,
    {
        match self {
            Position::Row(table) => push_column(out, table, columns::HISTORY_ID),
            Position::Bound { history_id, .. } => out.push_bind_param::<HST, HId>(*history_id),
        }
    }
}

/// `(a.date > b.date OR (a.date = b.date AND a.id > b.id))`: record `a`
/// comes after record `b`, walking `direction` (`<` newest first).
pub struct Follows<'q, HId, HST> {
    pub(crate) a: Position<'q, HId, HST>,
    pub(crate) b: Position<'q, HId, HST>,
    pub(crate) direction: Direction,
}

impl<'q> Follows<'q, UtcTimestamp, HistoryDate> {
    /// Between the records of two tables or aliases (the type parameters,
    /// of bound ids, are unused).
    pub(crate) fn rows(a: &'q str, b: &'q str, direction: Direction) -> Self {
        Follows {
            a: Position::Row(a),
            b: Position::Row(b),
            direction,
        }
    }
}

impl<'q, HId, HST> Follows<'q, HId, HST> {
    /// Pushes the comparison; its binds live as long as the positions'.
    pub(crate) fn push<'b, DB>(&self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        'q: 'b,
        DB: Backend + HasSqlType<HistoryDate> + HasSqlType<HST>,
        UtcTimestamp: ToSql<HistoryDate, DB>,
        HId: ToSql<HST, DB>,
    {
        let after = self.direction.after();
        out.push_sql("(");
        self.a.push_date(out)?;
        out.push_sql(after);
        self.b.push_date(out)?;
        out.push_sql(" OR (");
        self.a.push_date(out)?;
        out.push_sql(" = ");
        self.b.push_date(out)?;
        out.push_sql(" AND ");
        self.a.push_id(out)?;
        out.push_sql(after);
        self.b.push_id(out)?;
        out.push_sql("))");
        Ok(())
    }
}
