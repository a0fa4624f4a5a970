//! Per-backend DDL: `orders` and its twin `plain_orders`, and the history
//! table from the derive's own migration. Every workload starts from freshly
//! created tables, so one system's rows never slow the other down.

use history_diesel::{Dialect, HistoricalRecords};

use crate::backend::Backend;
use crate::conn::BenchConn;
use crate::model::Order;
use crate::Result;

/// The tables the benchmark owns (and drops).
pub const TABLES: [&str; 3] = ["orders", "plain_orders", "historical_orders"];

pub fn dialect(backend: Backend) -> Dialect {
    match backend {
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Postgres => Dialect::Postgres,
        Backend::Mysql => Dialect::Mysql,
    }
}

/// `CREATE TABLE` of `orders` or `plain_orders` (the same shape).
fn source_table(backend: Backend, table: &str) -> String {
    let (key, double, timestamp) = match backend {
        Backend::Sqlite => (
            "INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL",
            "DOUBLE PRECISION",
            "TIMESTAMP",
        ),
        Backend::Postgres => ("SERIAL PRIMARY KEY", "DOUBLE PRECISION", "TIMESTAMP"),
        // DATETIME(6), not TIMESTAMP: MySQL's TIMESTAMP stops in 2038, converts
        // through the session time zone and drops microseconds; the history
        // migration uses DATETIME(6) for the same reason.
        Backend::Mysql => (
            "INTEGER PRIMARY KEY AUTO_INCREMENT",
            "DOUBLE",
            "DATETIME(6)",
        ),
    };
    format!(
        "CREATE TABLE {table} (\n    \
             id {key},\n    \
             status VARCHAR(50) NOT NULL,\n    \
             total {double} NOT NULL,\n    \
             customer_notes TEXT NOT NULL,\n    \
             internal_notes TEXT NOT NULL,\n    \
             updated_at {timestamp} NOT NULL\n\
         );\n"
    )
}

/// The full DDL of the benchmark's tables, dropping them first.
pub fn ddl(backend: Backend) -> String {
    let mut sql = String::new();
    for table in TABLES {
        // One table per DROP: SQLite takes no list.
        sql.push_str(&format!("DROP TABLE IF EXISTS {table};\n"));
    }
    sql.push_str(&source_table(backend, "orders"));
    sql.push_str(&source_table(backend, "plain_orders"));
    sql.push_str(&Order::history_migration(dialect(backend)).up);
    sql
}

/// Drops and recreates the benchmark's tables.
pub async fn reset<C: BenchConn>(conn: &mut C) -> Result<()> {
    conn.batch(&ddl(C::TARGET.backend())).await
}

/// Refreshes the planner's statistics after a bulk fill, as autovacuum (or
/// an operator) would before the tables are read in production.
pub async fn analyze<C: BenchConn>(conn: &mut C) -> Result<()> {
    let sql = match C::TARGET.backend() {
        Backend::Sqlite => "ANALYZE",
        Backend::Postgres => "ANALYZE orders, historical_orders",
        Backend::Mysql => "ANALYZE TABLE orders, historical_orders",
    };
    conn.batch(sql).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tables_have_the_same_shape() {
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
            let orders = source_table(backend, "orders");
            assert_eq!(
                orders.replace("orders", "plain_orders"),
                source_table(backend, "plain_orders")
            );
            assert!(ddl(backend).contains("historical_orders"));
        }
    }
}
