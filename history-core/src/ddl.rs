//! How each dialect spells the statements that create and change a history
//! table. Which statements a migration needs, and in which order, is
//! [`crate::evolve`]'s business; the words are here.
//!
//! Every function returns statements without their final `;`.

use crate::dialect::Dialect;
use crate::snapshot::{ColumnSnapshot, IndexSnapshot, TableSnapshot};
use crate::spec::TableName;

/// `CREATE TABLE` for `table`, then its indexes.
pub(crate) fn create_table(dialect: Dialect, table: &TableSnapshot) -> Vec<String> {
    let mut statements = vec![create_table_as(dialect, table, table.history())];
    statements.extend(
        table
            .indexes
            .iter()
            .map(|index| create_index(dialect, table.history(), index)),
    );
    statements
}

/// `CREATE TABLE` with `table`'s columns, under the name `name`.
pub(crate) fn create_table_as(
    dialect: Dialect,
    table: &TableSnapshot,
    name: TableName<'_>,
) -> String {
    let lines: Vec<String> = table
        .columns
        .iter()
        .map(|column| {
            format!(
                "{} {}",
                dialect.quote(&column.name),
                column.sql_definition()
            )
        })
        .collect();
    format!(
        "CREATE TABLE {} (\n    {}\n)",
        dialect.quote_table(name),
        lines.join(",\n    ")
    )
}

pub(crate) fn drop_table(dialect: Dialect, table: TableName<'_>) -> String {
    format!("DROP TABLE {}", dialect.quote_table(table))
}

pub(crate) fn rename_table(dialect: Dialect, from: TableName<'_>, to: &str) -> String {
    // The new name takes no schema: the table stays in its own.
    format!(
        "ALTER TABLE {} RENAME TO {}",
        dialect.quote_table(from),
        dialect.quote(to)
    )
}

