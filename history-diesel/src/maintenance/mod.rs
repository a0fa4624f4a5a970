//! Day-2 operations on history tables: backfill a baseline record for rows
//! that have none ([`Populate`]), delete records that repeat the one before
//! them ([`CleanDuplicates`]), prune old records ([`CleanOld`]) and count
//! what a table holds ([`history_stats`]).
//!
//! Every operation is set-based: one `INSERT .. SELECT` or `DELETE` per
//! chunk, never a row through the application. A table is walked in keyset
//! chunks of its first primary-key column (integer and text keys; any other
//! key type is one chunk), and each chunk is its own transaction, so an
//! operation stopped between chunks (its callback returns
//! [`ControlFlow::Break`]) has committed whole chunks only, and running it
//! again carries on. Call them outside a transaction
//! ([`HistoryError::InTransaction`] otherwise).
//!
//! ```
//! use std::ops::ControlFlow;
//! use diesel::connection::SimpleConnection;
//! use diesel::prelude::*;
//! use history_diesel::maintenance::Populate;
//! use history_diesel::{Dialect, HistoricalRecords};
//!
//! diesel::table! { orders (id) { id -> Integer, status -> Text, } }
//!
//! #[derive(Queryable, HistoricalRecords)]
//! #[diesel(table_name = orders)]
//! pub struct Order { pub id: i32, pub status: String }
//!
//! let mut conn = SqliteConnection::establish(":memory:")?;
//! conn.batch_execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL)")?;
//! conn.batch_execute(&Order::history_migration(Dialect::Sqlite).up)?;
//! conn.batch_execute("INSERT INTO orders VALUES (1, 'new'), (2, 'paid')")?;
//!
//! let outcome = Populate::new(&Order::HISTORY_TABLE)
//!     .chunk_size(1)
//!     .run(&mut conn, |_progress| ControlFlow::Continue(()))?;
//! assert_eq!((outcome.records, outcome.chunks), (2, 2));
//! // Idempotent: every row has its record now.
//! let again = Populate::new(&Order::HISTORY_TABLE).run(&mut conn, |_| ControlFlow::Continue(()))?;
//! assert_eq!(again.records, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive;
mod backend;
mod chunks;
mod sql;

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use diesel::connection::LoadConnection;

pub use self::archive::{Archive, ArchiveFormat};
use self::backend::ChunkLock;
pub use self::backend::MaintenanceBackend;
use self::chunks::{in_chunk, outside_transaction, walk};
use self::sql::{Bind, Selection, Sql};
use crate::backend::shared::missing_history_table;
use crate::{HistoryBackend, HistoryContext, HistoryError, HistoryTableSpec, SqlKind};

/// The change reason of a backfilled record when the context gives none.
pub const DEFAULT_POPULATE_REASON: &str = "history backfill";

/// The rows a chunk reads, unless an operation is told otherwise: large
/// enough that per-statement costs vanish, small enough that a chunk's
/// transaction (and a backfill's lock on the source table) stays short.
pub const DEFAULT_CHUNK_SIZE: usize = 10_000;

/// Where an operation is, after each chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The model.
    pub model: &'static str,
    /// Rows of the walked table read so far (about: a chunk of a composite
    /// key holds whole groups of its first column).
    pub scanned: u64,
    /// Rows the walked table had when the operation started: the source
    /// table for a backfill, the history table otherwise.
    pub total: u64,
    /// Records written, deleted or (in a dry run) counted so far.
    pub records: u64,
    /// Chunks done.
    pub chunks: u64,
}

/// What an operation did to one model's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The model.
    pub model: &'static str,
    /// Records written (backfill) or deleted; in a dry run, those it would.
    pub records: u64,
    /// Chunks done, each committed on its own.
    pub chunks: u64,
    /// Whether nothing was changed: the records were only counted.
    pub dry_run: bool,
    /// Whether the callback stopped it before the last chunk; run it again
    /// to finish.
    pub interrupted: bool,
}

