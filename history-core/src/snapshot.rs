//! What a migrations folder has created: the history tables as plain data.
//!
//! Every migration history-diesel writes carries a [`Snapshot`] beside its
//! `up.sql` and `down.sql` (`history_snapshot.json`): the state of *every*
//! history table once that migration has run. The next migration is the
//! difference between the newest snapshot and the models' current specs
//! ([`Snapshot::merge`], then [`crate::evolve::plan`]), so a folder needs no
//! database to tell whether it is behind.
//!
//! A snapshot holds each column's type as the dialect writes it
//! (`VARCHAR(100)`, `LONGTEXT`), not the model's SQL type family: what a
//! table *is* must not change when a later version of this crate maps a Rust
//! type to another column type.

use serde::{Deserialize, Serialize};

use crate::columns::{HistoryColumn, HISTORY_DATE, HISTORY_ID, HISTORY_USER_ID};
use crate::dialect::Dialect;
use crate::spec::{Capture, ColumnType, HistoryTableSpec, SqlKind, TableName};

/// The version of the snapshot file format this crate writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// The history tables a migrations folder creates, as of one migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// [`SNAPSHOT_FORMAT`] when written.
    pub format: u32,
    /// The dialect the folder's SQL is written in.
    pub dialect: Dialect,
    /// Every history table, sorted by history table name.
    pub tables: Vec<TableSnapshot>,
}

/// One history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSnapshot {
    /// The model's type name: how a table is matched across migrations, so a
    /// renamed history table is renamed, not dropped and created.
    pub model: String,
    /// The source table.
    pub source_table: String,
    /// The source table's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_schema: Option<String>,
    /// The history table.
    pub history_table: String,
    /// The history table's schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_schema: Option<String>,
    /// The source table's primary key columns.
    pub primary_key: Vec<String>,
    /// Every column, in the table's physical order.
    pub columns: Vec<ColumnSnapshot>,
    /// Every index, in creation order.
    pub indexes: Vec<IndexSnapshot>,
    /// The triggers that write the records, for a model in trigger capture
    /// ([`crate::capture`]); `None` in client capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<TriggerSnapshot>,
}

/// The options a table's capture triggers were written with: with the
/// table's columns, all that their statements depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerSnapshot {
    /// The triggers refuse a write without a user.
    #[serde(default, skip_serializing_if = "is_false")]
    pub require_user: bool,
    /// The update trigger records nothing when no tracked column changed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_unchanged: bool,
    /// The version of the statements the triggers were written with
    /// ([`TRIGGER_VERSION`](crate::capture::TRIGGER_VERSION)); left out of
    /// the file while it is the first.
    #[serde(
        default = "first_trigger_version",
        skip_serializing_if = "is_first_trigger_version"
    )]
    pub version: u32,
}

fn first_trigger_version() -> u32 {
    1
}

fn is_first_trigger_version(version: &u32) -> bool {
    *version == first_trigger_version()
}

/// One column of a history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSnapshot {
    /// The column's name.
    pub name: String,
    /// The model's Rust field for a tracked column (`None` for the history
    /// columns): a column whose name changed but whose field did not is a
    /// rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The column type as the dialect writes it.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether the column accepts NULL.
    pub nullable: bool,
    /// The whole definition after the name, where it says more than the type
    /// and `NOT NULL` (a key, an identity, a check): written verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// For a `NOT NULL` column, the SQL value rows get where they have none
    /// (records written before the column existed, or while it was nullable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The model no longer has the column, and history keeps it: older
    /// records keep their values, newer ones hold NULL.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retained: bool,
}

/// One index of a history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSnapshot {
    /// The index's name.
    pub name: String,
    /// Its columns, in key order.
    pub columns: Vec<IndexColumn>,
}

/// One column of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexColumn {
    /// The column's name.
    pub name: String,
    /// How many leading characters the index keeps, where the backend indexes
    /// only a prefix ([`Dialect::index_prefix`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u32>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Why a file is not a snapshot this crate reads.
