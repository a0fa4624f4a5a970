//! The database backends the benchmark knows, the clients that reach them,
//! and the names it prints.

use std::fmt;
use std::str::FromStr;

/// A database backend, whether or not this build can reach it: what the
/// schema's DDL and the hand-written SQL depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

/// What `--backend` names: a backend and the client that reaches it,
/// Diesel's blocking connection or diesel-async's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Sqlite,
    Postgres,
    Mysql,
    /// `diesel_async::AsyncPgConnection`.
    PostgresAsync,
    /// `diesel_async::AsyncMysqlConnection`.
    MysqlAsync,
}

impl Target {
    pub const ALL: [Target; 5] = [
        Target::Sqlite,
        Target::Postgres,
        Target::Mysql,
        Target::PostgresAsync,
        Target::MysqlAsync,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Sqlite => "sqlite",
            Target::Postgres => "postgres",
            Target::Mysql => "mysql",
            Target::PostgresAsync => "postgres-async",
            Target::MysqlAsync => "mysql-async",
        }
    }

    pub fn backend(self) -> Backend {
        match self {
            Target::Sqlite => Backend::Sqlite,
            Target::Postgres | Target::PostgresAsync => Backend::Postgres,
            Target::Mysql | Target::MysqlAsync => Backend::Mysql,
        }
    }

    /// The features of history-bench the target needs.
    pub fn features(self) -> &'static str {
        match self {
            Target::Sqlite => "sqlite",
            Target::Postgres => "postgres",
            Target::Mysql => "mysql",
            // `async` turns on `postgres`.
            Target::PostgresAsync => "async",
            Target::MysqlAsync => "async,mysql",
        }
    }

    /// Whether this binary was built with the target's features.
    pub fn compiled(self) -> bool {
        match self {
            Target::Sqlite => cfg!(feature = "sqlite"),
            Target::Postgres => cfg!(feature = "postgres"),
            Target::Mysql => cfg!(feature = "mysql"),
            Target::PostgresAsync => cfg!(feature = "async"),
            Target::MysqlAsync => cfg!(all(feature = "async", feature = "mysql")),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Target::ALL
            .into_iter()
            .find(|target| target.name() == text)
            .ok_or_else(|| {
                format!(
                    "unknown backend `{text}`: expected sqlite, postgres, mysql, postgres-async or mysql-async"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for target in Target::ALL {
            assert_eq!(target.name().parse::<Target>(), Ok(target));
        }
        assert_eq!(Target::MysqlAsync.backend(), Backend::Mysql);
        assert!("sqlite-async".parse::<Target>().is_err());
    }
}
