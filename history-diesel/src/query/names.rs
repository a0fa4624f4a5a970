//! How statements name tables and columns: the one place that quotes them.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::QueryResult;

use crate::{HistoryBackend, TableName};

/// A table in its schema, quoted by the dialect (`"sales"."orders"`): how
/// every statement names the source and the history table.
pub(crate) fn push_table<DB: HistoryBackend>(out: &mut AstPass<'_, '_, DB>, table: TableName<'_>) {
    out.push_sql(&DB::DIALECT.quote_table(table));
}

/// `"table"."column"`: a column of a table or of an alias.
pub(crate) fn push_column<DB: Backend>(
    out: &mut AstPass<'_, '_, DB>,
    table: &str,
    name: &str,
) -> QueryResult<()> {
    out.push_identifier(table)?;
    out.push_sql(".");
    out.push_identifier(name)
}

/// `"a", "b"`: column names, unqualified.
pub(crate) fn push_names<DB: Backend>(
    out: &mut AstPass<'_, '_, DB>,
    names: &[&str],
) -> QueryResult<()> {
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_sql(", ");
        }
        out.push_identifier(name)?;
    }
    Ok(())
}

/// A list of column names, as a node.
pub struct Names(pub(crate) &'static [&'static str]);

impl<DB: Backend> QueryFragment<DB> for Names {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        push_names(&mut out, self.0)
    }
}

super::dynamic_query_id!(Names);
