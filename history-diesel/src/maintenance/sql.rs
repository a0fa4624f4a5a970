//! The text of every maintenance statement, from a table description and a
//! dialect: no I/O here, so each shape is unit-tested.
//!
//! Every operation walks a table in chunks of its first primary-key column
//! (`key > lo AND key <= hi`, see `chunks.rs`); a chunk holds whole objects,
//! so a window over an object's records never crosses a chunk.

use chrono::NaiveDateTime;
use history_core::columns::HistoryColumn;
use history_core::columns::{HISTORY_DATE, HISTORY_ID, HISTORY_TYPE};

use super::Prune;
use crate::{ColumnType, Dialect, HistoryTableSpec, SqlKind, TableName};

/// A bind parameter, typed as the statement needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    BigInt(Option<i64>),
    Text(Option<String>),
    Timestamp(NaiveDateTime),
}

/// SQL text and its binds, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) sql: String,
    pub(crate) binds: Vec<Bind>,
}

impl Statement {
    fn new() -> Self {
        Statement {
            sql: String::new(),
            binds: Vec::new(),
        }
    }

    fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    fn bind(&mut self, dialect: Dialect, bind: Bind) -> &mut Self {
        self.binds.push(bind);
        self.sql.push_str(&dialect.bind_marker(self.binds.len()));
        self
    }
}

/// How a table's first key column is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyWalk {
    /// In ranges of an integer key, read as `BIGINT`.
    Integer,
    /// In ranges of a text key.
    Text,
    /// In one chunk: the key's type has no bind here (a UUID, a date, a
    /// type named by hand).
    Whole,
}

impl KeyWalk {
    pub(crate) fn of(spec: &HistoryTableSpec) -> KeyWalk {
        let key = spec.primary_key[0];
        match spec.column(key).map(|column| column.ty) {
            Some(ColumnType::Kind(
                SqlKind::TinyInt | SqlKind::SmallInt | SqlKind::Integer | SqlKind::BigInt,
            )) => KeyWalk::Integer,
            Some(ColumnType::Kind(SqlKind::Text)) => KeyWalk::Text,
            _ => KeyWalk::Whole,
        }
    }
}

/// A value of the first key column, where a chunk ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyValue {
    Integer(i64),
    Text(String),
}

impl KeyValue {
    fn bind(&self) -> Bind {
        match self {
            KeyValue::Integer(value) => Bind::BigInt(Some(*value)),
            KeyValue::Text(value) => Bind::Text(Some(value.clone())),
        }
    }
}

/// The rows of one chunk: first key column in `(after, upto]`; everything
/// when `upto` is `None` (a [`KeyWalk::Whole`] table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub(crate) after: Option<KeyValue>,
    pub(crate) upto: Option<KeyValue>,
}

/// Writes statements for one model on one dialect.
pub(crate) struct Sql<'a> {
    pub(crate) spec: &'a HistoryTableSpec,
    pub(crate) dialect: Dialect,
}

/// The alias of the table a statement walks, and of the history table in a
/// populate's `NOT EXISTS`.
pub(crate) const WALKED: &str = "w";
pub(crate) const EXISTING: &str = "e";

