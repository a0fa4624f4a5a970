//! Finding the benchmark database: a fresh SQLite file, or the PostgreSQL and
//! MySQL databases named by `BENCH_PG_URL` / `BENCH_MYSQL_URL`, created when
//! missing.

use diesel::prelude::*;

use crate::conn::for_connections;
use crate::Result;

/// The database the integration tests own; the benchmark refuses it.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
const PROTECTED_DATABASE: &str = "history_test";

/// Opens a connection to the benchmark database.
#[allow(async_fn_in_trait)] // the binary's own trait; no future leaves the thread
pub trait Open: Sized {
    /// Connects, creating the database when it is missing.
    async fn open() -> Result<Self>;
}

/// A server URL split around its database name: `(before, name, after)`,
/// where `after` is the query string with its `?`, if any.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
fn split_database(url: &str) -> Result<(&str, &str, &str)> {
    let (base, query) = match url.find('?') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let slash = base
        .rfind('/')
        .filter(|&at| at > base.find("://").map_or(0, |scheme| scheme + 2))
        .ok_or_else(|| format!("{url}: the URL names no database"))?;
    let name = &base[slash + 1..];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        // The name is spliced into CREATE DATABASE: keep it to plain identifiers.
        return Err(
            format!("{url}: database name `{name}` must be letters, digits and `_`").into(),
        );
    }
    if name == PROTECTED_DATABASE {
        return Err(format!("{url}: `{PROTECTED_DATABASE}` belongs to the test suites").into());
    }
    Ok((&base[..=slash], name, query))
}

#[cfg(feature = "sqlite")]
impl Open for diesel::SqliteConnection {
    async fn open() -> Result<Self> {
        // A file on local disk, deleted first, with SQLite's default settings
        // (rollback journal, synchronous = FULL), as an application gets them.
        let path = std::env::temp_dir().join("history-bench.sqlite3");
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
                _ => {}
            }
        }
        let url = path.to_str().ok_or("temp dir is not UTF-8")?;
        Ok(diesel::SqliteConnection::establish(url)?)
    }
}

/// A row of one text column `name`.
#[cfg(feature = "postgres")]
#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[allow(dead_code)] // only whether a row came back matters
    name: String,
}

/// The URL of the PostgreSQL database, created first when missing (through
/// a blocking connection, for either kind of client: it is not timed).
#[cfg(feature = "postgres")]
fn pg_url() -> Result<String> {
    use diesel::connection::SimpleConnection;

    let url = std::env::var("BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/history_bench".to_owned());
    let (base, name, query) = split_database(&url)?;
    // CREATE DATABASE runs outside the target, from the maintenance database.
    let mut admin = diesel::PgConnection::establish(&format!("{base}postgres{query}"))?;
    let found: Vec<Named> =
        diesel::sql_query("SELECT datname AS name FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(name)
            .load(&mut admin)?;
    if found.is_empty() {
        admin.batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
    }
    Ok(url)
}

/// The URL of the MySQL database, created first when missing.
#[cfg(feature = "mysql")]
fn mysql_url() -> Result<String> {
    use diesel::connection::SimpleConnection;

    let url = std::env::var("BENCH_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/history_bench".to_owned());
    let (base, name, query) = split_database(&url)?;
    // Connected without a database, the server accepts CREATE DATABASE.
    let mut admin = diesel::MysqlConnection::establish(&format!("{base}{query}"))?;
    admin.batch_execute(&format!("CREATE DATABASE IF NOT EXISTS `{name}`"))?;
    Ok(url)
}

for_connections! {[postgres, postgres_async] {
    impl Open for Conn {
        async fn open() -> Result<Self> {
            Ok(wait!(Conn::establish(&pg_url()?))?)
        }
    }
}}

for_connections! {[mysql, mysql_async] {
    impl Open for Conn {
        async fn open() -> Result<Self> {
            Ok(wait!(Conn::establish(&mysql_url()?))?)
        }
    }
}}

#[cfg(test)]
mod tests {
    use super::split_database;

    #[test]
    fn splits_and_guards_the_name() {
        assert_eq!(
            split_database("postgres://u@h:5432/bench?sslmode=disable").unwrap(),
            ("postgres://u@h:5432/", "bench", "?sslmode=disable")
        );
        assert!(split_database("mysql://root@h:3306/history_test").is_err());
        assert!(split_database("mysql://root@h:3306/").is_err());
        assert!(split_database("mysql://root@h:3306").is_err());
        assert!(split_database("mysql://root@h/a;drop").is_err());
    }
}
