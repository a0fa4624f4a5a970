//! Trigger capture: the triggers that write a model's history records in
//! the database, for every client, and the context they read.
//!
//! A write's context (user, reason, date, where from) reaches the triggers
//! as text under the names of [`ContextKey`], each backend in its own idiom
//! ([`Dialect::context_value`]): transaction-local settings on PostgreSQL,
//! session variables on MySQL, a one-row table on SQLite. A trigger turns the
//! text into the column's type. A write without a context (`psql`, another
//! program) is recorded with no user, or refused where the model asks for one.
//!
//! This file holds the statements that create and drop the triggers; which
//! migration sends them is [`crate::evolve`]'s business.

use crate::columns::HistoryColumn;
use crate::dialect::Dialect;
use crate::history_type::HistoryType;
use crate::snapshot::TableSnapshot;
use crate::spec::TableName;

/// One value of a write's context, as the triggers read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextKey {
    /// `history_user_id`, as text (`7`, a UUID's hyphenated form).
    UserId,
    /// `history_change_reason`.
    ChangeReason,
    /// An explicit `history_date` (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC); none
    /// means the database's clock.
    Date,
    /// `history_client_ip`, in its text form.
    ClientIp,
    /// `history_user_agent`.
    UserAgent,
    /// `history_request_id`.
    RequestId,
    /// Set (to any text) when the write keeps no history
    /// (`HistoryContext::without_history`).
    Skip,
}

impl ContextKey {
    /// Every key, in the order the context statements bind them.
    pub const ALL: [ContextKey; 7] = [
        ContextKey::UserId,
        ContextKey::ChangeReason,
        ContextKey::Date,
        ContextKey::ClientIp,
        ContextKey::UserAgent,
        ContextKey::RequestId,
        ContextKey::Skip,
    ];

    /// The key's name: the setting's suffix, the variable's, the column's.
    pub const fn name(self) -> &'static str {
        match self {
            ContextKey::UserId => "user_id",
            ContextKey::ChangeReason => "change_reason",
            ContextKey::Date => "date",
            ContextKey::ClientIp => "client_ip",
            ContextKey::UserAgent => "user_agent",
            ContextKey::RequestId => "request_id",
            ContextKey::Skip => "skip",
        }
    }

    /// The key that fills a history column, if one does.
    fn of_column(column: HistoryColumn) -> Option<ContextKey> {
        match column {
            HistoryColumn::UserId => Some(ContextKey::UserId),
            HistoryColumn::ChangeReason => Some(ContextKey::ChangeReason),
            HistoryColumn::ClientIp => Some(ContextKey::ClientIp),
            HistoryColumn::UserAgent => Some(ContextKey::UserAgent),
            HistoryColumn::RequestId => Some(ContextKey::RequestId),
            HistoryColumn::Id | HistoryColumn::Date | HistoryColumn::Type => None,
        }
    }
}

/// How long a context, once set, lasts on a backend
/// ([`Dialect::context_scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextScope {
    /// Until the transaction that set it ends (PostgreSQL's local settings).
    Transaction,
    /// Until it is cleared (MySQL's session variables, which a rollback
    /// keeps): cleared after the transaction, however it ends.
    Session,
    /// A row of the transaction (SQLite's context table): rolled back with
    /// it, and deleted before it commits.
    Row,
}

/// The start of the error a trigger raises for a write without a user on a
/// model with `#[history(require_user)]`; the table's name follows. The
/// runtime maps an error with this text to `HistoryError::UserRequired`.
pub const USER_REQUIRED_MESSAGE: &str = "history-diesel: a user is required to change ";

/// The version of the trigger statements `create_triggers` writes, kept in
/// a migration snapshot (`TriggerSnapshot::version`): raised whenever their
/// text changes for the same table and options, so that a migration written
/// by a later version of this crate rewrites triggers that an earlier one
/// installed, even when no column or option changed.
pub const TRIGGER_VERSION: u32 = 1;

/// The one-row table that carries a write's context on SQLite.
///
/// SQLite has no session variables, and a trigger of the main database may
/// not read a `TEMP` table (`trigger .. cannot reference objects in database
/// temp`), so the context is a row of an ordinary table, written inside the
/// write's transaction and deleted before it commits. SQLite lets one
/// connection write at a time, so no other writer ever sees the row, and a
/// rolled-back transaction takes it along.
pub const SQLITE_CONTEXT_TABLE: &str = "history_context";

