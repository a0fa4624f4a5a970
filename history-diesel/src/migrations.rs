//! History migrations that follow the models, in the user's own Diesel
//! migrations folder.
//!
//! Each migration this module writes is an ordinary Diesel migration,
//! `<version>_<name>/{up.sql,down.sql}`, applied by `diesel migration run` or
//! `embed_migrations!`, plus a `history_snapshot.json`: the history tables as
//! they are once it has run. The next migration is the difference between
//! the newest snapshot and the models, so the folder itself says whether it
//! is behind: no database is needed to check it.
//!
//! Two ways to use it, both thin over [`HistoryMigrations`]:
//! - in a test, [`HistoryMigrations::assert_up_to_date`] fails `cargo test`
//!   when a model changed and its migration was not written, and writes it
//!   when `HISTORY_WRITE_MIGRATIONS=1` is set;
//! - from a small binary, `history_diesel::cli::run` (feature `cli`) gives
//!   `history migrations check` and `history migrations write`.
//!
//! What each change becomes:
//! - a new model: its `CREATE TABLE` and indexes;
//! - a field added: a column added; records written before it hold NULL
//!   (an `Option` field) or the field's `#[history(default = "...")]`, else
//!   its type's zero (`0`, `FALSE`, `''`);
//! - a field removed: by default the column stays with its values and
//!   becomes nullable (history is evidence); with
//!   [`drop_removed_columns`](HistoryMigrations::drop_removed_columns) it is
//!   dropped;
//! - a column renamed (`#[diesel(column_name)]` on the same field) or a
//!   history table renamed: renamed in place, records kept;
//! - a type or nullability changed: altered in place (`ALTER COLUMN` on
//!   PostgreSQL, `MODIFY COLUMN` on MySQL), or on SQLite, which has no
//!   `ALTER COLUMN`, by copying the table into a new one;
//! - a model no longer given: reported, and dropped only with
//!   [`drop_removed_models`](HistoryMigrations::drop_removed_models).
//!
//! On MySQL and MariaDB every DDL statement commits on its own, so a
//! migration that fails halfway stays half-applied; PostgreSQL and SQLite
//! run it in one transaction.
//!
//! ```
//! use diesel::prelude::*;
//! use history_diesel::migrations::HistoryMigrations;
//! use history_diesel::{Dialect, HistoricalRecords};
//!
//! diesel::table! {
//!     orders (id) {
//!         id -> Integer,
//!         status -> Text,
//!     }
//! }
//!
//! #[derive(Queryable, HistoricalRecords)]
//! #[diesel(table_name = orders)]
//! pub struct Order {
//!     pub id: i32,
//!     pub status: String,
//! }
//!
//! let dir = std::env::temp_dir().join(format!("history-doc-{}", std::process::id()));
//! let migrations = HistoryMigrations::new(&dir, Dialect::Sqlite, [&Order::HISTORY_TABLE]);
//! let pending = migrations.pending()?;
//! assert!(pending.up.contains("CREATE TABLE \"historical_orders\""));
//!
//! let folder = migrations.write(Some("2026-11-22-120000"), None)?.expect("a migration");
//! assert!(folder.ends_with("2026-11-22-120000_create_historical_orders"));
//! assert!(migrations.pending()?.is_empty());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use history_core::evolve::{self, Change, ChangeKind, EvolveError};
use history_core::snapshot::{MergeOptions, Notice, Snapshot, SnapshotError};

use crate::{Dialect, HistoryTableSpec};

pub use history_core::snapshot;

/// The file beside a migration's `up.sql` that records the history tables
/// once it has run.
pub const SNAPSHOT_FILE: &str = "history_snapshot.json";

/// The environment variable that makes
/// [`HistoryMigrations::assert_up_to_date`] write the missing migration
/// instead of failing.
pub const WRITE_ENV: &str = "HISTORY_WRITE_MIGRATIONS";

/// The history tables of some models, against a migrations folder.
#[derive(Debug, Clone)]
pub struct HistoryMigrations<'a> {
    dir: PathBuf,
    dialect: Dialect,
    specs: Vec<&'a HistoryTableSpec>,
    options: MergeOptions,
}

/// A migration a folder lacks: what the models have that its newest
/// snapshot does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMigration {
    /// What the migration changes, table by table.
    pub changes: Vec<Change>,
    /// What the models no longer have, and what the migration does about it.
    pub notices: Vec<Notice>,
    /// Its `up.sql`.
    pub up: String,
    /// Its `down.sql`, which takes the tables back to the folder's newest
    /// snapshot.
    pub down: String,
    /// The history tables once it has run.
    pub snapshot: Snapshot,
    /// The name it gets unless told otherwise (`create_historical_orders`).
    pub name: String,
}