impl Sql<'_> {
    fn quote(&self, ident: &str) -> String {
        self.dialect.quote(ident)
    }

    pub(crate) fn table(&self, table: TableName<'_>) -> String {
        self.dialect.quote_table(table)
    }

    fn key(&self) -> String {
        self.quote(self.spec.primary_key[0])
    }

    /// `AND key > ? AND key <= ?` for the chunk, columns qualified by
    /// `qualifier.` when one is given.
    fn push_range(&self, statement: &mut Statement, qualifier: Option<&str>, chunk: &Chunk) {
        let column = match qualifier {
            Some(alias) => format!("{alias}.{}", self.key()),
            None => self.key(),
        };
        if let Some(after) = &chunk.after {
            statement.push(&format!(" AND {column} > "));
            statement.bind(self.dialect, after.bind());
        }
        if let Some(upto) = &chunk.upto {
            statement.push(&format!(" AND {column} <= "));
            statement.bind(self.dialect, upto.bind());
        }
    }

    /// How many rows `table` has: a progress bar's length.
    pub(crate) fn count_rows(&self, table: TableName<'_>) -> Statement {
        let mut statement = Statement::new();
        statement.push(&format!("SELECT COUNT(*) AS n FROM {}", self.table(table)));
        statement
    }

    /// Where the next chunk of `table` ends: the largest first-key value of
    /// the next `size` rows after `after`, and how many rows those are.
    pub(crate) fn chunk_end(
        &self,
        table: TableName<'_>,
        walk: KeyWalk,
        after: Option<&KeyValue>,
        size: usize,
    ) -> Statement {
        let key = self.key();
        let upto = match walk {
            KeyWalk::Integer => format!(
                "CAST(MAX(t.{key}) AS {}) AS upto_integer",
                self.dialect.bigint_cast()
            ),
            KeyWalk::Text | KeyWalk::Whole => format!("MAX(t.{key}) AS upto_text"),
        };
        let mut statement = Statement::new();
        statement.push(&format!(
            "SELECT {upto}, COUNT(*) AS n FROM (SELECT {WALKED}.{key} AS {key} FROM {} AS {WALKED} WHERE 1 = 1",
            self.table(table)
        ));
        let chunk = Chunk {
            after: after.cloned(),
            upto: None,
        };
        self.push_range(&mut statement, Some(WALKED), &chunk);
        statement.push(&format!(" ORDER BY {WALKED}.{key} LIMIT {size}) t"));
        statement
    }

    /// `FROM source AS w WHERE <chunk> AND NOT EXISTS (a record of the row)`.
    fn push_unrecorded(&self, statement: &mut Statement, chunk: &Chunk) {
        statement.push(&format!(
            " FROM {} AS {WALKED} WHERE 1 = 1",
            self.table(self.spec.source())
        ));
        self.push_range(statement, Some(WALKED), chunk);
        let same_object: Vec<String> = self
            .spec
            .primary_key
            .iter()
            .map(|key| {
                let key = self.quote(key);
                format!("{EXISTING}.{key} = {WALKED}.{key}")
            })
            .collect();
        statement.push(&format!(
            " AND NOT EXISTS (SELECT 1 FROM {} AS {EXISTING} WHERE {}",
            self.table(self.spec.history()),
            same_object.join(" AND ")
        ));
        // The chunk's range again, on the history side: implied by the
        // equality, but no planner derives it, and without it PostgreSQL
        // hashes the whole history table for every chunk (a backfill
        // quadratic in the table's size).
        self.push_range(statement, Some(EXISTING), chunk);
        statement.push(")");
    }

    /// Takes shared locks on the source rows of a chunk, so that a writer
    /// changing one of them finishes first and the next waits for the
    /// chunk's commit; counts them.
    pub(crate) fn lock_rows(&self, chunk: &Chunk) -> Statement {
        let mut statement = Statement::new();
        statement.push(&format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 AS locked FROM {} AS {WALKED} WHERE 1 = 1",
            self.table(self.spec.source())
        ));
        self.push_range(&mut statement, Some(WALKED), chunk);
        statement.push(self.dialect.share_locking_read().unwrap_or(""));
        statement.push(") t");
        statement
    }

    /// The backfill of one chunk: a `+` record of every row with no record,
    /// reading the tracked columns only.
    pub(crate) fn populate(
        &self,
        chunk: &Chunk,
        date: NaiveDateTime,
        user: Bind,
        reason: Option<String>,
    ) -> Statement {
        let tracked: Vec<String> = self
            .spec
            .columns
            .iter()
            .map(|column| self.quote(column.name))
            .collect();
        let read: Vec<String> = tracked
            .iter()
            .map(|column| format!("{WALKED}.{column}"))
            .collect();
        let recorded = [
            HistoryColumn::Date,
            HistoryColumn::Type,
            HistoryColumn::UserId,
            HistoryColumn::ChangeReason,
        ]
        .map(|column| self.quote(column.name()));
        let mut statement = Statement::new();
        statement.push(&format!(
            "INSERT INTO {} ({}, {}) SELECT {}, ",
            self.table(self.spec.history()),
            tracked.join(", "),
            recorded.join(", "),
            read.join(", ")
        ));
        statement
            .bind(self.dialect, Bind::Timestamp(date))
            .push(", '+', ")
            .bind(self.dialect, user)
            .push(", ")
            .bind(self.dialect, Bind::Text(reason));
        self.push_unrecorded(&mut statement, chunk);
        statement
    }

    /// How many rows of the chunk a backfill would record.
    pub(crate) fn count_unrecorded(&self, chunk: &Chunk) -> Statement {
        let mut statement = Statement::new();
        statement.push("SELECT COUNT(*) AS n");
        self.push_unrecorded(&mut statement, chunk);
        statement
    }

    /// `PARTITION BY <key> ORDER BY history_date, history_id` (newest first
    /// with `newest_first`), over alias `h`.
    fn object_window(&self, newest_first: bool) -> String {
        let partition: Vec<String> = self
            .spec
            .primary_key
            .iter()
            .map(|key| format!("h.{}", self.quote(key)))
            .collect();
        let direction = if newest_first { " DESC" } else { "" };
        format!(
            "PARTITION BY {} ORDER BY h.{}{direction}, h.{}{direction}",
            partition.join(", "),
            self.quote(HISTORY_DATE),
            self.quote(HISTORY_ID)
        )
    }

    /// The records of one chunk of the history table that `selection`
    /// picks.
    pub(crate) fn candidates(&self, selection: &Selection, chunk: &Chunk) -> Candidates {
        let id = self.quote(HISTORY_ID);
        let date = self.quote(HISTORY_DATE);
        let kind = self.quote(HISTORY_TYPE);
        let history = self.table(self.spec.history());
        let mut statement = Statement::new();
        match selection {
            Selection::Prune(Prune::All, cutoff) => {
                statement.push("1 = 1");
                self.push_range(&mut statement, None, chunk);
                statement
                    .push(&format!(" AND {date} < "))
                    .bind(self.dialect, Bind::Timestamp(*cutoff));
                return Candidates::Predicate(statement);
            }
            Selection::Prune(Prune::KeepNewest(keep), cutoff) => {
                statement.push(&format!(
                    "SELECT t.{id} FROM (SELECT h.{id} AS {id}, h.{date} AS {date}, ROW_NUMBER() OVER ({}) AS newer FROM {history} AS h WHERE 1 = 1",
                    self.object_window(true)
                ));
                self.push_range(&mut statement, Some("h"), chunk);
                statement
                    .push(&format!(") t WHERE t.newer > {keep} AND t.{date} < "))
                    .bind(self.dialect, Bind::Timestamp(*cutoff));
            }
            Selection::Prune(Prune::Compact, cutoff) => {
                // Before the cutoff, an object keeps only its last record,
                // and only when that record says it was alive.
                statement.push(&format!(
                    "SELECT t.{id} FROM (SELECT h.{id} AS {id}, h.{kind} AS {kind}, ROW_NUMBER() OVER ({}) AS newer FROM {history} AS h WHERE 1 = 1",
                    self.object_window(true)
                ));
                self.push_range(&mut statement, Some("h"), chunk);
                statement
                    .push(&format!(" AND h.{date} < "))
                    .bind(self.dialect, Bind::Timestamp(*cutoff))
                    .push(&format!(") t WHERE t.newer > 1 OR t.{kind} = '-'"));
            }
            Selection::Duplicates { since } => {
                let window = self.object_window(false);
                let same: Vec<String> = self
                    .spec
                    .columns
                    .iter()
                    .filter(|column| !self.spec.is_primary_key(column.name))
                    .map(|column| {
                        let name = self.quote(column.name);
                        let this = self.dialect.comparable(column.ty, &format!("h.{name}"));
                        let before = self
                            .dialect
                            .comparable(column.ty, &format!("LAG(h.{name}) OVER ({window})"));
                        format!("{this}{}{before}", self.dialect.null_safe_eq())
                    })
                    .collect();
                let same = if same.is_empty() {
                    "1 = 1".to_owned()
                } else {
                    same.join(" AND ")
                };
                statement.push(&format!(
                    "SELECT t.{id} FROM (SELECT h.{id} AS {id}, h.{kind} AS {kind}, h.{date} AS {date}, LAG(h.{id}) OVER ({window}) AS previous, CASE WHEN {same} THEN 1 ELSE 0 END AS same FROM {history} AS h WHERE 1 = 1"
                ));
                self.push_range(&mut statement, Some("h"), chunk);
                statement.push(&format!(
                    ") t WHERE t.{kind} = '~' AND t.previous IS NOT NULL AND t.same = 1"
                ));
                if let Some(since) = since {
                    statement
                        .push(&format!(" AND t.{date} >= "))
                        .bind(self.dialect, Bind::Timestamp(*since));
                }
            }
        }
        Candidates::Selected(statement)
    }

    /// How many records the candidates are.
    pub(crate) fn count(&self, candidates: &Candidates) -> Statement {
        self.wrap(candidates, "SELECT COUNT(*) AS n FROM", "")
    }

    /// The candidates, each as one JSON object, in object and time order.
    pub(crate) fn archive(&self, candidates: &Candidates) -> Statement {
        let columns = self.spec.column_names();
        let order = format!(
            " ORDER BY h.{}, h.{}, h.{}",
            self.key(),
            self.quote(HISTORY_DATE),
            self.quote(HISTORY_ID)
        );
        let select = format!(
            "SELECT {} AS json FROM",
            self.dialect.json_row("h", &columns)
        );
        self.wrap(candidates, &select, &order)
    }

    /// Deletes the candidates.
    pub(crate) fn delete(&self, candidates: &Candidates) -> Statement {
        match candidates {
            Candidates::Predicate(_) => self.wrap(candidates, "DELETE FROM", ""),
            Candidates::Selected(inner) => Statement {
                sql: self.dialect.delete_where_key_in(
                    &self.table(self.spec.history()),
                    &self.quote(HISTORY_ID),
                    &inner.sql,
                ),
                binds: inner.binds.clone(),
            },
        }
    }

    /// `head history WHERE <candidates> tail`; a selection is read through
    /// a derived table, which MySQL materialises before it deletes from the
    /// table the selection reads.
    fn wrap(&self, candidates: &Candidates, head: &str, tail: &str) -> Statement {
        let history = self.table(self.spec.history());
        // `DELETE` takes no alias on every backend; reads name the table `h`.
        let alias = if head.starts_with("DELETE") {
            ""
        } else {
            " AS h"
        };
        let (inner, sql) = match candidates {
            Candidates::Predicate(inner) => (inner, inner.sql.clone()),
            Candidates::Selected(inner) => (
                inner,
                format!(
                    "{} IN (SELECT c.{id} FROM ({}) c)",
                    self.quote(HISTORY_ID),
                    inner.sql,
                    id = self.quote(HISTORY_ID)
                ),
            ),
        };
        let sql = if head.starts_with("SELECT COUNT") {
            match candidates {
                Candidates::Predicate(_) => format!("{head} {history} WHERE {sql}"),
                Candidates::Selected(inner) => format!("{head} ({}) c", inner.sql),
            }
        } else {
            format!("{head} {history}{alias} WHERE {sql}{tail}")
        };
        Statement {
            sql,
            binds: inner.binds.clone(),
        }
    }

    /// Records per type, oldest and newest date.
    pub(crate) fn stats(&self) -> Statement {
        let kind = self.quote(HISTORY_TYPE);
        let date = self.quote(HISTORY_DATE);
        let mut statement = Statement::new();
        statement.push(&format!(
            "SELECT COUNT(*) AS records, COUNT(CASE WHEN {kind} = '+' THEN 1 END) AS created, COUNT(CASE WHEN {kind} = '~' THEN 1 END) AS changed, COUNT(CASE WHEN {kind} = '-' THEN 1 END) AS deleted, MIN({date}) AS oldest, MAX({date}) AS newest FROM {}",
            self.table(self.spec.history())
        ));
        statement
    }
}

/// What an operation on the history table picks in each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Records older than the cutoff, as the mode keeps.
    Prune(Prune, NaiveDateTime),
    /// `~` records equal to the record before them, since a date.
    Duplicates { since: Option<NaiveDateTime> },
}

/// Records of the history table: a condition on its columns, or a query of
/// their `history_id`s.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Candidates {
    Predicate(Statement),
    Selected(Statement),
}
