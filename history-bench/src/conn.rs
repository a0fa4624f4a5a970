//! Connections: what the workloads need of every Diesel connection type,
//! and the macro that implements an operations trait once for each
//! connection type built in (finding the database is in `database.rs`).

use diesel::connection::LoadConnection;
use diesel::prelude::*;

use crate::backend::Backend;
use crate::database::Open;
use crate::Result;

/// A connection the workloads run on. Everything that differs between the
/// three backends lives behind this trait or in [`crate::schema`].
pub trait BenchConn: Open + LoadConnection + Sized + 'static {
    const BACKEND: Backend;

    /// `SELECT COUNT(*)` of a table.
    fn count(&mut self, table: &str) -> Result<i64>;
}

/// Implements the items in braces once per connection type this binary was
/// built with; inside, `Conn` names the connection type. Items that only
/// some backends can compile (`RETURNING`) take a list of backends.
macro_rules! for_connections {
    ([$($backend:ident),+] $body:tt) => {
        $( $crate::conn::for_connections!(@one $backend $body); )+
    };
    ($body:tt) => {
        $crate::conn::for_connections!([sqlite, postgres, mysql] $body);
    };
    (@one sqlite { $($item:item)* }) => {
        #[cfg(feature = "sqlite")]
        const _: () = {
            #[allow(unused_imports)]
            use diesel::SqliteConnection as Conn;
            $($item)*
        };
    };
    (@one postgres { $($item:item)* }) => {
        #[cfg(feature = "postgres")]
        const _: () = {
            #[allow(unused_imports)]
            use diesel::PgConnection as Conn;
            $($item)*
        };
    };
    (@one mysql { $($item:item)* }) => {
        #[cfg(feature = "mysql")]
        const _: () = {
            #[allow(unused_imports)]
            use diesel::MysqlConnection as Conn;
            $($item)*
        };
    };
}
pub(crate) use for_connections;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `SELECT COUNT(*)` as a statement any backend runs (table names are ours).
fn count_sql(table: &str) -> String {
    format!("SELECT COUNT(*) AS n FROM {table}")
}

for_connections! {{
    impl BenchConn for Conn {
        const BACKEND: Backend = backend_of::<Conn>();

        fn count(&mut self, table: &str) -> Result<i64> {
            Ok(diesel::sql_query(count_sql(table)).get_result::<Count>(self)?.n)
        }
    }
}}

/// The backend of a connection type, from its Diesel backend's dialect.
const fn backend_of<C: Connection>() -> Backend
where
    C::Backend: history_diesel::HistoryBackend,
{
    match <C::Backend as history_diesel::HistoryBackend>::DIALECT {
        history_diesel::Dialect::Sqlite => Backend::Sqlite,
        history_diesel::Dialect::Postgres => Backend::Postgres,
        history_diesel::Dialect::Mysql => Backend::Mysql,
    }
}