impl PendingMigration {
    /// Whether the folder is up to date: nothing to change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The newest history migration of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderState {
    /// The migrations that carry a snapshot, oldest first: their versions.
    pub versions: Vec<String>,
    /// The newest snapshot (empty when the folder has none).
    pub snapshot: Snapshot,
}

/// Why a history migration could not be planned or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum MigrationError {
    /// Reading or writing the folder failed.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A snapshot file is not one this crate wrote.
    Snapshot {
        /// The file.
        path: PathBuf,
        /// The error.
        source: SnapshotError,
    },
    /// No migration takes the tables from the folder's state to the models'.
    Evolve(EvolveError),
    /// Two models of the same name were given.
    DuplicateModel(String),
    /// The migration version is not one Diesel reads, or does not come after
    /// the folder's newest.
    InvalidVersion {
        /// The version given.
        version: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            MigrationError::Snapshot { path, source } => {
                write!(f, "{}: not a history snapshot: {source}", path.display())
            }
            MigrationError::Evolve(err) => err.fmt(f),
            MigrationError::DuplicateModel(model) => {
                write!(
                    f,
                    "model {model} is given twice; each model has one history table"
                )
            }
            MigrationError::InvalidVersion { version, reason } => {
                write!(f, "invalid migration version {version:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for MigrationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MigrationError::Io { source, .. } => Some(source),
            MigrationError::Snapshot { source, .. } => Some(source),
            MigrationError::Evolve(err) => Some(err),
            MigrationError::DuplicateModel(_) | MigrationError::InvalidVersion { .. } => None,
        }
    }
}

impl From<EvolveError> for MigrationError {
    fn from(err: EvolveError) -> Self {
        MigrationError::Evolve(err)
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> MigrationError + '_ {
    move |source| MigrationError::Io {
        path: path.to_owned(),
        source,
    }
}

impl<'a> HistoryMigrations<'a> {
    /// The history tables of `models` (their `HISTORY_TABLE`s) against the
    /// migrations folder `dir`, in `dialect`.
    pub fn new(
        dir: impl Into<PathBuf>,
        dialect: Dialect,
        models: impl IntoIterator<Item = &'a HistoryTableSpec>,
    ) -> Self {
        HistoryMigrations {
            dir: dir.into(),
            dialect,
            specs: models.into_iter().collect(),
            options: MergeOptions::default(),
        }
    }

    /// Drop the columns the models no longer have, with their values (by
    /// default they stay, nullable).
    pub fn drop_removed_columns(mut self, drop: bool) -> Self {
        self.options.drop_removed_columns = drop;
        self
    }

    /// Drop the history tables of models that are no longer given, with
    /// their records (by default they stay and are reported).
    pub fn drop_removed_models(mut self, drop: bool) -> Self {
        self.options.drop_removed_models = drop;
        self
    }