#[derive(Debug)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Not the JSON of a snapshot.
    Json(serde_json::Error),
    /// A format this version does not know (written by a newer one).
    Format(u32),
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Json(err) => err.fmt(f),
            SnapshotError::Format(format) => write!(
                f,
                "snapshot format {format}, but this version of history-diesel reads format \
                 {SNAPSHOT_FORMAT}: upgrade it"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SnapshotError::Json(err) => Some(err),
            SnapshotError::Format(_) => None,
        }
    }
}

/// What to do with what the models no longer have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeOptions {
    /// Drop a column the model no longer has, with its data. By default it is
    /// kept (history is evidence) and made nullable.
    pub drop_removed_columns: bool,
    /// Drop the history table of a model that is gone, with its data. By
    /// default it stays, and every run reports it.
    pub drop_removed_models: bool,
}

/// Something a merge decided that the user should read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A column the model no longer has stays in history, now nullable.
    ColumnRetained {
        /// The model.
        model: String,
        /// The column.
        column: String,
    },
    /// A column the model no longer has is dropped, with its data.
    ColumnDropped {
        /// The model.
        model: String,
        /// The column.
        column: String,
    },
    /// The folder has the history table of a model that was not given; the
    /// table stays.
    ModelMissing {
        /// The model.
        model: String,
        /// Its history table.
        table: String,
    },
    /// The history table of a model that was not given is dropped.
    ModelDropped {
        /// The model.
        model: String,
        /// Its history table.
        table: String,
    },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::ColumnRetained { model, column } => write!(
                f,
                "{model}: column `{column}` is no longer in the model; history keeps it and its \
                 values (new records hold NULL); drop it with --drop-removed-columns"
            ),
            Notice::ColumnDropped { model, column } => write!(
                f,
                "{model}: column `{column}` is no longer in the model; dropped from history with \
                 its values (--drop-removed-columns)"
            ),
            Notice::ModelMissing { model, table } => write!(
                f,
                "{model}: not among the models given; its history table `{table}` stays; drop it \
                 with --drop-removed-models"
            ),
            Notice::ModelDropped { model, table } => write!(
                f,
                "{model}: not among the models given; its history table `{table}` is dropped with \
                 its records (--drop-removed-models)"
            ),
        }
    }
}

impl Snapshot {
    /// A snapshot with no tables: the state of a folder without history
    /// migrations.
    pub fn empty(dialect: Dialect) -> Snapshot {
        Snapshot {
            format: SNAPSHOT_FORMAT,
            dialect,
            tables: Vec::new(),
        }
    }

    /// The tables `specs` describe, as a fresh migration creates them.
    pub fn from_specs<'a>(
        dialect: Dialect,
        specs: impl IntoIterator<Item = &'a HistoryTableSpec>,
    ) -> Snapshot {
        let mut tables: Vec<_> = specs
            .into_iter()
            .map(|spec| TableSnapshot::from_spec(spec, dialect))
            .collect();
        sort_tables(&mut tables);
        Snapshot {
            format: SNAPSHOT_FORMAT,
            dialect,
            tables,
        }
    }

    /// The table of `model`.
    pub fn table(&self, model: &str) -> Option<&TableSnapshot> {
        self.tables.iter().find(|table| table.model == model)
    }

    /// The folder's tables brought up to the models' (`current`, from
    /// [`Snapshot::from_specs`]): tables and columns matched by model and
    /// column name, a column whose name changed matched by its field, new
    /// columns after the existing ones, and what the models no longer have
    /// kept or dropped as `options` say.
    pub fn merge(&self, current: &Snapshot, options: MergeOptions) -> (Snapshot, Vec<Notice>) {
        let mut notices = Vec::new();
        let mut tables = Vec::with_capacity(current.tables.len());
        for table in &current.tables {
            match self.table(&table.model) {
                Some(old) => tables.push(merge_table(old, table, options, &mut notices)),
                None => tables.push(table.clone()),
            }
        }
        for old in &self.tables {
            if current.table(&old.model).is_some() {
                continue;
            }
            let (model, table) = (old.model.clone(), old.history_table.clone());
            if options.drop_removed_models {
                notices.push(Notice::ModelDropped { model, table });
            } else {
                notices.push(Notice::ModelMissing { model, table });
                tables.push(old.clone());
            }
        }
        sort_tables(&mut tables);
        let merged = Snapshot {
            format: SNAPSHOT_FORMAT,
            dialect: current.dialect,
            tables,
        };
        (merged, notices)
    }

    /// The snapshot as its file holds it: pretty JSON and a final newline,
    /// the same bytes for the same tables.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("a snapshot is plain data");
        json.push('\n');
        json
    }

    /// Reads a snapshot file's text.
    pub fn from_json(json: &str) -> Result<Snapshot, SnapshotError> {
        let snapshot: Snapshot = serde_json::from_str(json).map_err(SnapshotError::Json)?;
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format(snapshot.format));
        }
        Ok(snapshot)
    }
}

