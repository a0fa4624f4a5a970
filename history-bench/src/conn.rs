//! Connections: what the workloads need of every connection type, and the
//! macro that implements an operations trait once for each connection type
//! built in (finding the database is in `database.rs`).
//!
//! The workloads are `async fn`s, as history-diesel writes its sequences, so
//! that one body can serve a blocking and an asynchronous client: on a
//! blocking connection every step is done when it returns, and [`block`]
//! drives a whole run in one poll on the calling thread.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use diesel::connection::Instrumentation;
use diesel::QueryableByName;

use crate::backend::Backend;
use crate::database::Open;
use crate::Result;

/// A connection the workloads run on. Everything that differs between the
/// backends lives behind this trait, the workloads' `Ops` traits, or in
/// [`crate::schema`].
#[allow(async_fn_in_trait)] // the binary's own trait; no future leaves the thread
pub trait BenchConn: Open + Sized + 'static {
    const BACKEND: Backend;

    /// `SELECT COUNT(*)` of a table.
    async fn count(&mut self, table: &str) -> Result<i64>;
    /// Runs statements separated by `;` (DDL), without binds.
    async fn batch(&mut self, sql: &str) -> Result<()>;
    /// Opens a transaction through the connection's transaction manager.
    async fn begin(&mut self) -> Result<()>;
    /// Commits what [`begin`](Self::begin) opened.
    async fn commit(&mut self) -> Result<()>;
    /// Hands every statement the connection runs to `sink` (`--trace`).
    fn instrument(&mut self, sink: impl Instrumentation);
}

/// Implements the items in braces once per connection type this binary was
/// built with; the list names them (`sqlite`, `postgres`, `mysql`), and no
/// list means all three. Items that only some backends can compile
/// (`RETURNING`) take a list without the others.
///
/// Inside, `Conn` names the connection type and `BACKEND` its [`Backend`],
/// and the names of the module [`blocking`] are in scope: `wait!(call)`, the
/// call itself (it is done when it returns), Diesel's `RunQueryDsl` and
/// history-diesel's traits, and `Client`, `Simple` and `TransactionManager`
/// for the connection's traits.
macro_rules! for_connections {
    ([$($backend:ident),+] $body:tt) => {
        $( $crate::conn::for_connections!(@one $backend $body); )+
    };
    ($body:tt) => {
        $crate::conn::for_connections!([sqlite, postgres, mysql] $body);
    };
    (@one sqlite $body:tt) => {
        $crate::conn::for_connections!(
            @each feature = "sqlite", diesel::SqliteConnection, Sqlite, blocking $body
        );
    };
    (@one postgres $body:tt) => {
        $crate::conn::for_connections!(
            @each feature = "postgres", diesel::PgConnection, Postgres, blocking $body
        );
    };
    (@one mysql $body:tt) => {
        $crate::conn::for_connections!(
            @each feature = "mysql", diesel::MysqlConnection, Mysql, blocking $body
        );
    };
    (@each $cfg:meta, $conn:ty, $backend:ident, $kind:ident { $($item:item)* }) => {
        #[cfg($cfg)]
        const _: () = {
            #[allow(unused_imports)]
            use $crate::conn::$kind::*;
            type Conn = $conn;
            #[allow(dead_code)]
            const BACKEND: $crate::backend::Backend = $crate::backend::Backend::$backend;
            $($item)*
        };
    };
}
pub(crate) use for_connections;

/// `wait!` on a blocking connection: the call is done when it returns.
macro_rules! blocking_wait {
    ($call:expr) => {
        $call
    };
}

/// What the body of [`for_connections!`] names on a blocking connection.
pub mod blocking {
    pub use diesel::connection::{
        Connection as Client, SimpleConnection as Simple, TransactionManager,
    };
    pub use diesel::prelude::*;
    pub use history_diesel::prelude::*;

    pub(crate) use blocking_wait as wait;
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `SELECT COUNT(*)` as a statement any backend runs (table names are ours).
fn count_sql(table: &str) -> String {
    format!("SELECT COUNT(*) AS n FROM {table}")
}

for_connections! {[sqlite, postgres, mysql] {
    impl crate::conn::BenchConn for Conn {
        const BACKEND: crate::backend::Backend = BACKEND;

        async fn count(&mut self, table: &str) -> Result<i64> {
            Ok(wait!(diesel::sql_query(count_sql(table)).get_result::<Count>(self))?.n)
        }

        async fn batch(&mut self, sql: &str) -> Result<()> {
            Ok(wait!(Simple::batch_execute(self, sql))?)
        }

        async fn begin(&mut self) -> Result<()> {
            Ok(wait!(<Conn as Client>::TransactionManager::begin_transaction(self))?)
        }

        async fn commit(&mut self) -> Result<()> {
            Ok(wait!(<Conn as Client>::TransactionManager::commit_transaction(self))?)
        }

        fn instrument(&mut self, sink: impl diesel::connection::Instrumentation) {
            Client::set_instrumentation(self, sink);
        }
    }
}}

/// Drives a run on a blocking connection to its end, in one poll: every
/// step it awaits is done when it returns.
pub fn block<F: Future>(run: F) -> F::Output {
    match pin!(run).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("a blocking connection completes every step it runs"),
    }
}
