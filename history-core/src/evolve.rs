//! The statements that turn one [`Snapshot`] of the history tables into
//! another: a migration's `up.sql` is `plan(folder, merged)`, its `down.sql`
//! `plan(merged, folder)`, with the same function.
//!
//! A table is matched by its model, a column by its name and then by its
//! field ([`crate::snapshot`]), so a renamed table or column is renamed with
//! its records, never dropped and created. Within a table the order is:
//! rename the table, drop the indexes that change, rename, drop, add and
//! alter columns, create the indexes that change. SQLite, which cannot alter
//! a column, rebuilds the table instead whenever a type or a nullability
//! changes ([`crate::ddl`]).

use std::fmt;

use crate::ddl;
use crate::dialect::Dialect;
use crate::snapshot::{match_columns, ColumnSnapshot, Snapshot, TableSnapshot};

/// Why no migration can take a history table from one state to another.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvolveError {
    /// A `NOT NULL` column needs a value for the records that have none, and
    /// its type has no obvious one (a date, a UUID, JSON, a stated type).
    NoFillValue {
        /// The model.
        model: String,
        /// The column.
        column: String,
    },
    /// A change no migration makes: a history table moved to another
    /// schema, or a `history_id` of another kind.
    Unsupported {
        /// The model.
        model: String,
        /// What changed.
        change: String,
    },
    /// The two snapshots are for different dialects.
    DialectMismatch {
        /// The folder's dialect.
        folder: Dialect,
        /// The dialect asked for.
        wanted: Dialect,
    },
}

impl fmt::Display for EvolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvolveError::NoFillValue { model, column } => write!(
                f,
                "{model}: column `{column}` becomes NOT NULL, and records written before have no \
                 value for it; give one on its field, as in `#[history(default = \"'...'\")]`, or \
                 make the field an `Option`"
            ),
            EvolveError::Unsupported { model, change } => write!(
                f,
                "{model}: {change}; no migration changes this in place: create a new history \
                 table (another `table_name`) and drop the old one with --drop-removed-models"
            ),
            EvolveError::DialectMismatch { folder, wanted } => write!(
                f,
                "the migrations folder is written for {}, not {}",
                folder.name(),
                wanted.name()
            ),
        }
    }
}

impl std::error::Error for EvolveError {}

/// What kind of step a [`Change`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A history table is created.
    TableCreated,
    /// A history table is dropped.
    TableDropped,
    /// A history table is renamed.
    TableRenamed,
    /// A column is added.
    ColumnAdded,
    /// A column is renamed.
    ColumnRenamed,
    /// A column changes type.
    ColumnRetyped,
    /// A column becomes nullable or `NOT NULL`.
    ColumnNullability,
    /// A column is dropped.
    ColumnDropped,
    /// A column leaves the model and stays in history, or comes back.
    ColumnRetained,
    /// An index is created, dropped or changed.
    Index,
}

/// One step of a migration, for its description and its statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The model whose table changes.
    pub model: String,
    /// What kind of step it is.
    pub kind: ChangeKind,
    /// What changes, in words (`column \`note\` added`).
    pub description: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.model, self.description)
    }
}

/// The statements from one snapshot to another and what they do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// What changes, table by table.
    pub changes: Vec<Change>,
    /// The statements, without their final `;`.
    pub statements: Vec<String>,
}

impl Plan {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The statements as a migration file holds them, one per line.
    ///
    /// A plan that changes only the snapshot (a nullable column leaving the
    /// model) holds one statement that does nothing: MySQL refuses a
    /// migration without one.
    pub fn sql(&self) -> String {
        if self.statements.is_empty() && !self.changes.is_empty() {
            return "SELECT 1;\n".to_owned();
        }
        let mut sql = String::new();
        for statement in &self.statements {
            sql.push_str(statement);
            sql.push_str(";\n");
        }
        sql
    }
}