fn sort_tables(tables: &mut [TableSnapshot]) {
    tables.sort_by(|a, b| {
        (&a.history_schema, &a.history_table, &a.model).cmp(&(
            &b.history_schema,
            &b.history_table,
            &b.model,
        ))
    });
}

fn merge_table(
    old: &TableSnapshot,
    current: &TableSnapshot,
    options: MergeOptions,
    notices: &mut Vec<Notice>,
) -> TableSnapshot {
    let pairs = match_columns(&old.columns, &current.columns);
    let mut columns = Vec::with_capacity(old.columns.len().max(current.columns.len()));
    for (index, column) in old.columns.iter().enumerate() {
        match pairs.iter().find(|(from, _)| *from == index) {
            Some((_, to)) => columns.push(current.columns[*to].clone()),
            None if options.drop_removed_columns => notices.push(Notice::ColumnDropped {
                model: current.model.clone(),
                column: column.name.clone(),
            }),
            None => {
                if !column.retained {
                    notices.push(Notice::ColumnRetained {
                        model: current.model.clone(),
                        column: column.name.clone(),
                    });
                }
                columns.push(ColumnSnapshot {
                    nullable: true,
                    retained: true,
                    ..column.clone()
                });
            }
        }
    }
    for (index, column) in current.columns.iter().enumerate() {
        if !pairs.iter().any(|(_, to)| *to == index) {
            columns.push(column.clone());
        }
    }
    TableSnapshot {
        columns,
        ..current.clone()
    }
}

/// Pairs `(from, to)` of the same column in two versions of a table: by
/// name, then, for a tracked column whose name is in only one of them, by
/// its Rust field (a rename). The merge and the plan both match this way.
pub(crate) fn match_columns(from: &[ColumnSnapshot], to: &[ColumnSnapshot]) -> Vec<(usize, usize)> {
    let has = |columns: &[ColumnSnapshot], name: &str| columns.iter().any(|c| c.name == name);
    let mut pairs = Vec::new();
    for (to_index, column) in to.iter().enumerate() {
        let by_name = from.iter().position(|old| old.name == column.name);
        let by_field = || {
            let field = column.field.as_ref()?;
            if has(from, &column.name) {
                return None;
            }
            from.iter().position(|old| {
                old.field.as_ref() == Some(field) && !old.retained && !has(to, &old.name)
            })
        };
        if let Some(from_index) = by_name.or_else(by_field) {
            pairs.push((from_index, to_index));
        }
    }
    pairs
}