pub(crate) fn create_index(
    dialect: Dialect,
    table: TableName<'_>,
    index: &IndexSnapshot,
) -> String {
    let columns = index
        .columns
        .iter()
        .map(|column| {
            let quoted = dialect.quote(&column.name);
            match column.prefix {
                Some(prefix) => format!("{quoted}({prefix})"),
                None => quoted,
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (index, on) = match (dialect, table.schema) {
        // SQLite puts the schema on the index's name, and refuses it on the table.
        (Dialect::Sqlite, Some(schema)) => (
            dialect.quote_table(TableName {
                schema: Some(schema),
                name: &index.name,
            }),
            dialect.quote(table.name),
        ),
        // PostgreSQL and MySQL create an index in its table's schema.
        (Dialect::Sqlite, None) | (Dialect::Postgres | Dialect::Mysql, _) => {
            (dialect.quote(&index.name), dialect.quote_table(table))
        }
    };
    format!("CREATE INDEX {index} ON {on} ({columns})")
}

pub(crate) fn drop_index(dialect: Dialect, table: TableName<'_>, index: &str) -> String {
    match dialect {
        // An index belongs to its table's schema, named apart from it.
        Dialect::Sqlite | Dialect::Postgres => format!(
            "DROP INDEX {}",
            dialect.quote_table(TableName {
                schema: table.schema,
                name: index,
            })
        ),
        Dialect::Mysql => format!(
            "DROP INDEX {} ON {}",
            dialect.quote(index),
            dialect.quote_table(table)
        ),
    }
}

pub(crate) fn rename_column(
    dialect: Dialect,
    table: TableName<'_>,
    from: &str,
    to: &str,
) -> String {
    format!(
        "ALTER TABLE {} RENAME COLUMN {} TO {}",
        dialect.quote_table(table),
        dialect.quote(from),
        dialect.quote(to)
    )
}

pub(crate) fn drop_column(dialect: Dialect, table: TableName<'_>, column: &str) -> String {
    format!(
        "ALTER TABLE {} DROP COLUMN {}",
        dialect.quote_table(table),
        dialect.quote(column)
    )
}

/// Adds `column` to a table that has rows: a `NOT NULL` column gets `fill`
/// in every existing row and no default afterwards, as a created table has
/// none.
pub(crate) fn add_column(
    dialect: Dialect,
    table: TableName<'_>,
    column: &ColumnSnapshot,
    fill: Option<&str>,
) -> Vec<String> {
    let alter = format!("ALTER TABLE {}", dialect.quote_table(table));
    let name = dialect.quote(&column.name);
    let nullable = format!("{alter} ADD COLUMN {name} {}", column.ty);
    let Some(fill) = fill.filter(|_| !column.nullable) else {
        return vec![nullable];
    };
    match dialect {
        // A constant default fills existing rows without rewriting the table
        // (PostgreSQL 11+); then the column loses it.
        Dialect::Postgres => vec![
            format!(
                "{alter} ADD COLUMN {name} {} NOT NULL DEFAULT {fill}",
                column.ty
            ),
            format!("{alter} ALTER COLUMN {name} DROP DEFAULT"),
        ],
        // SQLite adds a NOT NULL column only with a default, and cannot drop
        // a default without rebuilding the table; every write names every
        // column, so the default is never used after this.
        Dialect::Sqlite => vec![format!(
            "{alter} ADD COLUMN {name} {} NOT NULL DEFAULT {fill}",
            column.ty
        )],
        // MySQL gives TEXT and BLOB columns no literal default: fill the rows
        // of a nullable column, then make it NOT NULL.
        Dialect::Mysql => vec![
            nullable,
            format!("UPDATE {} SET {name} = {fill}", dialect.quote_table(table)),
            format!("{alter} MODIFY COLUMN {name} {} NOT NULL", column.ty),
        ],
    }
}

/// Changes `from` into `to` (the same column, already under `to`'s name):
/// its type, its nullability or both. A column becoming `NOT NULL` gets
/// `fill` where it holds NULL. `None` on SQLite, which must rebuild the
/// table ([`rebuild`]).
pub(crate) fn alter_column(
    dialect: Dialect,
    table: TableName<'_>,
    from: &ColumnSnapshot,
    to: &ColumnSnapshot,
    fill: Option<&str>,
) -> Option<Vec<String>> {
    let quoted_table = dialect.quote_table(table);
    let name = dialect.quote(&to.name);
    let mut statements = Vec::new();
    if let (false, true, Some(fill)) = (to.nullable, from.nullable, fill) {
        statements.push(format!(
            "UPDATE {quoted_table} SET {name} = {fill} WHERE {name} IS NULL"
        ));
    }
    match dialect {
        Dialect::Sqlite => return None,
        Dialect::Postgres => {
            let alter = format!("ALTER TABLE {quoted_table} ALTER COLUMN {name}");
            if from.ty != to.ty {
                statements.push(format!(
                    "{alter} TYPE {ty} USING CAST({name} AS {ty})",
                    ty = to.ty
                ));
            }
            match (from.nullable, to.nullable) {
                (false, true) => statements.push(format!("{alter} DROP NOT NULL")),
                (true, false) => statements.push(format!("{alter} SET NOT NULL")),
                (true, true) | (false, false) => {}
            }
        }
        // One statement restates the whole column.
        Dialect::Mysql => statements.push(format!(
            "ALTER TABLE {quoted_table} MODIFY COLUMN {name} {}",
            to.sql_definition()
        )),
    }
    Some(statements)
}

/// SQLite's way to change a column's type or nullability: a new table with
/// the target's columns, every record copied into it, the old table dropped
/// and the new one renamed, its indexes created again.
///
/// `sources[i]` is the column of `from` that `to.columns[i]` is copied from
/// (`None`: a new column), and `fills[i]` its value where the source has
/// none. The id sequence of `AUTOINCREMENT` moves to the new table, so ids
/// keep increasing past records deleted before the rebuild.
pub(crate) fn rebuild(
    from: &TableSnapshot,
    to: &TableSnapshot,
    sources: &[Option<&ColumnSnapshot>],
    fills: &[Option<&str>],
) -> Vec<String> {
    let dialect = Dialect::Sqlite;
    let scratch_name = format!("{}__rebuild", to.history_table);
    let scratch = TableName {
        schema: to.history_schema.as_deref(),
        name: &scratch_name,
    };
    let mut targets = Vec::new();
    let mut values = Vec::new();
    for ((column, source), fill) in to.columns.iter().zip(sources).zip(fills) {
        let value = match (source, fill) {
            (Some(source), Some(fill)) if source.nullable && !column.nullable => {
                format!("COALESCE({}, {fill})", dialect.quote(&source.name))
            }
            (Some(source), _) => dialect.quote(&source.name),
            (None, Some(fill)) if !column.nullable => (*fill).to_owned(),
            (None, _) => continue,
        };
        targets.push(dialect.quote(&column.name));
        values.push(value);
    }
    let mut statements = vec![
        create_table_as(dialect, to, scratch),
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            dialect.quote_table(scratch),
            targets.join(", "),
            values.join(", "),
            dialect.quote_table(from.history())
        ),
    ];
    if from.columns.iter().any(|column| {
        column
            .definition
            .as_deref()
            .is_some_and(|definition| definition.contains("AUTOINCREMENT"))
    }) {
        let sequence = dialect.quote_table(TableName {
            schema: to.history_schema.as_deref(),
            name: "sqlite_sequence",
        });
        let literal = |name: &str| format!("'{}'", name.replace('\'', "''"));
        statements.push(format!(
            "DELETE FROM {sequence} WHERE name = {}",
            literal(&scratch_name)
        ));
        statements.push(format!(
            "UPDATE {sequence} SET name = {} WHERE name = {}",
            literal(&scratch_name),
            literal(&from.history_table)
        ));
    }
    statements.push(drop_table(dialect, from.history()));
    statements.push(rename_table(dialect, scratch, &to.history_table));
    statements.extend(
        to.indexes
            .iter()
            .map(|index| create_index(dialect, to.history(), index)),
    );
    statements
}