/// The statements that take the history tables from `from` to `to`.
pub fn plan(from: &Snapshot, to: &Snapshot) -> Result<Plan, EvolveError> {
    if from.dialect != to.dialect {
        return Err(EvolveError::DialectMismatch {
            folder: from.dialect,
            wanted: to.dialect,
        });
    }
    let dialect = to.dialect;
    let mut plan = Plan::default();
    for table in &to.tables {
        match from.table(&table.model) {
            Some(old) => plan_table(dialect, old, table, &mut plan)?,
            None => {
                plan.changes.push(change(
                    table,
                    ChangeKind::TableCreated,
                    format!("history table `{}` created", table.history_table),
                ));
                plan.statements.extend(ddl::create_table(dialect, table));
            }
        }
    }
    for old in &from.tables {
        if to.table(&old.model).is_none() {
            plan.changes.push(change(
                old,
                ChangeKind::TableDropped,
                format!(
                    "history table `{}` dropped with its records",
                    old.history_table
                ),
            ));
            plan.statements
                .push(ddl::drop_table(dialect, old.history()));
        }
    }
    Ok(plan)
}

fn change(table: &TableSnapshot, kind: ChangeKind, description: String) -> Change {
    Change {
        model: table.model.clone(),
        kind,
        description,
    }
}