impl TableSnapshot {
    /// The table `spec` describes, as a fresh migration creates it.
    pub fn from_spec(spec: &HistoryTableSpec, dialect: Dialect) -> TableSnapshot {
        let history_column = |column: HistoryColumn| spec.history_column_snapshot(dialect, column);
        let mut columns = Vec::with_capacity(spec.column_names().len());
        columns.push(history_column(HistoryColumn::Id));
        for column in spec.columns {
            // The widest type of the column's family (LONGTEXT, not TEXT, on
            // MySQL), key or not: a history column must hold whatever its
            // source column holds, and the spec knows the Rust type, not the
            // source's width.
            let default = if column.nullable {
                None
            } else {
                column
                    .default
                    .map(str::to_owned)
                    .or_else(|| zero_value(dialect, column.ty).map(str::to_owned))
            };
            columns.push(ColumnSnapshot {
                name: column.name.to_owned(),
                field: Some(column.field.to_owned()),
                ty: dialect.column_type(column.ty).to_owned(),
                nullable: column.nullable,
                definition: None,
                default,
                retained: false,
            });
        }
        columns.extend(spec.recorded_columns().map(history_column));

        let mut object_columns: Vec<&str> = spec.primary_key.to_vec();
        object_columns.extend([HISTORY_DATE, HISTORY_ID]);
        let indexes: [(&str, &[&str]); 3] = [
            ("object_history_idx", &object_columns),
            ("history_date_idx", &[HISTORY_DATE]),
            ("history_user_id_idx", &[HISTORY_USER_ID]),
        ];
        let indexes = indexes
            .into_iter()
            .map(|(suffix, names)| IndexSnapshot {
                name: crate::migration::index_name(dialect, spec.history_table, suffix),
                columns: names
                    .iter()
                    .map(|name| IndexColumn {
                        name: (*name).to_owned(),
                        prefix: spec
                            .indexed_column_type(name)
                            .and_then(|ty| dialect.index_prefix(ty)),
                    })
                    .collect(),
            })
            .collect();

        TableSnapshot {
            model: spec.model.to_owned(),
            source_table: spec.source_table.to_owned(),
            source_schema: spec.source_schema.map(str::to_owned),
            history_table: spec.history_table.to_owned(),
            history_schema: spec.history_schema.map(str::to_owned),
            primary_key: spec
                .primary_key
                .iter()
                .map(|key| (*key).to_owned())
                .collect(),
            columns,
            indexes,
            triggers: (spec.capture == Capture::Trigger).then_some(TriggerSnapshot {
                require_user: spec.require_user,
                skip_unchanged: spec.skip_unchanged,
                version: crate::capture::TRIGGER_VERSION,
            }),
        }
    }

    /// The history table, in its schema.
    pub fn history(&self) -> TableName<'_> {
        TableName {
            schema: self.history_schema.as_deref(),
            name: &self.history_table,
        }
    }

    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&ColumnSnapshot> {
        self.columns.iter().find(|column| column.name == name)
    }
}

impl ColumnSnapshot {
    /// The column's definition after its name, as `CREATE TABLE` writes it.
    pub fn sql_definition(&self) -> String {
        match &self.definition {
            Some(definition) => definition.clone(),
            None if self.nullable => self.ty.clone(),
            None => format!("{} NOT NULL", self.ty),
        }
    }
}

/// The value a `NOT NULL` column of this type gets in rows that have none,
/// where the type has an obvious one; dates, times, UUIDs, JSON and stated
/// types have none, and need `#[history(default = "...")]`.
fn zero_value(dialect: Dialect, ty: ColumnType) -> Option<&'static str> {
    use SqlKind::*;
    match ty {
        ColumnType::Raw(_) => None,
        ColumnType::Kind(kind) => match kind {
            TinyInt | SmallInt | Integer | BigInt | Float | Double | Numeric => Some("0"),
            Bool => Some("FALSE"),
            Text => Some("''"),
            Binary => Some(match dialect {
                Dialect::Postgres => "''",
                Dialect::Sqlite | Dialect::Mysql => "X''",
            }),
            Date | Time | Timestamp | Timestamptz | Uuid | Json | Jsonb => None,
        },
    }
}