/// The acting user of a backfill, typed as the model's `history_user_id`:
/// an integer or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserId {
    /// An integer id (`SmallInt`, `Integer`, `BigInt` columns).
    Integer(i64),
    /// A text id.
    Text(String),
}

impl UserId {
    /// Reads a user id given as text (a command-line argument) as the type
    /// of `spec`'s `history_user_id`.
    pub fn parse_for(spec: &HistoryTableSpec, text: &str) -> Result<UserId, HistoryError> {
        match spec.user_id {
            SqlKind::TinyInt | SqlKind::SmallInt | SqlKind::Integer | SqlKind::BigInt => text
                .parse()
                .map(UserId::Integer)
                .map_err(|_| HistoryError::Unsupported {
                    model: spec.model,
                    detail: format!("the user id `{text}` is not an integer"),
                }),
            SqlKind::Text => Ok(UserId::Text(text.to_owned())),
            other => Err(unsupported_user(spec, other)),
        }
    }

    fn bind(user: Option<&UserId>, spec: &HistoryTableSpec) -> Result<Bind, HistoryError> {
        let integer = matches!(
            spec.user_id,
            SqlKind::TinyInt | SqlKind::SmallInt | SqlKind::Integer | SqlKind::BigInt
        );
        match (user, integer, spec.user_id) {
            (None, true, _) => Ok(Bind::BigInt(None)),
            (Some(UserId::Integer(id)), true, _) => Ok(Bind::BigInt(Some(*id))),
            (None, false, SqlKind::Text) => Ok(Bind::Text(None)),
            (Some(UserId::Text(id)), false, SqlKind::Text) => Ok(Bind::Text(Some(id.clone()))),
            (_, _, kind) => Err(unsupported_user(spec, kind)),
        }
    }
}

fn unsupported_user(spec: &HistoryTableSpec, kind: SqlKind) -> HistoryError {
    HistoryError::Unsupported {
        model: spec.model,
        detail: format!(
            "a backfill records integer or text user ids; this history_user_id is {kind:?}"
        ),
    }
}

macro_rules! user_id_from {
    ($($int:ty),*) => {$(
        impl From<$int> for UserId {
            fn from(id: $int) -> Self {
                UserId::Integer(i64::from(id))
            }
        }
    )*};
}
user_id_from!(i16, i32, i64);

impl From<String> for UserId {
    fn from(id: String) -> Self {
        UserId::Text(id)
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> Self {
        UserId::Text(id.to_owned())
    }
}

/// The chunk size, never zero.
fn chunk_size(size: usize) -> usize {
    size.max(1)
}

/// Backfill: a `+` record, with the row's current values, for every row of
/// the model's table that has no history record at all.
///
/// One `INSERT INTO history SELECT .. FROM table WHERE NOT EXISTS (..)` per
/// chunk; it reads the tracked columns only (excluded fields are never
/// read). Idempotent: a second run writes nothing. The record's user,
/// reason and date come from [`context`](Self::context) (reason
/// [`DEFAULT_POPULATE_REASON`] without one; date now without one).
///
/// A row written by the application while the backfill runs gets at most
/// one `+`, and its last record holds its current values: each chunk's
/// transaction holds off writers of its rows until it commits (PostgreSQL
/// `LOCK TABLE .. IN SHARE MODE` on the source table, MySQL shared row
/// locks, SQLite's one writer), so a row is either recorded by its writer
/// before the chunk reads it, or changed after the chunk committed.
#[derive(Debug, Clone)]
#[must_use = "an operation does nothing until it is run"]
pub struct Populate<'a> {
    spec: &'a HistoryTableSpec,
    chunk_size: usize,
    context: HistoryContext<UserId>,
    dry_run: bool,
}

