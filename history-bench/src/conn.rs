//! Connections: what the workloads need of every connection type, blocking
//! (Diesel's) or asynchronous (diesel-async's), and the macro that
//! implements an operations trait once for each connection type built in
//! (finding the database is in `database.rs`).
//!
//! The workloads are `async fn`s, written once for both kinds of client, as
//! history-diesel writes its sequences: on a blocking connection every step
//! is done when it returns, so [`block`] drives a whole run in one poll on
//! the calling thread; on an asynchronous one a tokio runtime drives the very
//! same code (`main.rs`).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use diesel::connection::Instrumentation;
use diesel::QueryableByName;

use crate::backend::Target;
use crate::database::Open;
use crate::Result;

/// A connection the workloads run on. Everything that differs between the
/// backends lives behind this trait, the workloads' `Ops` traits, or in
/// [`crate::schema`].
#[allow(async_fn_in_trait)] // the binary's own trait; no future leaves the thread
pub trait BenchConn: Open + Sized + 'static {
    const TARGET: Target;

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
/// built with; the list names them (`sqlite`, `postgres`, `mysql`,
/// `postgres_async`, `mysql_async`), and no list means the three blocking
/// ones. Items that only some backends can compile (`RETURNING`) take a
/// list without the others.
///
/// Inside, `Conn` names the connection type and `TARGET` its [`Target`],
/// and the names of the module `blocking` or `asynchronous` are in scope,
/// so one body serves both kinds of client: `wait!(call)` is `call.await`
/// on an asynchronous connection and `call` on a blocking one,
/// `RunQueryDsl` and history-diesel's traits are the kind's own, and
/// `Client`, `Simple` and `TransactionManager` name its connection traits.
/// A module with items for asynchronous connections imports neither
/// Diesel's prelude nor history-diesel's traits itself: with two
/// `RunQueryDsl`s in scope every call would be ambiguous.
macro_rules! for_connections {
    ([$($target:ident),+] $body:tt) => {
        $( $crate::conn::for_connections!(@one $target $body); )+
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
    (@one postgres_async $body:tt) => {
        $crate::conn::for_connections!(
            @each feature = "async", diesel_async::AsyncPgConnection, PostgresAsync,
            asynchronous $body
        );
    };
    (@one mysql_async $body:tt) => {
        $crate::conn::for_connections!(
            @each all(feature = "async", feature = "mysql"), diesel_async::AsyncMysqlConnection,
            MysqlAsync, asynchronous $body
        );
    };
    (@each $cfg:meta, $conn:ty, $target:ident, $kind:ident { $($item:item)* }) => {
        #[cfg($cfg)]
        const _: () = {
            #[allow(unused_imports)]
            use $crate::conn::$kind::*;
            type Conn = $conn;
            #[allow(dead_code)]
            const TARGET: $crate::backend::Target = $crate::backend::Target::$target;
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

/// `wait!` on an asynchronous connection.
#[cfg(feature = "async")]
macro_rules! async_wait {
    ($call:expr) => {
        $call.await
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

/// What the body of [`for_connections!`] names on an asynchronous
/// connection: diesel-async's `RunQueryDsl` (it shadows the one in Diesel's
/// prelude) and history-diesel's asynchronous traits.
#[cfg(feature = "async")]
pub mod asynchronous {
    pub use diesel::prelude::*;
    pub use diesel_async::{
        AsyncConnection as Client, RunQueryDsl, SimpleAsyncConnection as Simple, TransactionManager,
    };
    pub use history_diesel::asynchronous::prelude::*;

    pub(crate) use async_wait as wait;
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

for_connections! {[sqlite, postgres, mysql, postgres_async, mysql_async] {
    impl crate::conn::BenchConn for Conn {
        const TARGET: crate::backend::Target = TARGET;

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