impl crate::spec::HistoryTableSpec {
    /// `SELECT COUNT(*) AS n ..`: the live rows of the source table whose
    /// object's newest record is not a `+` or `~` with their current tracked
    /// values (or that have no record at all): rows written by something
    /// else than the write helpers, in client capture.
    pub fn unrecorded_rows_sql(&self, dialect: Dialect) -> String {
        let source = dialect.quote_table(self.source());
        let history = dialect.quote_table(self.history());
        let (s, h, n) = ("__history_live", "__history_record", "__history_newer");
        let column =
            |alias: &str, name: &str| format!("{}.{}", dialect.quote(alias), dialect.quote(name));
        let same_object = |a: &str, b: &str| {
            self.primary_key
                .iter()
                .map(|key| format!("{} = {}", column(a, key), column(b, key)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let same_values = self
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{}{}{}",
                    dialect.comparable(c.ty, &column(h, c.name)),
                    dialect.null_safe_eq(),
                    dialect.comparable(c.ty, &column(s, c.name))
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let (date, id, kind) = (
            crate::columns::HISTORY_DATE,
            crate::columns::HISTORY_ID,
            crate::columns::HISTORY_TYPE,
        );
        format!(
            "SELECT COUNT(*) AS n FROM {source} AS {qs} WHERE NOT EXISTS (\
             SELECT 1 FROM {history} AS {qh} WHERE {} AND {} <> '{}' AND {same_values} \
             AND NOT EXISTS (SELECT 1 FROM {history} AS {qn} WHERE {} AND ({} > {} OR ({} = {} AND {} > {}))))",
            same_object(h, s),
            column(h, kind),
            HistoryType::Deleted.as_str(),
            same_object(n, h),
            column(n, date),
            column(h, date),
            column(n, date),
            column(h, date),
            column(n, id),
            column(h, id),
            qs = dialect.quote(s),
            qh = dialect.quote(h),
            qn = dialect.quote(n),
        )
    }
}

/// What a migration installs for a table in trigger capture, in order: on
/// SQLite the context table (if no other model created it), on PostgreSQL
/// the trigger function; then one trigger per event.
pub(crate) fn create_triggers(dialect: Dialect, table: &TableSnapshot) -> Vec<String> {
    let Some(options) = table.triggers else {
        return Vec::new();
    };
    let triggers = Triggers {
        dialect,
        table,
        require_user: options.require_user,
        skip_unchanged: options.skip_unchanged,
    };
    match dialect {
        Dialect::Postgres => triggers.postgres(),
        Dialect::Mysql => triggers.mysql(),
        Dialect::Sqlite => triggers.sqlite(),
    }
}

/// Drops what [`create_triggers`] installs (SQLite's context table stays:
/// other models may read it, and it holds no rows between transactions).
pub(crate) fn drop_triggers(dialect: Dialect, table: &TableSnapshot) -> Vec<String> {
    if table.triggers.is_none() {
        return Vec::new();
    }
    let source = source_of(table);
    let mut statements: Vec<String> = Event::ALL
        .iter()
        .map(|event| {
            let name = trigger_name(dialect, table, *event);
            match dialect {
                Dialect::Postgres => format!(
                    "DROP TRIGGER IF EXISTS {} ON {}",
                    dialect.quote(&name),
                    dialect.quote_table(source)
                ),
                Dialect::Mysql => format!(
                    "DROP TRIGGER IF EXISTS {}",
                    dialect.quote_table(TableName {
                        schema: source.schema,
                        name: &name
                    })
                ),
                Dialect::Sqlite => format!("DROP TRIGGER IF EXISTS {}", dialect.quote(&name)),
            }
        })
        .collect();
    if dialect == Dialect::Postgres {
        statements.push(format!(
            "DROP FUNCTION IF EXISTS {}()",
            function_name(dialect, table)
        ));
    }
    statements
}

/// The statement events a table's triggers follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Insert,
    Update,
    Delete,
}

impl Event {
    const ALL: [Event; 3] = [Event::Insert, Event::Update, Event::Delete];

    fn keyword(self) -> &'static str {
        match self {
            Event::Insert => "INSERT",
            Event::Update => "UPDATE",
            Event::Delete => "DELETE",
        }
    }

    /// The record an event writes.
    fn kind(self) -> HistoryType {
        match self {
            Event::Insert => HistoryType::Created,
            Event::Update => HistoryType::Changed,
            Event::Delete => HistoryType::Deleted,
        }
    }

    /// The row a record copies: the row as stored, or as it was for a delete.
    fn row(self) -> &'static str {
        match self {
            Event::Insert | Event::Update => "NEW",
            Event::Delete => "OLD",
        }
    }
}

