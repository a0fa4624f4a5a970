//! Does a live database have the history tables its models need?
//!
//! [`verify_history_schema`] reads the database's own catalog
//! (`pg_catalog`, `information_schema`, SQLite's pragmas) and compares each
//! model's history table with what it should be: the migrations folder's
//! newest snapshot when one is given (so a column the folder kept for a
//! removed field is expected, not drift), else the model's own spec. Call it
//! at application start-up to refuse to run against a schema that would
//! fail on the first write, or run `history verify` (the `cli` feature) in a
//! deployment pipeline.
//!
//! ```
//! use diesel::connection::SimpleConnection;
//! use diesel::prelude::*;
//! use history_diesel::verify::{verify_history_schema, ProblemKind};
//! use history_diesel::{Dialect, HistoricalRecords};
//!
//! diesel::table! { orders (id) { id -> Integer, status -> Text, } }
//!
//! #[derive(Queryable, HistoricalRecords)]
//! #[diesel(table_name = orders)]
//! pub struct Order { pub id: i32, pub status: String }
//!
//! let mut conn = SqliteConnection::establish(":memory:")?;
//! conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
//! let report = verify_history_schema(&mut conn, [&Order::HISTORY_TABLE], None)?;
//! assert!(report.is_ok(), "{report}");
//!
//! conn.batch_execute("DROP INDEX historical_orders_history_date_idx")?;
//! let report = verify_history_schema(&mut conn, [&Order::HISTORY_TABLE], None)?;
//! assert_eq!(
//!     report.problems[0].kind,
//!     ProblemKind::MissingIndex { index: "historical_orders_history_date_idx".into() }
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod catalog;

use std::fmt;

use diesel::connection::LoadConnection;
use history_core::snapshot::{IndexSnapshot, TableSnapshot};

pub use catalog::CatalogBackend;
#[doc(hidden)]
pub use catalog::{CatalogColumn, CatalogIndex};

use crate::migrations::FolderState;
use crate::{HistoryBackend, HistoryError, HistoryTableSpec};

/// What [`verify_history_schema`] found: nothing when the database is as
/// the models need it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchemaReport {
    /// Every difference, model by model, then migrations not yet run.
    pub problems: Vec<SchemaProblem>,
}

impl SchemaReport {
    /// Whether the database has every history table as it should be.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for SchemaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.is_empty() {
            return f.write_str("the history tables are as the models need them");
        }
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// One difference between the database and a model's history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// The model (empty for [`ProblemKind::PendingMigrations`], which is the
    /// folder's, not a model's).
    pub model: String,
    /// The history table (empty for [`ProblemKind::PendingMigrations`]).
    pub table: String,
    /// What differs.
    pub kind: ProblemKind,
}

/// What differs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The history table does not exist (its columns are not reported).
    MissingTable,
    /// A column the table should have is missing.
    MissingColumn {
        /// The column.
        column: String,
        /// Its type.
        expected: String,
    },
    /// The table has a column the model and the folder do not know.
    ExtraColumn {
        /// The column.
        column: String,
    },
    /// A column has another type.
    TypeMismatch {
        /// The column.
        column: String,
        /// The type it should have, as a migration writes it.
        expected: String,
        /// The type the catalog reports.
        found: String,
    },
    /// A column accepts NULL where it should not, or the other way round.
    NullabilityMismatch {
        /// The column.
        column: String,
        /// Whether it should accept NULL.
        expected_nullable: bool,
    },
    /// An index is missing, or has other columns.
    MissingIndex {
        /// The index.
        index: String,
    },
    /// Client capture only: live rows whose object's newest record is not a
    /// `+` or `~` with their current values, or that have none: rows a
    /// write outside the helpers created or changed (plain Diesel, `psql`,
    /// another program). `Populate` records them; trigger capture records
    /// such writes as they happen.
    UnrecordedRows {
        /// How many.
        rows: i64,
    },
    /// Migrations of the folder that the database has not run, oldest first.
    PendingMigrations {
        /// Their versions.
        versions: Vec<String>,
    },
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (model, table) = (&self.model, &self.table);
        match &self.kind {
            ProblemKind::MissingTable => {
                write!(f, "{model}: history table `{table}` does not exist")
            }
            ProblemKind::MissingColumn { column, expected } => write!(
                f,
                "{model}: history table `{table}` lacks column `{column}` ({expected})"
            ),
            ProblemKind::ExtraColumn { column } => write!(
                f,
                "{model}: history table `{table}` has column `{column}`, which neither the model nor the migrations know"
            ),
            ProblemKind::TypeMismatch { column, expected, found } => write!(
                f,
                "{model}: column `{column}` of `{table}` is {found}, not {expected}"
            ),
            ProblemKind::NullabilityMismatch { column, expected_nullable } => write!(
                f,
                "{model}: column `{column}` of `{table}` {}",
                if *expected_nullable { "is NOT NULL, but should accept NULL" } else { "accepts NULL, but should be NOT NULL" }
            ),
            ProblemKind::MissingIndex { index } => write!(
                f,
                "{model}: history table `{table}` lacks index `{index}` (or it has other columns)"
            ),
            ProblemKind::UnrecordedRows { rows } => write!(
                f,
                "{model}: {rows} live row(s) of its table differ from their newest record in `{table}` \
                 (written outside the history helpers)"
            ),
            ProblemKind::PendingMigrations { versions } => write!(
                f,
                "the database has not run {} history migration(s) of the folder: {}",
                versions.len(),
                versions.join(", ")
            ),
        }
    }
}

