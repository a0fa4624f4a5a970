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
        push_set_context(&mut out, self.0)
    }
}

/// The statement that sets every value of the context, each a bind.
pub(crate) fn push_set_context<'b, DB>(
    out: &mut AstPass<'_, 'b, DB>,
    values: &'b ContextValues,
) -> QueryResult<()>
where
    DB: HistoryBackend + diesel::sql_types::HasSqlType<Text>,
    Option<String>: diesel::serialize::ToSql<Nullable<Text>, DB>,
{
    let (head, around, tail) = DB::DIALECT.set_context();
    out.push_sql(&head);
    for (index, ((before, after), value)) in around.iter().zip(&values.0).enumerate() {
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

/// A data-modifying CTE that carries its own context, for a write sent
/// alone on PostgreSQL: `WITH history_write AS (write RETURNING *) SELECT
/// selection FROM history_write AS source CROSS JOIN (SELECT set_config(..),
/// ..) AS history_context`.
///
/// The settings are made while the statement runs, and last for its own
/// (implicit) transaction; the capture triggers fire once the statement has
/// run, and read them. A write that touches no row makes no setting, and
/// its triggers record nothing.
pub(crate) struct ContextWrite<'q, Wr, Sel> {
    pub(crate) spec: &'static crate::HistoryTableSpec,
    pub(crate) write: Wr,
    pub(crate) values: &'q ContextValues,
    pub(crate) selection: Sel,
}

impl<DB, Wr, Sel> QueryFragment<DB> for ContextWrite<'_, Wr, Sel>
where
    DB: HistoryBackend + diesel::sql_types::HasSqlType<Text>,
    Option<String>: diesel::serialize::ToSql<Nullable<Text>, DB>,
    Wr: QueryFragment<DB>,
    Sel: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("WITH ");
        out.push_identifier(super::WRITE_CTE)?;
        out.push_sql(" AS (");
        self.write.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING *) SELECT ");
        self.selection.walk_ast(out.reborrow())?;
        out.push_sql(" FROM ");
        out.push_identifier(super::WRITE_CTE)?;
        out.push_sql(" AS ");
        out.push_identifier(self.spec.source_table)?;
        out.push_sql(" CROSS JOIN (");
        push_set_context(&mut out, self.values)?;
        out.push_sql(") AS ");
        out.push_identifier("history_context")
    }
}

impl<Wr, Sel> QueryId for ContextWrite<'_, Wr, Sel> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
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
        // PostgreSQL's settings are cleared by setting them to none, never
        // by this node.
        let sql = DB::DIALECT.clear_context().ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(
                "this backend clears a context by setting it to none".into(),
            )
        })?;
        out.push_sql(&sql);
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
