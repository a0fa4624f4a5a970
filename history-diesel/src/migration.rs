//! Writing a history table's migration where Diesel's tooling finds it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::{Dialect, HistoryTableSpec};

/// Writes `<dir>/<version>_create_<history table>/{up.sql,down.sql}` for
/// `dialect` and returns the folder.
///
/// `version` is Diesel's migration version, conventionally a timestamp such as
/// `2026-11-22-120000`; pass a fixed one so the folder name is stable. The
/// folder is accepted by `diesel migration run` and by `embed_migrations!`.
/// An existing folder of that name is overwritten, so regenerating after a
/// model change is one call.
///
/// ```
/// use diesel::prelude::*;
/// use history_diesel::{write_migration, Dialect, HistoricalRecords};
///
/// diesel::table! {
///     orders (id) {
///         id -> Integer,
///         status -> Text,
///     }
/// }
///
/// #[derive(Queryable, HistoricalRecords)]
/// #[diesel(table_name = orders)]
/// pub struct Order {
///     pub id: i32,
///     pub status: String,
/// }
///
/// let dir = std::env::temp_dir().join(format!("history-doc-{}", std::process::id()));
/// let folder = write_migration(&dir, "2026-11-22-120000", &Order::HISTORY_TABLE, Dialect::Sqlite)?;
/// assert!(folder.ends_with("2026-11-22-120000_create_historical_orders"));
/// assert!(std::fs::read_to_string(folder.join("up.sql"))?.contains("CREATE TABLE \"historical_orders\""));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_migration(
    dir: impl AsRef<Path>,
    version: &str,
    spec: &HistoryTableSpec,
    dialect: Dialect,
) -> io::Result<PathBuf> {
    if version.is_empty() || version.contains(['/', '\\']) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid migration version {version:?}: expected something like 2026-11-22-120000"
            ),
        ));
    }
    let folder = dir
        .as_ref()
        .join(format!("{version}_{}", spec.migration_name()));
    fs::create_dir_all(&folder)?;
    let sql = spec.migration(dialect);
    fs::write(folder.join("up.sql"), sql.up)?;
    fs::write(folder.join("down.sql"), sql.down)?;
    Ok(folder)
}