fn plan_table(
    dialect: Dialect,
    from: &TableSnapshot,
    to: &TableSnapshot,
    plan: &mut Plan,
) -> Result<(), EvolveError> {
    let unsupported = |change: String| EvolveError::Unsupported {
        model: to.model.clone(),
        change,
    };
    if from.history_schema != to.history_schema {
        return Err(unsupported(format!(
            "the history table moves from schema {:?} to {:?}",
            from.history_schema, to.history_schema
        )));
    }
    let pairs = match_columns(&from.columns, &to.columns);
    let source_of = |to_index: usize| {
        pairs
            .iter()
            .find(|(_, target)| *target == to_index)
            .map(|(source, _)| &from.columns[*source])
    };
    let sources: Vec<Option<&ColumnSnapshot>> = (0..to.columns.len()).map(source_of).collect();
    let mut fills = Vec::with_capacity(to.columns.len());
    for (column, source) in to.columns.iter().zip(&sources) {
        let needs_fill = !column.nullable && source.is_none_or(|source| source.nullable);
        if needs_fill && column.default.is_none() {
            return Err(EvolveError::NoFillValue {
                model: to.model.clone(),
                column: column.name.clone(),
            });
        }
        if let Some(source) = source {
            if source.definition != column.definition {
                return Err(unsupported(format!(
                    "column `{}` changes from `{}` to `{}`",
                    column.name,
                    source.sql_definition(),
                    column.sql_definition()
                )));
            }
        }
        fills.push(column.default.as_deref());
    }

    let mut changes = Vec::new();
    let mut describe =
        |kind: ChangeKind, description: String| changes.push(change(to, kind, description));
    if from.history_table != to.history_table {
        describe(
            ChangeKind::TableRenamed,
            format!(
                "history table `{}` renamed to `{}`",
                from.history_table, to.history_table
            ),
        );
    }
    let dropped: Vec<&ColumnSnapshot> = from
        .columns
        .iter()
        .enumerate()
        .filter(|(index, _)| !pairs.iter().any(|(source, _)| source == index))
        .map(|(_, column)| column)
        .collect();
    let mut altered = false;
    for (column, source) in to.columns.iter().zip(&sources) {
        match source {
            None => describe(
                ChangeKind::ColumnAdded,
                format!("column `{}` added ({})", column.name, added_note(column)),
            ),
            Some(source) => {
                if source.name != column.name {
                    describe(
                        ChangeKind::ColumnRenamed,
                        format!("column `{}` renamed to `{}`", source.name, column.name),
                    );
                }
                if source.ty != column.ty {
                    altered = true;
                    describe(
                        ChangeKind::ColumnRetyped,
                        format!(
                            "column `{}` changes type from {} to {}",
                            column.name, source.ty, column.ty
                        ),
                    );
                }
                let nullability = source.nullable != column.nullable;
                altered |= nullability;
                let name = &column.name;
                let leaves = !source.retained && column.retained;
                match (source.retained, column.retained) {
                    (false, true) => describe(
                        ChangeKind::ColumnRetained,
                        format!(
                            "column `{name}` is no longer in the model: kept with its values{}",
                            if nullability { ", now nullable" } else { "" }
                        ),
                    ),
                    (true, false) => describe(
                        ChangeKind::ColumnRetained,
                        format!("column `{name}` is back in the model"),
                    ),
                    (false, false) | (true, true) => {}
                }
                if nullability && !leaves {
                    let description = if column.nullable {
                        format!("column `{name}` becomes nullable")
                    } else {
                        format!(
                            "column `{name}` becomes NOT NULL, {} where records have none",
                            column.default.as_deref().unwrap_or("NULL")
                        )
                    };
                    describe(ChangeKind::ColumnNullability, description);
                }
            }
        }
    }
    for column in &dropped {
        describe(
            ChangeKind::ColumnDropped,
            format!("column `{}` dropped with its values", column.name),
        );
    }
    let dropped_indexes: Vec<_> = from
        .indexes
        .iter()
        .filter(|index| !to.indexes.contains(index))
        .collect();
    let created_indexes: Vec<_> = to
        .indexes
        .iter()
        .filter(|index| !from.indexes.contains(index))
        .collect();
    for index in &created_indexes {
        if !dropped_indexes.iter().any(|old| old.name == index.name) {
            describe(ChangeKind::Index, format!("index `{}` created", index.name));
        } else {
            describe(
                ChangeKind::Index,
                format!("index `{}` changes its columns", index.name),
            );
        }
    }
    for index in &dropped_indexes {
        if !created_indexes.iter().any(|new| new.name == index.name) {
            describe(ChangeKind::Index, format!("index `{}` dropped", index.name));
        }
    }
    plan.changes.append(&mut changes);

    if dialect == Dialect::Sqlite && altered {
        plan.statements
            .extend(ddl::rebuild(from, to, &sources, &fills));
        return Ok(());
    }

    let table = to.history();
    let statements = &mut plan.statements;
    if from.history_table != to.history_table {
        statements.push(ddl::rename_table(
            dialect,
            from.history(),
            &to.history_table,
        ));
    }
    for index in &dropped_indexes {
        statements.push(ddl::drop_index(dialect, table, &index.name));
    }
    for (column, source) in to.columns.iter().zip(&sources) {
        if let Some(source) = source.filter(|source| source.name != column.name) {
            statements.push(ddl::rename_column(
                dialect,
                table,
                &source.name,
                &column.name,
            ));
        }
    }
    for column in &dropped {
        statements.push(ddl::drop_column(dialect, table, &column.name));
    }
    for ((column, source), fill) in to.columns.iter().zip(&sources).zip(&fills) {
        if source.is_none() {
            statements.extend(ddl::add_column(dialect, table, column, *fill));
        }
    }
    for ((column, source), fill) in to.columns.iter().zip(&sources).zip(&fills) {
        if let Some(source) = source {
            if source.ty != column.ty || source.nullable != column.nullable {
                let alter = ddl::alter_column(dialect, table, source, column, *fill)
                    .expect("only SQLite cannot alter a column, and it rebuilds instead");
                statements.extend(alter);
            }
        }
    }
    for index in &created_indexes {
        statements.push(ddl::create_index(dialect, table, index));
    }
    Ok(())
}

fn added_note(column: &ColumnSnapshot) -> String {
    match (&column.default, column.nullable) {
        (_, true) => "nullable: older records hold NULL".to_owned(),
        (Some(fill), false) => format!("NOT NULL: older records hold {fill}"),
        (None, false) => "NOT NULL".to_owned(),
    }
}
