//! The floors: each operation as one hand-written statement over the whole
//! table, as a DBA would type it (no chunks, no progress, one transaction).

use history_diesel::Dialect;

use crate::model::HISTORY;

/// Null-safe equality.
fn same(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => " IS NOT DISTINCT FROM ",
        Dialect::Mysql => " <=> ",
        Dialect::Sqlite => " IS ",
    }
}

/// Deletes the records whose `history_id` the query `ids` returns: an
/// `IN` on PostgreSQL and SQLite, a join with the materialised ids on
/// MySQL (which cannot read the table it deletes from in a subquery).
fn delete_ids(dialect: Dialect, ids: &str) -> String {
    match dialect {
        Dialect::Mysql => {
            format!("DELETE h FROM {HISTORY} h JOIN ({ids}) d ON d.history_id = h.history_id")
        }
        _ => format!("DELETE FROM {HISTORY} WHERE history_id IN ({ids})"),
    }
}

pub fn populate(date: &str) -> String {
    format!(
        "INSERT INTO {HISTORY} (id, name, qty, price, note, history_date, history_type, \
         history_user_id, history_change_reason) \
         SELECT s.id, s.name, s.qty, s.price, s.note, '{date}', '+', NULL, 'history backfill' \
         FROM mb_items s WHERE NOT EXISTS (SELECT 1 FROM {HISTORY} h WHERE h.id = s.id)"
    )
}

pub fn duplicates(dialect: Dialect) -> String {
    let eq = same(dialect);
    let same: Vec<String> = ["name", "qty", "price", "note"]
        .iter()
        .map(|column| format!("{column}{eq}LAG({column}) OVER w"))
        .collect();
    delete_ids(
        dialect,
        &format!(
            "SELECT history_id FROM (SELECT history_id, history_type, ROW_NUMBER() OVER w AS n, \
             CASE WHEN {} THEN 1 ELSE 0 END AS same FROM {HISTORY} \
             WINDOW w AS (PARTITION BY id ORDER BY history_date, history_id)) t \
             WHERE history_type = '~' AND n > 1 AND same = 1",
            same.join(" AND ")
        ),
    )
}

pub fn prune_all(cutoff: &str) -> String {
    format!("DELETE FROM {HISTORY} WHERE history_date < '{cutoff}'")
}

pub fn keep_newest(dialect: Dialect, keep: u32, cutoff: &str) -> String {
    delete_ids(
        dialect,
        &format!(
            "SELECT history_id FROM (SELECT history_id, history_date, ROW_NUMBER() OVER \
             (PARTITION BY id ORDER BY history_date DESC, history_id DESC) AS newer \
             FROM {HISTORY}) t WHERE newer > {keep} AND history_date < '{cutoff}'"
        ),
    )
}

pub fn compact(dialect: Dialect, cutoff: &str) -> String {
    delete_ids(
        dialect,
        &format!(
            "SELECT history_id FROM (SELECT history_id, history_type, ROW_NUMBER() OVER \
             (PARTITION BY id ORDER BY history_date DESC, history_id DESC) AS newer \
             FROM {HISTORY} WHERE history_date < '{cutoff}') t \
             WHERE newer > 1 OR history_type = '-'"
        ),
    )
}