impl<'a> Populate<'a> {
    /// A backfill of the model `spec` describes (`Order::HISTORY_TABLE`).
    pub fn new(spec: &'a HistoryTableSpec) -> Self {
        Populate {
            spec,
            chunk_size: DEFAULT_CHUNK_SIZE,
            context: HistoryContext::new(),
            dry_run: false,
        }
    }

    /// Rows per chunk ([`DEFAULT_CHUNK_SIZE`]).
    pub fn chunk_size(mut self, rows: usize) -> Self {
        self.chunk_size = chunk_size(rows);
        self
    }

    /// The user, reason and date of the records. Request columns are left
    /// empty: a backfill comes from no request.
    pub fn context<U>(mut self, context: &HistoryContext<U>) -> Self
    where
        U: Clone + Send + Sync + Into<UserId> + 'static,
    {
        let context = context.resolved();
        let mut converted = HistoryContext::new();
        if let Some(user) = context.get_user() {
            converted = converted.user(user.clone().into());
        }
        if let Some(reason) = context.get_reason() {
            converted = converted.reason(reason);
        }
        if let Some(date) = context.get_date() {
            converted = converted.at(date);
        }
        if context.requires_user() {
            converted = converted.require_user();
        }
        self.context = converted;
        self
    }

    /// Count the rows without history instead of recording them.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Runs the backfill, calling `on_chunk` after each committed chunk.
    pub fn run<C>(
        self,
        conn: &mut C,
        mut on_chunk: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<Outcome, HistoryError>
    where
        C: LoadConnection,
        C::Backend: MaintenanceBackend,
    {
        let spec = self.spec;
        let dialect = <C::Backend as HistoryBackend>::DIALECT;
        let context = self.context.clone().reason(
            self.context
                .get_reason()
                .unwrap_or(DEFAULT_POPULATE_REASON)
                .to_owned(),
        );
        let Some(meta) = context.meta_for(spec, dialect, Utc::now())? else {
            unreachable!("a maintenance context never skips history")
        };
        let user = UserId::bind(meta.user.as_ref(), spec)?;
        outside_transaction(conn, spec)?;
        let sql = Sql { spec, dialect };
        C::Backend::refresh_statistics(conn, &sql.table(spec.history()))
            .map_err(|err| missing_history_table(spec, err))?;
        let dry_run = self.dry_run;
        walk(
            conn,
            &sql,
            spec.source(),
            self.chunk_size,
            dry_run,
            |conn, chunk| {
                let missing = |err| missing_history_table(spec, err);
                if dry_run {
                    let count = C::Backend::load_counts(conn, &sql.count_unrecorded(chunk))
                        .map_err(missing)?;
                    return Ok(count.first().map_or(0, |row| row.n as u64));
                }
                let statement = sql.populate(chunk, meta.date.0, user.clone(), meta.reason.clone());
                let rows = sql.lock_rows(chunk);
                in_chunk(conn, ChunkLock::Backfill { spec, rows: &rows }, |conn| {
                    let written =
                        C::Backend::execute_statement(conn, &statement).map_err(missing)?;
                    Ok(written as u64)
                })
            },
            &mut on_chunk,
        )
    }
}

/// Deduplicate: delete every `~` record whose tracked values equal those of
/// the record just before it (same object; NULLs equal), keeping the first
/// of each run of equal records. `+` and `-` records are always kept.
///
/// One window query per chunk of objects (`LAG` over each object's records
/// in time order), deleting by `history_id`.
#[derive(Debug, Clone)]
#[must_use = "an operation does nothing until it is run"]
pub struct CleanDuplicates<'a> {
    spec: &'a HistoryTableSpec,
    chunk_size: usize,
    since: Option<DateTime<Utc>>,
    dry_run: bool,
}

impl<'a> CleanDuplicates<'a> {
    /// Deduplication of the model `spec` describes.
    pub fn new(spec: &'a HistoryTableSpec) -> Self {
        CleanDuplicates {
            spec,
            chunk_size: DEFAULT_CHUNK_SIZE,
            since: None,
            dry_run: false,
        }
    }