    /// The migrations folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The dialect of the migrations.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The folder's history migrations and its newest snapshot.
    pub fn folder(&self) -> Result<FolderState, MigrationError> {
        let mut migrations = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(FolderState {
                    versions: Vec::new(),
                    snapshot: Snapshot::empty(self.dialect),
                })
            }
            Err(err) => return Err(io_error(&self.dir)(err)),
        };
        for entry in entries {
            let entry = entry.map_err(io_error(&self.dir))?;
            let path = entry.path().join(SNAPSHOT_FILE);
            if !path.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            migrations.push((diesel_version(&name).to_owned(), path));
        }
        // Diesel runs migrations in the order of their versions.
        migrations.sort();
        let snapshot = match migrations.last() {
            None => Snapshot::empty(self.dialect),
            Some((_, path)) => {
                let json = fs::read_to_string(path).map_err(io_error(path))?;
                let snapshot =
                    Snapshot::from_json(&json).map_err(|source| MigrationError::Snapshot {
                        path: path.clone(),
                        source,
                    })?;
                if snapshot.dialect != self.dialect {
                    return Err(EvolveError::DialectMismatch {
                        folder: snapshot.dialect,
                        wanted: self.dialect,
                    }
                    .into());
                }
                snapshot
            }
        };
        Ok(FolderState {
            versions: migrations.into_iter().map(|(version, _)| version).collect(),
            snapshot,
        })
    }

    /// The migration the folder lacks (empty when it is up to date).
    pub fn pending(&self) -> Result<PendingMigration, MigrationError> {
        let folder = self.folder()?;
        self.pending_from(&folder.snapshot)
    }

    fn pending_from(&self, folder: &Snapshot) -> Result<PendingMigration, MigrationError> {
        for (index, spec) in self.specs.iter().enumerate() {
            if self.specs[..index]
                .iter()
                .any(|other| other.model == spec.model)
            {
                return Err(MigrationError::DuplicateModel(spec.model.to_owned()));
            }
        }
        let current = Snapshot::from_specs(self.dialect, self.specs.iter().copied());
        let (snapshot, notices) = folder.merge(&current, self.options);
        let up = evolve::plan(folder, &snapshot)?;
        let down = evolve::plan(&snapshot, folder)?;
        let dialect = self.dialect.name();
        let mut up_sql = format!("-- History tables, generated by history-diesel for {dialect}.\n");
        for change in &up.changes {
            up_sql.push_str(&format!("-- {change}.\n"));
        }
        for notice in &notices {
            up_sql.push_str(&format!("-- Note: {notice}.\n"));
        }
        up_sql.push_str(&up.sql());
        let mut down_sql = format!(
            "-- Reverts the migration beside it, generated by history-diesel for {dialect}.\n"
        );
        for change in &down.changes {
            down_sql.push_str(&format!("-- {change}.\n"));
        }
        down_sql.push_str(&down.sql());
        let name = default_name(&up.changes, &snapshot);
        Ok(PendingMigration {
            changes: up.changes,
            notices,
            up: up_sql,
            down: down_sql,
            snapshot,
            name,
        })
    }

    /// Writes the migration the folder lacks as
    /// `<dir>/<version>_<name>/{up.sql,down.sql,history_snapshot.json}` and
    /// returns its folder, or `None` when the folder is up to date.
    ///
    /// `version` defaults to the current UTC time in Diesel's format
    /// (`2026-11-22-120000`) and must sort after the folder's newest history
    /// migration; `name` defaults to what the migration does
    /// (`create_historical_orders`, `update_history_tables`).
    pub fn write(
        &self,
        version: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<PathBuf>, MigrationError> {
        let folder = self.folder()?;
        let pending = self.pending_from(&folder.snapshot)?;
        if pending.is_empty() {
            return Ok(None);
        }
        let snapshot = pending.snapshot.to_json();
        self.write_files(
            &folder,
            version,
            name.unwrap_or(&pending.name),
            [&pending.up, &pending.down, &snapshot],
        )
        .map(Some)
    }

    /// Records that the history tables of the models already exist, created
    /// before this folder had snapshots (by `history_migration` or an older
    /// version of this crate): writes a migration that changes nothing and
    /// carries the models' snapshot, so the next [`write`](Self::write)
    /// starts from them. Refused when the folder has a snapshot already.
    ///
    /// Check the tables first with [`verify_history_schema`](crate::verify_history_schema):
    /// the snapshot is what the models say, not what the database has.
    pub fn baseline(&self, version: Option<&str>) -> Result<PathBuf, MigrationError> {
        let folder = self.folder()?;
        if let Some(newest) = folder.versions.last() {
            return Err(MigrationError::InvalidVersion {
                version: version.unwrap_or_default().to_owned(),
                reason: format!(
                    "the folder has history migrations already (the newest is {newest}): it needs no baseline"
                ),
            });
        }
        let dialect = self.dialect.name();
        let up = format!(
            "-- History tables, generated by history-diesel for {dialect}: the tables of the \
             snapshot beside this file existed before it; nothing to change.\nSELECT 1;\n"
        );
        let down = format!("-- Reverts the baseline beside it, generated by history-diesel for {dialect}: nothing to change.\nSELECT 1;\n");
        let snapshot = Snapshot::from_specs(self.dialect, self.specs.iter().copied()).to_json();
        self.write_files(
            &folder,
            version,
            "history_baseline",
            [&up, &down, &snapshot],
        )
    }

    /// Writes `<version>_<name>/` with `up.sql`, `down.sql` and the snapshot.
    fn write_files(
        &self,
        folder: &FolderState,
        version: Option<&str>,
        name: &str,
        [up, down, snapshot]: [&String; 3],
    ) -> Result<PathBuf, MigrationError> {
        let version = match version {
            Some(version) => version.to_owned(),
            None => chrono::Utc::now().format("%Y-%m-%d-%H%M%S").to_string(),
        };
        check_version(&version, folder.versions.last().map(String::as_str))?;
        if name.is_empty() || name.contains(['/', '\\']) {
            return Err(MigrationError::InvalidVersion {
                version: format!("{version}_{name}"),
                reason: "the migration name must be non-empty and have no path separator".into(),
            });
        }
        let path = self.dir.join(format!("{version}_{name}"));
        fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        // A folder of that name is never overwritten: it may be applied.
        fs::create_dir(&path).map_err(io_error(&path))?;
        for (file, text) in [
            ("up.sql", up),
            ("down.sql", down),
            (SNAPSHOT_FILE, snapshot),
        ] {
            let file = path.join(file);
            fs::write(&file, text).map_err(io_error(&file))?;
        }
        Ok(path)
    }

    /// Fails (panics, in a test) when the folder lacks a migration, with what
    /// it lacks and how to write it; with `HISTORY_WRITE_MIGRATIONS=1` in the
    /// environment, writes it instead and passes.
    ///
    /// ```
    /// # use diesel::prelude::*;
    /// # use history_diesel::migrations::HistoryMigrations;
    /// # use history_diesel::{Dialect, HistoricalRecords};
    /// # diesel::table! { orders (id) { id -> Integer, status -> Text, } }
    /// # #[derive(Queryable, HistoricalRecords)]
    /// # #[diesel(table_name = orders)]
    /// # pub struct Order { pub id: i32, pub status: String }
    /// # let dir = std::env::temp_dir().join(format!("history-doc-assert-{}", std::process::id()));
    /// // In a test of the application: `dir` is its `migrations` folder.
    /// let migrations = HistoryMigrations::new(&dir, Dialect::Sqlite, [&Order::HISTORY_TABLE]);
    /// let behind = std::panic::catch_unwind(|| migrations.assert_up_to_date());
    /// # if std::env::var_os("HISTORY_WRITE_MIGRATIONS").is_none() {
    /// assert!(behind.is_err(), "the folder has no migration for Order yet");
    /// # }
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// ```
    #[track_caller]
    pub fn assert_up_to_date(&self) {
        let pending = match self.pending() {
            Ok(pending) => pending,
            Err(err) => panic!("history migrations in {}: {err}", self.dir.display()),
        };
        for notice in &pending.notices {
            eprintln!("history migrations: {notice}");
        }
        if pending.is_empty() {
            return;
        }
        let wanted = std::env::var(WRITE_ENV).is_ok_and(|value| !value.is_empty() && value != "0");
        if wanted {
            match self.write(None, None) {
                Ok(Some(path)) => {
                    eprintln!(
                        "history migrations: wrote {}; review and commit it",
                        path.display()
                    );
                    return;
                }
                Ok(None) => return,
                Err(err) => panic!("history migrations in {}: {err}", self.dir.display()),
            }
        }
        panic!("{}", behind_message(&self.dir, &pending));
    }
}

