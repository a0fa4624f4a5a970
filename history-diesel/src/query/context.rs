//! The statements that hand a write's context to the capture triggers
//! (`#[history(capture = trigger)]`): set it, read it back, clear it. The
//! words are each dialect's ([`Dialect::set_context`](crate::Dialect::set_context)).

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Nullable, Text};
use diesel::QueryResult;

use crate::capture::ContextKey;
use crate::HistoryBackend;

/// A context's values as text, in [`ContextKey::ALL`] order; `None` where
/// the write has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[doc(hidden)]
pub struct ContextValues(pub(crate) [Option<String>; ContextKey::ALL.len()]);

impl ContextValues {
    pub(crate) fn set(&mut self, key: ContextKey, value: Option<String>) {
        let index = ContextKey::ALL
            .iter()
            .position(|k| *k == key)
            .expect("every key is in ALL");
        self.0[index] = value;
    }
}

/// The text form of each value as read back by [`ReadContext`].
pub(crate) type ContextRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl From<ContextRow> for ContextValues {
    fn from(row: ContextRow) -> Self {
        let (a, b, c, d, e, f, g) = row;
        ContextValues([a, b, c, d, e, f, g])
    }
}

/// Sets every value of the context at once (a value left out is cleared).
pub(crate) struct SetContext<'q>(pub(crate) &'q ContextValues);

impl<DB> QueryFragment<DB> for SetContext<'_>
where
    DB: HistoryBackend + diesel::sql_types::HasSqlType<Text>,
    Option<String>: diesel::serialize::ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let (head, around, tail) = DB::DIALECT.set_context();
        out.push_sql(&head);
        for (index, ((before, after), value)) in around.iter().zip(&self.0 .0).enumerate() {
            if index > 0 {
                out.push_sql(", ");
            }
            out.push_sql(before);
            out.push_bind_param::<Nullable<Text>, Option<String>>(value)?;
            out.push_sql(after);
        }
        out.push_sql(&tail);
        Ok(())
    }
}

/// Reads the context back: one row of seven nullable texts (none on SQLite
/// when no context is set).
pub(crate) struct ReadContext;

impl Query for ReadContext {
    type SqlType = (
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
        Nullable<Text>,
    );
}

impl<DB: HistoryBackend> QueryFragment<DB> for ReadContext {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(&DB::DIALECT.read_context());
        Ok(())
    }
}

/// Removes the context, where it outlives its statement
/// ([`Dialect::clear_context`](crate::Dialect::clear_context)).
pub(crate) struct ClearContext;

impl<DB: HistoryBackend> QueryFragment<DB> for ClearContext {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        match DB::DIALECT.clear_context() {
            Some(sql) => out.push_sql(&sql),
            None => out.push_sql("SELECT 1"),
        }
        Ok(())
    }
}

// Each is one fixed text per backend: prepared once and cached by type.
impl QueryId for SetContext<'_> {
    type QueryId = SetContext<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryId for ReadContext {
    type QueryId = ReadContext;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryId for ClearContext {
    type QueryId = ClearContext;
    const HAS_STATIC_QUERY_ID: bool = true;
}