    /// Records per chunk ([`DEFAULT_CHUNK_SIZE`]).
    pub fn chunk_size(mut self, records: usize) -> Self {
        self.chunk_size = chunk_size(records);
        self
    }

    /// Only delete duplicates dated at or after `since` (each still compared
    /// with the record before it, however old): a job that runs every hour
    /// looks at the last hour.
    pub fn since(mut self, since: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self
    }

    /// Count the duplicates instead of deleting them.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Runs the deduplication, calling `on_chunk` after each chunk.
    pub fn run<C>(
        self,
        conn: &mut C,
        on_chunk: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<Outcome, HistoryError>
    where
        C: LoadConnection,
        C::Backend: MaintenanceBackend,
    {
        let since = self
            .since
            .map(|since| history_core::sql_types::UtcTimestamp::new(since).0);
        delete_selected(
            conn,
            self.spec,
            Selection::Duplicates { since },
            self.chunk_size,
            self.dry_run,
            None,
            on_chunk,
        )
    }
}

/// How [`CleanOld`] treats the records older than its cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// Delete them all. `as_of` before the oldest kept record then finds
    /// nothing, and an object unchanged since the cutoff loses its history.
    All,
    /// Delete them, except each object's newest `n` records (of all its
    /// records, old or not).
    KeepNewest(u32),
    /// Delete them, except, for each object alive at the cutoff, its last
    /// record before it: `as_of` at any time from the cutoff on finds the
    /// same state as before, and that record becomes the object's first
    /// (`prev_record` is `None`). An object deleted before the cutoff keeps
    /// none of its old records, its `-` included: from the cutoff on it is
    /// absent as before, though `as_of` then says
    /// [`NotCreatedYet`](HistoryError::NotCreatedYet) (or, after a later
    /// re-creation, the state of that) where it said
    /// [`Deleted`](HistoryError::Deleted).
    Compact,
}

/// Prune: delete history records dated before a cutoff, in bounded chunks,
/// as a [`Prune`] mode keeps, optionally archiving each one to a file
/// before it is deleted.
#[derive(Debug)]
#[must_use = "an operation does nothing until it is run"]
pub struct CleanOld<'a, 'w> {
    spec: &'a HistoryTableSpec,
    cutoff: DateTime<Utc>,
    mode: Prune,
    chunk_size: usize,
    dry_run: bool,
    archive: Option<&'a mut Archive<'w>>,
}

impl<'a, 'w> CleanOld<'a, 'w> {
    /// Pruning of the model `spec` describes: records dated before
    /// `cutoff`, all of them ([`Prune::All`]) unless [`mode`](Self::mode)
    /// says otherwise.
    pub fn new(spec: &'a HistoryTableSpec, cutoff: DateTime<Utc>) -> Self {
        CleanOld {
            spec,
            cutoff,
            mode: Prune::All,
            chunk_size: DEFAULT_CHUNK_SIZE,
            dry_run: false,
            archive: None,
        }
    }

    /// Which old records are kept.
    pub fn mode(mut self, mode: Prune) -> Self {
        self.mode = mode;
        self
    }

    /// Records per chunk ([`DEFAULT_CHUNK_SIZE`]).
    pub fn chunk_size(mut self, records: usize) -> Self {
        self.chunk_size = chunk_size(records);
        self
    }

    /// Count the records instead of deleting them (nothing is archived).
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Write each record to `archive` before deleting it.
    pub fn archive(mut self, archive: &'a mut Archive<'w>) -> Self {
        self.archive = Some(archive);
        self
    }

    /// Runs the prune, calling `on_chunk` after each chunk.
    pub fn run<C>(
        self,
        conn: &mut C,
        on_chunk: impl FnMut(&Progress) -> ControlFlow<()>,
    ) -> Result<Outcome, HistoryError>
    where
        C: LoadConnection,
        C::Backend: MaintenanceBackend,
    {
        let cutoff = history_core::sql_types::UtcTimestamp::new(self.cutoff).0;
        delete_selected(
            conn,
            self.spec,
            Selection::Prune(self.mode, cutoff),
            self.chunk_size,
            self.dry_run,
            self.archive,
            on_chunk,
        )
    }
}