fn trigger_name(dialect: Dialect, table: &TableSnapshot, event: Event) -> String {
    let suffix = match event {
        Event::Insert => "capture_insert",
        Event::Update => "capture_update",
        Event::Delete => "capture_delete",
    };
    crate::migration::index_name(dialect, &table.history_table, suffix)
}

/// PostgreSQL's trigger function, quoted, in the history table's schema.
fn function_name(dialect: Dialect, table: &TableSnapshot) -> String {
    dialect.quote_table(TableName {
        schema: table.history_schema.as_deref(),
        name: &crate::migration::index_name(dialect, &table.history_table, "capture"),
    })
}

fn source_of(table: &TableSnapshot) -> TableName<'_> {
    TableName {
        schema: table.source_schema.as_deref(),
        name: &table.source_table,
    }
}

/// One table's triggers being written.
struct Triggers<'a> {
    dialect: Dialect,
    table: &'a TableSnapshot,
    require_user: bool,
    skip_unchanged: bool,
}

impl Triggers<'_> {
    /// The columns a record copies from the row: the model's tracked
    /// columns (a column history keeps after it left the model gets NULL).
    fn tracked(&self) -> Vec<&str> {
        self.table
            .columns
            .iter()
            .filter(|column| column.field.is_some() && !column.retained)
            .map(|column| column.name.as_str())
            .collect()
    }

    /// The history columns a record fills besides the tracked ones, in
    /// table order.
    fn recorded(&self) -> Vec<HistoryColumn> {
        HistoryColumn::ALL
            .into_iter()
            .filter(|column| *column != HistoryColumn::Id)
            .filter(|column| self.table.column(column.name()).is_some())
            .collect()
    }

    /// `"a", "b", .., "history_date", ..`: the columns an `INSERT` names.
    fn insert_columns(&self) -> String {
        let mut names: Vec<String> = self
            .tracked()
            .iter()
            .map(|name| self.dialect.quote(name))
            .collect();
        names.extend(
            self.recorded()
                .iter()
                .map(|column| self.dialect.quote(column.name())),
        );
        names.join(", ")
    }

    /// The history table, as statements name it.
    fn history(&self) -> String {
        self.dialect.quote_table(self.table.history())
    }

    /// A context value as the column's type: the text, cast where the
    /// backend does not convert text on insert by itself.
    fn typed(&self, column: HistoryColumn, text: &str) -> String {
        let ty = self
            .table
            .column(column.name())
            .map(|column| column.ty.as_str())
            .unwrap_or("TEXT");
        match self.dialect {
            Dialect::Postgres => match column {
                HistoryColumn::UserId | HistoryColumn::ClientIp => {
                    format!("CAST({text} AS {ty})")
                }
                _ => text.to_owned(),
            },
            // UUIDs are kept as their 16 bytes; numbers and text convert.
            Dialect::Mysql | Dialect::Sqlite if ty == "BINARY(16)" || ty == "BLOB" => {
                let unhex = if self.dialect == Dialect::Mysql {
                    "UNHEX"
                } else {
                    "unhex"
                };
                format!("{unhex}(REPLACE({text}, '-', ''))")
            }
            Dialect::Mysql | Dialect::Sqlite => text.to_owned(),
        }
    }

    /// The record's values after the tracked ones, for `event`, with the
    /// date given as `date`.
    fn recorded_values(
        &self,
        event: Event,
        date: &str,
        value: impl Fn(ContextKey) -> String,
    ) -> String {
        self.recorded()
            .into_iter()
            .map(|column| match column {
                HistoryColumn::Date => date.to_owned(),
                HistoryColumn::Type => format!("'{}'", event.kind().as_str()),
                other => {
                    let key = ContextKey::of_column(other)
                        .expect("every other recorded column comes from the context");
                    self.typed(other, &value(key))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn refusal(&self) -> String {
        let message = format!("{USER_REQUIRED_MESSAGE}{}", self.table.source_table);
        message.replace('\'', "''")
    }

    /// PostgreSQL: one PL/pgSQL function and three statement-level
    /// triggers with transition tables, so a statement of many rows writes
    /// its records with one `INSERT .. SELECT`. The context is read once per
    /// statement into variables; `skip_unchanged` keeps the new rows whose
    /// tracked values are not among the old rows' (`EXCEPT ALL`, which
    /// compares NULLs as equal and holds even when a key changes).
    fn postgres(&self) -> Vec<String> {
        let d = self.dialect;
        let tracked: Vec<String> = self.tracked().iter().map(|name| d.quote(name)).collect();
        let tracked = tracked.join(", ");
        let columns = self.insert_columns();
        let history = self.history();
        let var = |key: ContextKey| format!("__history_{}", key.name());
        let mut declare = String::new();
        for key in ContextKey::ALL {
            if key == ContextKey::Date {
                continue;
            }
            declare.push_str(&format!(
                "    {} text := {};\n",
                var(key),
                d.context_value(key)
            ));
        }
        declare.push_str(&format!(
            "    __history_date timestamp := COALESCE(CAST({} AS timestamp), {});\n",
            d.context_value(ContextKey::Date),
            d.database_clock().expect("PostgreSQL has a precise clock")
        ));
        let branch = |event: Event| {
            let rows = match event {
                Event::Delete => "\"__history_old\"".to_owned(),
                Event::Insert => "\"__history_new\"".to_owned(),
                Event::Update if self.skip_unchanged => format!(
                    "(SELECT {tracked} FROM \"__history_new\" EXCEPT ALL \
                     SELECT {tracked} FROM \"__history_old\") AS \"__history_changed\""
                ),
                Event::Update => "\"__history_new\"".to_owned(),
            };
            let source = match event {
                Event::Delete => "\"__history_old\"",
                Event::Insert | Event::Update => "\"__history_new\"",
            };
            let mut body = String::new();
            if self.require_user {
                body.push_str(&format!(
                    "        IF {} IS NULL AND EXISTS (SELECT 1 FROM {source}) THEN\n            \
                     RAISE EXCEPTION '{}';\n        END IF;\n",
                    var(ContextKey::UserId),
                    self.refusal()
                ));
            }
            let values = self.recorded_values(event, "__history_date", var);
            body.push_str(&format!(
                "        INSERT INTO {history} ({columns})\n            \
                 SELECT {tracked}, {values} FROM {rows};\n"
            ));
            body
        };
        let function = function_name(d, self.table);
        let create_function = format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $history$\n\
             DECLARE\n{declare}BEGIN\n    \
             IF __history_skip IS NOT NULL THEN\n        RETURN NULL;\n    END IF;\n    \
             IF TG_OP = 'INSERT' THEN\n{}    ELSIF TG_OP = 'UPDATE' THEN\n{}    ELSE\n{}    END IF;\n    \
             RETURN NULL;\nEND\n$history$",
            branch(Event::Insert),
            branch(Event::Update),
            branch(Event::Delete),
        );
        let mut statements = vec![create_function];
        let source = d.quote_table(source_of(self.table));
        for event in Event::ALL {
            let transition = match event {
                Event::Insert => "NEW TABLE AS \"__history_new\"",
                Event::Update => "OLD TABLE AS \"__history_old\" NEW TABLE AS \"__history_new\"",
                Event::Delete => "OLD TABLE AS \"__history_old\"",
            };
            statements.push(format!(
                "CREATE TRIGGER {} AFTER {} ON {source} REFERENCING {transition} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
                d.quote(&trigger_name(d, self.table, event)),
                event.keyword()
            ));
        }
        statements
    }

    /// MySQL and MariaDB: a row-level trigger per event (they have no
    /// other kind), reading the session variables.
    fn mysql(&self) -> Vec<String> {
        let d = self.dialect;
        let source = source_of(self.table);
        let columns = self.insert_columns();
        let history = self.history();
        let date = format!(
            "COALESCE(CAST({} AS DATETIME(6)), {})",
            d.context_value(ContextKey::Date),
            d.database_clock().expect("MySQL has a precise clock")
        );
        Event::ALL
            .into_iter()
            .map(|event| {
                let row = event.row();
                let values: Vec<String> = self
                    .tracked()
                    .iter()
                    .map(|name| format!("{row}.{}", d.quote(name)))
                    .collect();
                let recorded = self.recorded_values(event, &date, |key| d.context_value(key));
                let mut condition = format!("{} IS NULL", d.context_value(ContextKey::Skip));
                if event == Event::Update && self.skip_unchanged {
                    condition.push_str(&format!(" AND NOT ({})", self.unchanged()));
                }
                let mut body = format!("    IF {condition} THEN\n");
                if self.require_user {
                    body.push_str(&format!(
                        "        IF {} IS NULL THEN\n            SIGNAL SQLSTATE '45000' \
                         SET MESSAGE_TEXT = '{}';\n        END IF;\n",
                        d.context_value(ContextKey::UserId),
                        self.refusal()
                    ));
                }
                body.push_str(&format!(
                    "        INSERT INTO {history} ({columns}) VALUES ({}, {recorded});\n    END IF;\n",
                    values.join(", ")
                ));
                let name = trigger_name(d, self.table, event);
                format!(
                    "CREATE TRIGGER {} AFTER {} ON {} FOR EACH ROW\nBEGIN\n{body}END",
                    d.quote_table(TableName {
                        schema: source.schema,
                        name: &name
                    }),
                    event.keyword(),
                    d.quote_table(source)
                )
            })
            .collect()
    }

    /// SQLite: a row-level trigger per event, reading the context table;
    /// `skip_unchanged` is the update trigger's `WHEN`.
    fn sqlite(&self) -> Vec<String> {
        let d = self.dialect;
        let mut context_columns =
            vec!["\"id\" INTEGER PRIMARY KEY NOT NULL CHECK (\"id\" = 1)".to_owned()];
        context_columns.extend(
            ContextKey::ALL
                .iter()
                .map(|key| format!("{} TEXT", d.quote(key.name()))),
        );
        let mut statements = vec![format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            d.quote(SQLITE_CONTEXT_TABLE),
            context_columns.join(", ")
        )];
        let columns = self.insert_columns();
        // Inside a trigger SQLite takes the table's bare name only.
        let history = d.quote(&self.table.history_table);
        // The context row is read once per row written, by a join that
        // yields one row whether or not a context is set.
        let alias = d.quote("__history_context");
        let value = |key: ContextKey| format!("{alias}.{}", d.quote(key.name()));
        let from = format!(
            "FROM (SELECT 1) LEFT JOIN {} AS {alias} ON TRUE WHERE {} IS NULL",
            d.quote(SQLITE_CONTEXT_TABLE),
            value(ContextKey::Skip)
        );
        let date = format!(
            "COALESCE({}, strftime('%Y-%m-%d %H:%M:%f', 'now'))",
            value(ContextKey::Date)
        );
        for event in Event::ALL {
            let row = event.row();
            let values: Vec<String> = self
                .tracked()
                .iter()
                .map(|name| format!("{row}.{}", d.quote(name)))
                .collect();
            let recorded = self.recorded_values(event, &date, value);
            let when = if event == Event::Update && self.skip_unchanged {
                format!(" WHEN NOT ({})", self.unchanged())
            } else {
                String::new()
            };
            let mut body = String::new();
            if self.require_user {
                body.push_str(&format!(
                    "    SELECT RAISE(ABORT, '{}') {from} AND {} IS NULL;\n",
                    self.refusal(),
                    value(ContextKey::UserId)
                ));
            }
            body.push_str(&format!(
                "    INSERT INTO {history} ({columns}) SELECT {}, {recorded} {from};\n",
                values.join(", ")
            ));
            statements.push(format!(
                "CREATE TRIGGER {} AFTER {} ON {}{when}\nBEGIN\n{body}END",
                d.quote(&trigger_name(d, self.table, event)),
                event.keyword(),
                d.quote(&self.table.source_table)
            ));
        }
        statements
    }

    /// `OLD."a" IS NEW."a" AND ..` over the tracked columns, with the
    /// backend's null-safe equality.
    fn unchanged(&self) -> String {
        let op = self.dialect.null_safe_eq();
        self.tracked()
            .iter()
            .map(|name| {
                let name = self.dialect.quote(name);
                format!("OLD.{name}{op}NEW.{name}")
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{
        Capture, ChangeReasonColumn, ColumnSpec, ColumnType, HistoryIdKind, HistoryTableSpec,
        SqlKind,
    };

    const COLUMNS: &[ColumnSpec] = &[
        ColumnSpec {
            name: "id",
            ty: ColumnType::Kind(SqlKind::Integer),
            nullable: false,
            field: "id",
            default: None,
        },
        ColumnSpec {
            name: "status",
            ty: ColumnType::Kind(SqlKind::Text),
            nullable: true,
            field: "status",
            default: None,
        },
    ];

    pub(crate) fn orders(require_user: bool, skip_unchanged: bool) -> HistoryTableSpec {
        HistoryTableSpec {
            model: "Order",
            source_table: "orders",
            source_schema: None,
            history_table: "historical_orders",
            history_schema: None,
            primary_key: &["id"],
            columns: COLUMNS,
            history_id: HistoryIdKind::Integer,
            user_id: SqlKind::BigInt,
            change_reason: ChangeReasonColumn::Varchar(100),
            model_columns: &["id", "status"],
            skip_unchanged,
            request_info: true,
            capture: Capture::Trigger,
            require_user,
        }
    }

    #[test]
    fn client_capture_installs_no_trigger() {
        let spec = HistoryTableSpec {
            capture: Capture::Client,
            ..orders(false, false)
        };
        for dialect in Dialect::ALL {
            let migration = spec.migration(dialect);
            assert!(!migration.up.contains("TRIGGER"), "{}", migration.up);
            assert!(!migration.down.contains("TRIGGER"), "{}", migration.down);
        }
    }

    #[test]
    fn each_backend_reads_the_context_and_copies_the_stored_row() {
        let up = orders(true, true).up_sql(Dialect::Postgres);
        assert!(up.contains("REFERENCING OLD TABLE AS \"__history_old\" NEW TABLE AS \"__history_new\" FOR EACH STATEMENT"), "{up}");
        assert!(up.contains("CAST(__history_user_id AS BIGINT)"), "{up}");
        assert!(up.contains("CAST(__history_client_ip AS INET)"), "{up}");
        assert!(up.contains("EXCEPT ALL"), "{up}");
        assert!(
            up.contains("RAISE EXCEPTION 'history-diesel: a user is required to change orders'"),
            "{up}"
        );
        let up = orders(false, true).up_sql(Dialect::Mysql);
        assert!(up.contains("VALUES (NEW.`id`, NEW.`status`, COALESCE(CAST(@history_date AS DATETIME(6)), UTC_TIMESTAMP(6)), '~', @history_user_id"), "{up}");
        assert!(up.contains("VALUES (OLD.`id`, OLD.`status`"), "{up}");
        assert!(
            up.contains("NOT (OLD.`id` <=> NEW.`id` AND OLD.`status` <=> NEW.`status`)"),
            "{up}"
        );
        assert!(!up.contains("SIGNAL"), "{up}");
        let up = orders(true, false).up_sql(Dialect::Sqlite);
        assert!(
            up.contains("CREATE TABLE IF NOT EXISTS \"history_context\""),
            "{up}"
        );
        assert!(
            up.contains(
                "SELECT RAISE(ABORT, 'history-diesel: a user is required to change orders')"
            ),
            "{up}"
        );
        assert!(!up.contains(" WHEN "), "{up}");
        for dialect in Dialect::ALL {
            let down = orders(true, true).down_sql(dialect);
            assert_eq!(down.matches("DROP TRIGGER IF EXISTS").count(), 3, "{down}");
            assert!(
                down.trim_end()
                    .ends_with("DROP TABLE \"historical_orders\";")
                    || down.contains("DROP TABLE `historical_orders`;"),
                "{down}"
            );
        }
    }
}
