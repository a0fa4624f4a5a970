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
//! changes (its SQL spelled per dialect in one private module, `ddl`).

use std::fmt;

use crate::capture;
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
    /// The capture triggers are installed, rewritten or dropped.
    Triggers,
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
            Some(old) => {
                let first = plan.statements.len();
                plan_table(dialect, old, table, &mut plan)?;
                plan_triggers(dialect, old, table, first, &mut plan);
            }
            None => {
                plan.changes.push(change(
                    table,
                    ChangeKind::TableCreated,
                    format!("history table `{}` created", table.history_table),
                ));
                plan.statements.extend(ddl::create_table(dialect, table));
                plan.statements
                    .extend(capture::create_triggers(dialect, table));
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
            plan.statements.extend(capture::drop_triggers(dialect, old));
            plan.statements
                .push(ddl::drop_table(dialect, old.history()));
        }
    }
    Ok(plan)
}

/// Rewrites a table's capture triggers around the statements that change it
/// (from `first` on): a trigger names every tracked column and the history
/// table, so the old ones are dropped before the table changes (SQLite
/// refuses to rename a table a broken trigger names) and the new ones
/// created after, whenever the table or the triggers change.
fn plan_triggers(
    dialect: Dialect,
    from: &TableSnapshot,
    to: &TableSnapshot,
    first: usize,
    plan: &mut Plan,
) {
    let (old, new) = (
        capture::create_triggers(dialect, from),
        capture::create_triggers(dialect, to),
    );
    let table_changed = plan.statements.len() > first;
    // Both texts above are this version's: triggers an earlier version
    // installed are known by the version the snapshot kept.
    let outdated = matches!(
        (from.triggers, to.triggers),
        (Some(was), Some(is)) if was.version != is.version
    );
    if old == new && !outdated && (new.is_empty() || !table_changed) {
        return;
    }
    let description = match (old.is_empty(), new.is_empty()) {
        (true, false) => "capture triggers installed: the database writes the records",
        (false, true) => "capture triggers dropped: the write helpers write the records",
        _ if old == new && !table_changed => {
            "capture triggers rewritten: an earlier version of history-diesel wrote them"
        }
        _ => "capture triggers rewritten for the new columns and options",
    };
    plan.changes
        .push(change(to, ChangeKind::Triggers, description.to_owned()));
    let drops = capture::drop_triggers(dialect, from);
    plan.statements.splice(first..first, drops);
    plan.statements.extend(new);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{MergeOptions, Notice};
    use crate::spec::{
        ChangeReasonColumn, ColumnSpec, ColumnType, HistoryIdKind, HistoryTableSpec, SqlKind,
    };

    const fn column(name: &'static str, kind: SqlKind, nullable: bool) -> ColumnSpec {
        ColumnSpec {
            name,
            ty: ColumnType::Kind(kind),
            nullable,
            field: name,
            default: None,
        }
    }

    const ID: ColumnSpec = column("id", SqlKind::Integer, false);
    const CODE: ColumnSpec = column("code", SqlKind::Text, false);

    fn spec(columns: &'static [ColumnSpec]) -> HistoryTableSpec {
        HistoryTableSpec {
            model: "Item",
            source_table: "items",
            source_schema: None,
            history_table: "historical_items",
            history_schema: None,
            primary_key: &["id"],
            columns,
            history_id: HistoryIdKind::Integer,
            user_id: SqlKind::BigInt,
            change_reason: ChangeReasonColumn::Varchar(100),
            model_columns: &[],
            skip_unchanged: false,
            request_info: false,
            capture: crate::spec::Capture::Client,
            require_user: false,
        }
    }

    /// The up and down statements of a migration, and its notices.
    type Evolved = (Vec<String>, Vec<String>, Vec<Notice>);

    /// The up and down statements from `old` to `new`, and the notices.
    fn evolve(
        dialect: Dialect,
        old: &[HistoryTableSpec],
        new: &[HistoryTableSpec],
        options: MergeOptions,
    ) -> Result<Evolved, EvolveError> {
        let folder = Snapshot::from_specs(dialect, old);
        let (merged, notices) = folder.merge(&Snapshot::from_specs(dialect, new), options);
        let up = plan(&folder, &merged)?.statements;
        let down = plan(&merged, &folder)?.statements;
        Ok((up, down, notices))
    }

    fn triggered(columns: &'static [ColumnSpec]) -> HistoryTableSpec {
        HistoryTableSpec {
            capture: crate::spec::Capture::Trigger,
            ..spec(columns)
        }
    }

    /// What each statement starts with, to read a plan's order at a glance.
    fn heads(statements: &[String]) -> Vec<String> {
        statements
            .iter()
            .map(|statement| {
                statement
                    .split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn triggers_are_installed_rewritten_around_column_changes_and_dropped() {
        for dialect in Dialect::ALL {
            // Client capture to trigger capture: the triggers alone.
            let (up, down, _) = evolve(
                dialect,
                &[spec(&[ID])],
                &[triggered(&[ID])],
                MergeOptions::default(),
            )
            .unwrap();
            assert!(
                up.iter().all(|s| s.contains("TRIGGER")
                    || s.contains("FUNCTION")
                    || s.contains("history_context")),
                "{up:?}"
            );
            assert!(up.iter().any(|s| s.starts_with("CREATE TRIGGER")), "{up:?}");
            assert!(down.iter().all(|s| s.starts_with("DROP")), "{down:?}");
            // Nothing changes: nothing to do.
            let (up, _, _) = evolve(
                dialect,
                &[triggered(&[ID])],
                &[triggered(&[ID])],
                MergeOptions::default(),
            )
            .unwrap();
            assert!(up.is_empty(), "{up:?}");
            // A new column: old triggers dropped first, new ones (naming it) last.
            let (up, _, _) = evolve(
                dialect,
                &[triggered(&[ID])],
                &[triggered(&[ID, CODE])],
                MergeOptions::default(),
            )
            .unwrap();
            let heads = heads(&up);
            assert!(heads[0].starts_with("DROP TRIGGER"), "{heads:?}");
            let add = heads
                .iter()
                .position(|h| h.starts_with("ALTER TABLE"))
                .expect("ADD COLUMN");
            let create = heads
                .iter()
                .position(|h| h.starts_with("CREATE TRIGGER"))
                .expect("CREATE TRIGGER");
            assert!(add < create, "{heads:?}");
            // The new triggers (PostgreSQL's function before them) name it.
            assert!(
                up[add + 1..]
                    .iter()
                    .any(|s| s.contains(&dialect.quote("code"))),
                "{up:?}"
            );
            // Fail-closed turned on: the triggers are rewritten, the table stays.
            let strict = HistoryTableSpec {
                require_user: true,
                ..triggered(&[ID])
            };
            let (up, _, _) = evolve(
                dialect,
                &[triggered(&[ID])],
                &[strict],
                MergeOptions::default(),
            )
            .unwrap();
            assert!(
                up.iter()
                    .any(|s| s.contains(crate::capture::USER_REQUIRED_MESSAGE)),
                "{up:?}"
            );
            assert!(!up.iter().any(|s| s.starts_with("ALTER TABLE")), "{up:?}");
        }
    }

    /// Triggers that an earlier version of the crate wrote (a snapshot whose
    /// trigger version is older) are rewritten, though nothing else changed;
    /// a snapshot file without the version reads as the first.
    #[test]
    fn triggers_of_an_earlier_version_are_rewritten() {
        for dialect in Dialect::ALL {
            let mut folder = Snapshot::from_specs(dialect, &[triggered(&[ID])]);
            let current = Snapshot::from_specs(dialect, &[triggered(&[ID])]);
            assert!(plan(&folder, &current).unwrap().statements.is_empty());
            folder.tables[0].triggers.as_mut().unwrap().version = 0;
            let planned = plan(&folder, &current).unwrap();
            let heads = heads(&planned.statements);
            assert!(heads[0].starts_with("DROP TRIGGER"), "{heads:?}");
            assert!(
                heads.iter().any(|h| h.starts_with("CREATE TRIGGER")),
                "{heads:?}"
            );
            assert!(
                !heads.iter().any(|h| h.starts_with("ALTER TABLE")),
                "{heads:?}"
            );
            assert_eq!(planned.changes.len(), 1);
            assert_eq!(planned.changes[0].kind, ChangeKind::Triggers);
            assert!(planned.changes[0].description.contains("earlier version"));
        }
        let read: crate::snapshot::TriggerSnapshot =
            serde_json::from_str(r#"{"require_user": true}"#).unwrap();
        assert_eq!(read.version, 1);
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            r#"{"require_user":true}"#
        );
    }

    #[test]
    fn a_not_null_field_without_an_obvious_value_needs_a_default() {
        const DAY: ColumnSpec = column("due_on", SqlKind::Date, false);
        let err = evolve(
            Dialect::Postgres,
            &[spec(&[ID])],
            &[spec(&[ID, DAY])],
            MergeOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            EvolveError::NoFillValue {
                model: "Item".into(),
                column: "due_on".into()
            }
        );
        assert!(err.to_string().contains("#[history(default = "), "{err}");

        const DAY_WITH_DEFAULT: ColumnSpec = ColumnSpec {
            default: Some("DATE '2026-01-01'"),
            ..DAY
        };
        let (up, down, _) = evolve(
            Dialect::Postgres,
            &[spec(&[ID])],
            &[spec(&[ID, DAY_WITH_DEFAULT])],
            MergeOptions::default(),
        )
        .unwrap();
        assert_eq!(
            up,
            [
                "ALTER TABLE \"historical_items\" ADD COLUMN \"due_on\" DATE NOT NULL DEFAULT DATE '2026-01-01'",
                "ALTER TABLE \"historical_items\" ALTER COLUMN \"due_on\" DROP DEFAULT",
            ]
        );
        assert_eq!(
            down,
            ["ALTER TABLE \"historical_items\" DROP COLUMN \"due_on\""]
        );
    }

    #[test]
    fn a_renamed_history_table_keeps_its_records_and_renames_its_indexes() {
        let renamed = HistoryTableSpec {
            history_table: "item_history",
            ..spec(&[ID])
        };
        let (up, down, _) = evolve(
            Dialect::Mysql,
            &[spec(&[ID])],
            &[renamed],
            MergeOptions::default(),
        )
        .unwrap();
        assert_eq!(
            up[0],
            "ALTER TABLE `historical_items` RENAME TO `item_history`"
        );
        assert_eq!(
            up[1],
            "DROP INDEX `historical_items_object_history_idx` ON `item_history`"
        );
        assert_eq!(up.len(), 1 + 3 + 3);
        assert_eq!(
            up[6],
            "CREATE INDEX `item_history_history_user_id_idx` ON `item_history` (`history_user_id`)"
        );
        assert_eq!(
            down[0],
            "ALTER TABLE `item_history` RENAME TO `historical_items`"
        );
    }

    #[test]
    fn a_model_left_out_is_kept_and_reported_unless_dropped() {
        let (up, _, notices) = evolve(
            Dialect::Sqlite,
            &[spec(&[ID])],
            &[],
            MergeOptions::default(),
        )
        .unwrap();
        assert!(up.is_empty(), "{up:?}");
        assert_eq!(
            notices,
            [Notice::ModelMissing {
                model: "Item".into(),
                table: "historical_items".into()
            }]
        );

        let drop = MergeOptions {
            drop_removed_models: true,
            ..MergeOptions::default()
        };
        let (up, down, _) = evolve(Dialect::Sqlite, &[spec(&[ID])], &[], drop).unwrap();
        assert_eq!(up, ["DROP TABLE \"historical_items\""]);
        assert!(
            down[0].starts_with("CREATE TABLE \"historical_items\" ("),
            "{down:?}"
        );
        assert_eq!(down.len(), 4, "the table and its three indexes");
    }

    #[test]
    fn a_removed_field_is_kept_nullable_or_dropped_when_asked() {
        let (up, down, notices) = evolve(
            Dialect::Postgres,
            &[spec(&[ID, CODE])],
            &[spec(&[ID])],
            MergeOptions::default(),
        )
        .unwrap();
        assert_eq!(
            up,
            ["ALTER TABLE \"historical_items\" ALTER COLUMN \"code\" DROP NOT NULL"]
        );
        // Records written while it was out of the model get its zero back.
        assert_eq!(
            down,
            [
                "UPDATE \"historical_items\" SET \"code\" = '' WHERE \"code\" IS NULL",
                "ALTER TABLE \"historical_items\" ALTER COLUMN \"code\" SET NOT NULL",
            ]
        );
        assert!(
            matches!(&notices[..], [Notice::ColumnRetained { column, .. }] if column == "code")
        );

        let drop = MergeOptions {
            drop_removed_columns: true,
            ..MergeOptions::default()
        };
        let (up, down, notices) =
            evolve(Dialect::Mysql, &[spec(&[ID, CODE])], &[spec(&[ID])], drop).unwrap();
        assert_eq!(up, ["ALTER TABLE `historical_items` DROP COLUMN `code`"]);
        assert_eq!(
            down,
            [
                "ALTER TABLE `historical_items` ADD COLUMN `code` LONGTEXT",
                "UPDATE `historical_items` SET `code` = ''",
                "ALTER TABLE `historical_items` MODIFY COLUMN `code` LONGTEXT NOT NULL",
            ]
        );
        assert!(matches!(&notices[..], [Notice::ColumnDropped { .. }]));
    }

    #[test]
    fn a_retained_column_coming_back_is_filled_and_not_null_again() {
        let dialect = Dialect::Postgres;
        let v1 = Snapshot::from_specs(dialect, &[spec(&[ID, CODE])]);
        let (v2, _) = v1.merge(
            &Snapshot::from_specs(dialect, &[spec(&[ID])]),
            MergeOptions::default(),
        );
        assert!(v2.tables[0].column("code").unwrap().retained);
        // A later run with the same models changes nothing.
        let (again, notices) = v2.merge(
            &Snapshot::from_specs(dialect, &[spec(&[ID])]),
            MergeOptions::default(),
        );
        assert_eq!(again, v2);
        assert!(notices.is_empty(), "{notices:?}");

        let (v3, _) = v2.merge(
            &Snapshot::from_specs(dialect, &[spec(&[ID, CODE])]),
            MergeOptions::default(),
        );
        let up = plan(&v2, &v3).unwrap();
        assert_eq!(
            up.statements,
            [
                "UPDATE \"historical_items\" SET \"code\" = '' WHERE \"code\" IS NULL",
                "ALTER TABLE \"historical_items\" ALTER COLUMN \"code\" SET NOT NULL",
            ]
        );
        assert_eq!(
            up.changes[0].description,
            "column `code` is back in the model"
        );
        assert_eq!(v3, v1, "the table is as first created");
    }

    #[test]
    fn a_key_column_retyped_on_mysql_rebuilds_its_prefixed_index() {
        const CODE_KEY: ColumnSpec = ColumnSpec {
            ty: ColumnType::Raw("VARCHAR(32)"),
            ..CODE
        };
        let keyed = |columns| HistoryTableSpec {
            primary_key: &["code"],
            ..spec(columns)
        };
        let (up, _, _) = evolve(
            Dialect::Mysql,
            &[keyed(&[CODE])],
            &[keyed(&[CODE_KEY])],
            MergeOptions::default(),
        )
        .unwrap();
        assert_eq!(
            up,
            [
                "DROP INDEX `historical_items_object_history_idx` ON `historical_items`",
                "ALTER TABLE `historical_items` MODIFY COLUMN `code` VARCHAR(32) NOT NULL",
                "CREATE INDEX `historical_items_object_history_idx` ON `historical_items` (`code`, `history_date`, `history_id`)",
            ]
        );
    }

    #[test]
    fn a_history_id_of_another_kind_is_refused() {
        let uuid = HistoryTableSpec {
            history_id: HistoryIdKind::Uuid,
            ..spec(&[ID])
        };
        let err = evolve(
            Dialect::Postgres,
            &[spec(&[ID])],
            &[uuid],
            MergeOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, EvolveError::Unsupported { model, change } if model == "Item" && change.contains("history_id")),
            "{err}"
        );
    }

    #[test]
    fn snapshots_read_back_as_written_and_plans_repeat() {
        let snapshot = Snapshot::from_specs(Dialect::Mysql, &[spec(&[ID, CODE])]);
        let json = snapshot.to_json();
        assert!(json.ends_with("}\n"));
        assert_eq!(Snapshot::from_json(&json).unwrap(), snapshot);
        let empty = Snapshot::empty(Dialect::Mysql);
        assert_eq!(plan(&empty, &snapshot), plan(&empty, &snapshot));
        let newer = json.replace("\"format\": 1", "\"format\": 2");
        assert!(Snapshot::from_json(&newer)
            .unwrap_err()
            .to_string()
            .contains("upgrade"));
    }
}