/// Deletes (or counts) the records `selection` picks, chunk by chunk of the
/// history table, archiving them first when asked.
fn delete_selected<C>(
    conn: &mut C,
    spec: &HistoryTableSpec,
    selection: Selection,
    size: usize,
    dry_run: bool,
    mut archive: Option<&mut Archive<'_>>,
    mut on_chunk: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Outcome, HistoryError>
where
    C: LoadConnection,
    C::Backend: MaintenanceBackend,
{
    outside_transaction(conn, spec)?;
    let sql = Sql {
        spec,
        dialect: <C::Backend as HistoryBackend>::DIALECT,
    };
    walk(
        conn,
        &sql,
        spec.history(),
        size,
        dry_run,
        |conn, chunk| {
            let candidates = sql.candidates(&selection, chunk);
            if dry_run {
                let count = C::Backend::load_counts(conn, &sql.count(&candidates))?;
                return Ok(count.first().map_or(0, |row| row.n as u64));
            }
            in_chunk(conn, ChunkLock::None, |conn| {
                if let Some(archive) = archive.as_deref_mut() {
                    let rows = C::Backend::load_json_rows(conn, &sql.archive(&candidates))?;
                    let rows: Vec<String> = rows.into_iter().map(|row| row.json).collect();
                    archive
                        .write(spec, &rows)
                        .map_err(|source| HistoryError::Archive {
                            model: spec.model,
                            source,
                        })?;
                }
                let deleted = C::Backend::execute_statement(conn, &sql.delete(&candidates))?;
                Ok(deleted as u64)
            })
        },
        &mut on_chunk,
    )
}

/// What a model's history table holds.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryStats {
    /// The model.
    pub model: &'static str,
    /// The history table's name.
    pub history_table: &'static str,
    /// All records.
    pub records: u64,
    /// `+` records.
    pub created: u64,
    /// `~` records.
    pub changed: u64,
    /// `-` records.
    pub deleted: u64,
    /// The oldest `history_date`, when there is a record.
    pub oldest: Option<DateTime<Utc>>,
    /// The newest `history_date`, when there is a record.
    pub newest: Option<DateTime<Utc>>,
    /// The table's size on disk with its indexes, where the backend reports
    /// it (PostgreSQL).
    pub bytes: Option<u64>,
}

impl HistoryStats {
    /// Bytes on disk per record, where both are known and there is a record.
    pub fn bytes_per_record(&self) -> Option<f64> {
        let bytes = self.bytes?;
        (self.records > 0).then(|| bytes as f64 / self.records as f64)
    }
}

/// Counts a model's history records by type, with their oldest and newest
/// dates (and on PostgreSQL the table's size): one aggregate query.
pub fn history_stats<C>(conn: &mut C, spec: &HistoryTableSpec) -> Result<HistoryStats, HistoryError>
where
    C: LoadConnection,
    C::Backend: MaintenanceBackend,
{
    let sql = Sql {
        spec,
        dialect: <C::Backend as HistoryBackend>::DIALECT,
    };
    let rows = C::Backend::load_stats(conn, &sql.stats())
        .map_err(|err| missing_history_table(spec, err))?;
    let row = rows.first().ok_or(diesel::result::Error::NotFound)?;
    let bytes = C::Backend::table_bytes(conn, spec)?;
    Ok(HistoryStats {
        model: spec.model,
        history_table: spec.history_table,
        records: row.records as u64,
        created: row.created as u64,
        changed: row.changed as u64,
        deleted: row.deleted as u64,
        oldest: row.oldest.map(|date| date.and_utc()),
        newest: row.newest.map(|date| date.and_utc()),
        bytes: bytes.map(|bytes| bytes as u64),
    })
}