/// The message of a folder that lacks a migration: what changes, how to
/// write it, and the SQL it would hold.
pub fn behind_message(dir: &Path, pending: &PendingMigration) -> String {
    let mut message = format!(
        "the history migrations in {} are behind the models:\n",
        dir.display()
    );
    for change in &pending.changes {
        message.push_str(&format!("  - {change}\n"));
    }
    message.push_str(&format!(
        "write the missing migration with `{WRITE_ENV}=1 cargo test` or \
         `cargo run --bin history -- migrations write`, then review and commit it.\n\n\
         its up.sql would be:\n{}",
        pending.up
    ));
    message
}

/// Diesel's version of a migration folder: its name up to the first `_`.
fn diesel_version(folder: &str) -> &str {
    folder
        .split_once('_')
        .map_or(folder, |(version, _)| version)
}

fn check_version(version: &str, newest: Option<&str>) -> Result<(), MigrationError> {
    let invalid = |reason: String| MigrationError::InvalidVersion {
        version: version.to_owned(),
        reason,
    };
    if version.is_empty() || version.contains(['_', '/', '\\']) {
        return Err(invalid(
            "expected something like 2026-11-22-120000 (no `_`: Diesel ends the version at the first one)".into(),
        ));
    }
    match newest {
        Some(newest) if version <= newest => Err(invalid(format!(
            "it must come after the folder's newest history migration, {newest}, which Diesel runs before it"
        ))),
        Some(_) | None => Ok(()),
    }
}

fn default_name(changes: &[Change], snapshot: &Snapshot) -> String {
    let created = changes
        .iter()
        .filter(|change| change.kind == ChangeKind::TableCreated)
        .count();
    match (created, changes) {
        (1, [only]) => match snapshot.table(&only.model) {
            Some(table) => format!("create_{}", table.history_table),
            None => "create_history_table".to_owned(),
        },
        _ if created == changes.len() => "create_history_tables".to_owned(),
        _ => "update_history_tables".to_owned(),
    }
}
