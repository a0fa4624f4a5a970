//! Integration tests: one binary (link time matters on small machines), one
//! module per area. The SQLite suite always runs; the PostgreSQL and MySQL
//! suites run with the `postgres` and `mysql` features against real servers
//! (`PG_DATABASE_URL`, `MYSQL_DATABASE_URL`; see `.ci/run`).

mod asynchronous;
mod atomicity;
mod browser;
mod evolution;
mod hygiene;
mod limits;
mod maintenance;
mod migration_sql;
mod models;
mod names;
mod ordering;
mod pools;
mod reads;
mod request_info;
mod requests;
mod serialization;
mod support;
mod triggers;
mod verify;
mod web;
mod writes;

mod sqlite;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