/// Compares the database's history tables of `models` with what they should
/// be; see the [module docs](self). `folder` (from
/// [`HistoryMigrations::folder`](crate::migrations::HistoryMigrations::folder))
/// makes its newest snapshot the reference and adds the check that Diesel
/// has run each of its history migrations.
///
/// Reads the catalog only; a database error is [`HistoryError::Database`].
pub fn verify_history_schema<'a, C>(
    conn: &mut C,
    models: impl IntoIterator<Item = &'a HistoryTableSpec>,
    folder: Option<&FolderState>,
) -> Result<SchemaReport, HistoryError>
where
    C: LoadConnection,
    C::Backend: CatalogBackend,
{
    let dialect = <C::Backend as HistoryBackend>::DIALECT;
    let mut report = SchemaReport::default();
    for spec in models {
        let expected = folder
            .and_then(|folder| folder.snapshot.table(spec.model))
            .cloned()
            .unwrap_or_else(|| TableSnapshot::from_spec(spec, dialect));
        let before = report.problems.len();
        compare_table::<C>(conn, &expected, &mut report)?;
        // Only a table as it should be can be compared row by row, with
        // its source table there.
        let comparable = spec.capture == crate::Capture::Client
            && report.problems.len() == before
            && !C::Backend::columns(conn, spec.source())
                .map_err(HistoryError::Database)?
                .is_empty();
        if comparable {
            let rows = C::Backend::count(conn, &spec.unrecorded_rows_sql(dialect))
                .map_err(HistoryError::Database)?;
            if rows > 0 {
                report.problems.push(SchemaProblem {
                    model: spec.model.to_owned(),
                    table: spec.history_table.to_owned(),
                    kind: ProblemKind::UnrecordedRows { rows },
                });
            }
        }
    }
    if let Some(folder) = folder {
        let applied = C::Backend::applied_versions(conn).map_err(HistoryError::Database)?;
        // Diesel records a folder's version without its dashes.
        let applied: Vec<String> = applied.iter().map(|v| v.replace('-', "")).collect();
        let versions: Vec<String> = folder
            .versions
            .iter()
            .filter(|version| !applied.contains(&version.replace('-', "")))
            .cloned()
            .collect();
        if !versions.is_empty() {
            report.problems.push(SchemaProblem {
                model: String::new(),
                table: String::new(),
                kind: ProblemKind::PendingMigrations { versions },
            });
        }
    }
    Ok(report)
}

fn compare_table<C>(
    conn: &mut C,
    expected: &TableSnapshot,
    report: &mut SchemaReport,
) -> Result<(), HistoryError>
where
    C: LoadConnection,
    C::Backend: CatalogBackend,
{
    let dialect = <C::Backend as HistoryBackend>::DIALECT;
    let table = expected.history();
    let mut problem = |kind| {
        report.problems.push(SchemaProblem {
            model: expected.model.clone(),
            table: expected.history_table.clone(),
            kind,
        })
    };
    let columns = C::Backend::columns(conn, table).map_err(HistoryError::Database)?;
    if columns.is_empty() {
        problem(ProblemKind::MissingTable);
        return Ok(());
    }
    for column in &expected.columns {
        let Some(found) = columns.iter().find(|found| found.name == column.name) else {
            problem(ProblemKind::MissingColumn {
                column: column.name.clone(),
                expected: column.ty.clone(),
            });
            continue;
        };
        if !dialect.same_column_type(&column.ty, &found.ty) {
            problem(ProblemKind::TypeMismatch {
                column: column.name.clone(),
                expected: column.ty.clone(),
                found: found.ty.clone(),
            });
        }
        if column.nullable != (found.nullable == "YES") {
            problem(ProblemKind::NullabilityMismatch {
                column: column.name.clone(),
                expected_nullable: column.nullable,
            });
        }
    }
    for found in &columns {
        if expected.column(&found.name).is_none() {
            problem(ProblemKind::ExtraColumn {
                column: found.name.clone(),
            });
        }
    }
    let indexes = C::Backend::indexes(conn, table).map_err(HistoryError::Database)?;
    for index in &expected.indexes {
        let present = indexes
            .iter()
            .any(|found| found.name == index.name && found.columns == index_columns(index));
        if !present {
            problem(ProblemKind::MissingIndex {
                index: index.name.clone(),
            });
        }
    }
    Ok(())
}

/// An index's columns as [`CatalogIndex::columns`] lists them.
fn index_columns(index: &IndexSnapshot) -> String {
    index
        .columns
        .iter()
        .map(|column| match column.prefix {
            Some(prefix) => format!("{}({prefix})", column.name),
            None => column.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}
