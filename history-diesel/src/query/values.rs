//! SQLite's multi-row `VALUES` of Diesel insert values.
//!
//! Diesel builds a multi-row insert for SQLite only inside its own insert
//! statement, and runs it only on a `SqliteConnection`. SQLite has no
//! `DEFAULT` in `VALUES`, so a row that leaves a field to its default omits
//! the column: rows can share one statement only when they name the same
//! columns. This node joins such rows, each one's values as Diesel renders
//! them for a single-row insert.

use std::marker::PhantomData;

use diesel::insertable::InsertValues;
use diesel::query_builder::{AstPass, QueryBuilder, QueryFragment, QueryId};
use diesel::sqlite::{Sqlite, SqliteQueryBuilder};
use diesel::{QueryResult, Table};

/// The column list of one row's insert values, as a node.
pub struct ColumnNames<'v, V, T>(&'v V, PhantomData<T>);

impl<V: InsertValues<Sqlite, T>, T: Table> ColumnNames<'_, V, T> {
    /// The columns one row names, as SQL text; `None` for a row that names
    /// none (`DEFAULT VALUES`), which takes a statement of its own.
    pub(crate) fn of(values: &V) -> Option<String> {
        if values.is_noop(&Sqlite).unwrap_or(true) {
            return None;
        }
        // Rendered without binds: only the column list is compared.
        let mut sql = SqliteQueryBuilder::new();
        ColumnNames::<V, T>(values, PhantomData)
            .to_sql(&mut sql, &Sqlite)
            .ok()?;
        Some(sql.finish())
    }
}

impl<V: InsertValues<Sqlite, T>, T: Table> QueryFragment<Sqlite> for ColumnNames<'_, V, T> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.0.column_names(out)
    }
}

impl<V, T> QueryId for ColumnNames<'_, V, T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// `(columns) VALUES (..), (..)`: rows that name the same columns (checked
/// by the caller with [`ColumnNames::of`]), or `DEFAULT VALUES` for one row
/// that names none.
pub struct SqliteRows<V, T> {
    rows: Vec<V>,
    table: PhantomData<T>,
}

impl<V, T> SqliteRows<V, T> {
    pub(crate) fn new(first: V) -> Self {
        SqliteRows {
            rows: vec![first],
            table: PhantomData,
        }
    }

    pub(crate) fn push(&mut self, row: V) {
        self.rows.push(row);
    }
}

impl<V: InsertValues<Sqlite, T>, T: Table> QueryFragment<Sqlite> for SqliteRows<V, T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let first = &self.rows[0];
        if first.is_noop(out.backend())? {
            out.push_sql("DEFAULT VALUES");
            return Ok(());
        }
        out.push_sql("(");
        first.column_names(out.reborrow())?;
        out.push_sql(") VALUES ");
        for (i, row) in self.rows.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            row.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        Ok(())
    }
}

impl<V, T> QueryId for SqliteRows<V, T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}
