//! Trigger capture (`#[history(capture = trigger)]`): every write to a
//! tracked table is recorded by the database, whoever sends it, with the
//! context the library hands over; fail-closed models refuse writes without
//! a user; contexts never outlive their transaction.
//!
//! These tests commit (a context's lifetime is a transaction's), so each
//! backend gives them a database of their own (`capture_database()`), and on
//! a shared server they take turns.

use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    accounts (id) {
        id -> Integer,
        owner -> Text,
        balance -> BigInt,
        note -> Text,
    }
}

/// Recorded by triggers; `note` is left out of history, and an update that
/// changes no tracked column records nothing.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Identifiable,
    AsChangeset,
    Insertable,
    HistoricalRecords,
)]
#[diesel(table_name = accounts)]
#[history(capture = trigger, skip_unchanged, exclude(note), request_info)]
pub struct Account {
    pub id: i32,
    pub owner: String,
    pub balance: i64,
    pub note: String,
}

#[derive(Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub owner: &'a str,
    pub balance: i64,
    pub note: &'a str,
}

diesel::table! {
    vaults (id) {
        id -> Integer,
        secret -> Text,
    }
}

/// Fail-closed: no change without a user, from any client.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Identifiable,
    AsChangeset,
    Insertable,
    HistoricalRecords,
)]
#[diesel(table_name = vaults)]
#[history(capture = trigger, require_user)]
pub struct Vault {
    pub id: i32,
    pub secret: String,
}

/// Three versions of one model, for migrations that follow it: client
/// capture; trigger capture with a new column; the column made nullable
/// (which SQLite makes by rebuilding the history table).
pub mod ledger {
    pub mod v1 {
        use diesel::prelude::*;
        use history_diesel::HistoricalRecords;

        diesel::table! {
            ledgers (id) {
                id -> Integer,
                owner -> Text,
                balance -> BigInt,
            }
        }

        #[derive(Debug, Clone, PartialEq, Queryable, Selectable, HistoricalRecords)]
        #[diesel(table_name = ledgers)]
        #[history(exclude(balance))]
        pub struct Ledger {
            pub id: i32,
            pub owner: String,
            pub balance: i64,
        }
    }

    pub mod v2 {
        use diesel::prelude::*;
        use history_diesel::HistoricalRecords;

        diesel::table! {
            ledgers (id) {
                id -> Integer,
                owner -> Text,
                balance -> BigInt,
            }
        }

        #[derive(Debug, Clone, PartialEq, Queryable, Selectable, HistoricalRecords)]
        #[diesel(table_name = ledgers)]
        #[history(capture = trigger)]
        pub struct Ledger {
            pub id: i32,
            pub owner: String,
            pub balance: i64,
        }
    }

    pub mod v3 {
        use diesel::prelude::*;
        use history_diesel::HistoricalRecords;

        diesel::table! {
            ledgers (id) {
                id -> Integer,
                owner -> Text,
                balance -> Nullable<BigInt>,
            }
        }

        #[derive(Debug, Clone, PartialEq, Queryable, Selectable, HistoricalRecords)]
        #[diesel(table_name = ledgers)]
        #[history(capture = trigger, require_user)]
        pub struct Ledger {
            pub id: i32,
            pub owner: String,
            pub balance: Option<i64>,
        }
    }
}

/// Test bodies; expanded in each backend's file next to its
/// `capture_database()`, `concurrent_connection()`, `CAPTURE_DDL` and
/// `DIALECT`.
macro_rules! trigger_suite {
    () => {
        mod triggers {
            use std::sync::Mutex;

            use diesel::connection::SimpleConnection;
            use diesel::prelude::*;
            use history_diesel::{
                with_context, BulkOptions, HistoryContext, HistoryError, HistoryRecord,
                HistoryType, ReadHistory, WriteWithHistory,
            };

            use super::*;
            use crate::triggers::{
                accounts, historical_accounts, historical_vaults, vaults, Account,
                HistoricalAccount, NewAccount, Vault,
            };

            /// The suite's database is one per server: one test at a time.
            static TURN: Mutex<()> = Mutex::new(());

            /// A fresh capture database with both models' tables and
            /// triggers, and a function that opens connections to it.
            fn setup() -> (
                std::sync::MutexGuard<'static, ()>,
                impl Fn() -> ConcurrentConn + Clone,
            ) {
                let (turn, open, _) = setup_with_url();
                (turn, open)
            }

            /// [`setup`], and the database's URL (or path).
            fn setup_with_url() -> (
                std::sync::MutexGuard<'static, ()>,
                impl Fn() -> ConcurrentConn + Clone,
                String,
            ) {
                let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let url = capture_database();
                let text = AsRef::<std::ffi::OsStr>::as_ref(&url).to_str().unwrap().to_owned();
                let open = move || concurrent_connection(&url);
                let mut conn = open();
                conn.batch_execute(CAPTURE_DDL).unwrap();
                conn.batch_execute(&Account::history_migration(DIALECT).up)
                    .unwrap();
                conn.batch_execute(&Vault::history_migration(DIALECT).up)
                    .unwrap();
                (turn, open, text)
            }

            fn records(conn: &mut ConcurrentConn) -> Vec<HistoricalAccount> {
                historical_accounts::table
                    .order(historical_accounts::history_id.asc())
                    .select(HistoricalAccount::as_select())
                    .load(conn)
                    .unwrap()
            }

            /// (type, owner, balance, user, reason) of each record.
            type Summary = (HistoryType, String, i64, Option<i64>, Option<String>);

            fn summary(record: &HistoricalAccount) -> Summary {
                (
                    record.history_type(),
                    record.owner.clone(),
                    record.balance,
                    record.history_user_id,
                    record.history_change_reason.clone(),
                )
            }

            fn summaries(conn: &mut ConcurrentConn, from: usize) -> Vec<Summary> {
                records(conn)[from..].iter().map(summary).collect()
            }

            fn ctx(user: i64, reason: &str) -> HistoryContext<i64> {
                HistoryContext::new().user(user).reason(reason)
            }

            fn changed(
                owner: &str,
                balance: i64,
                user: Option<i64>,
                reason: Option<&str>,
            ) -> Summary {
                (
                    HistoryType::Changed,
                    owner.to_owned(),
                    balance,
                    user,
                    reason.map(str::to_owned),
                )
            }

            /// A create through the helper sends what the backend needs and no
            /// more (`TRIGGER_CREATE_SENDS`, each statement by a piece of its
            /// text, transaction control left out): on MySQL the context's
            /// `SET` also resets `LAST_INSERT_ID()`, so an earlier insert's
            /// value is never read back as this one's.
            #[test]
            fn a_create_sends_the_statements_its_backend_needs() {
                let (_turn, open) = setup();
                let mut conn = open();
                let ctx = ctx(4, "one");
                let new = NewAccount {
                    owner: "dee",
                    balance: 4,
                    note: "n",
                };
                Account::create_with_history(&mut conn, &new, &ctx).unwrap();
                let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
                let sink = std::sync::Arc::clone(&seen);
                conn.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
                    if let diesel::connection::InstrumentationEvent::StartQuery { query, .. } = event {
                        let text = query.to_string();
                        let control = ["BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "START TRANSACTION"];
                        if !control.iter().any(|word| text.trim_start().to_uppercase().starts_with(word)) {
                            sink.lock().unwrap().push(text);
                        }
                    }
                });
                let created = Account::create_with_history(&mut conn, &new, &ctx).unwrap();
                let sent = std::mem::take(&mut *seen.lock().unwrap());
                assert_eq!(sent.len(), TRIGGER_CREATE_SENDS.len(), "{sent:#?}");
                for (statement, piece) in sent.iter().zip(TRIGGER_CREATE_SENDS) {
                    assert!(statement.contains(piece), "{piece} not in {statement}");
                }
                let last = records(&mut conn).pop().unwrap();
                assert_eq!(
                    summary(&last),
                    (HistoryType::Created, "dee".to_owned(), 4, Some(4), Some("one".to_owned()))
                );
                assert_eq!(last.id, created.id);
            }

            #[test]
            fn every_write_path_and_every_client_is_recorded_once_with_its_context() {
                let (_turn, open) = setup();
                let mut conn = open();
                let new = NewAccount {
                    owner: "ada",
                    balance: 10,
                    note: "n",
                };

                // The helpers: each call one record, with its context.
                let ada = Account::create_with_history(&mut conn, &new, &ctx(1, "open")).unwrap();
                assert_eq!(
                    summaries(&mut conn, 0),
                    [(
                        HistoryType::Created,
                        "ada".to_owned(),
                        10,
                        Some(1),
                        Some("open".to_owned())
                    )]
                );
                let rows = [
                    NewAccount {
                        owner: "bob",
                        balance: 20,
                        note: "n",
                    },
                    NewAccount {
                        owner: "cy",
                        balance: 30,
                        note: "n",
                    },
                ];
                let more = Account::bulk_create_with_history(
                    &mut conn,
                    &rows,
                    &ctx(2, "import"),
                    BulkOptions::default(),
                )
                .unwrap();
                assert_eq!(more.len(), 2);
                assert_eq!(records(&mut conn).len(), 3);

                let mut saved = ada.clone();
                saved.balance = 11;
                saved.save_with_history(&mut conn, &ctx(3, "save")).unwrap();
                assert_eq!(
                    summaries(&mut conn, 3),
                    [changed("ada", 11, Some(3), Some("save"))]
                );

                let touched = Account::update_where_with_history(
                    &mut conn,
                    accounts::owner.eq("bob"),
                    accounts::balance.eq(accounts::balance + 1),
                    &ctx(4, "filter"),
                )
                .unwrap();
                assert_eq!(touched, 1);
                assert_eq!(
                    summaries(&mut conn, 4),
                    [changed("bob", 21, Some(4), Some("filter"))]
                );

                let mut whole = more[1].clone();
                whole.owner = "cyd".to_owned();
                Account::bulk_update_with_history(
                    &mut conn,
                    &[whole],
                    &ctx(5, "bulk"),
                    BulkOptions::default(),
                )
                .unwrap();
                assert_eq!(
                    summaries(&mut conn, 5),
                    [changed("cyd", 30, Some(5), Some("bulk"))]
                );

                // Restore the first version of ada: one `~` with the old values.
                let first = Account::earliest(&mut conn, &ada.id).unwrap();
                Account::restore_with_history(&mut conn, &first, &ctx(6, "restore")).unwrap();
                assert_eq!(
                    summaries(&mut conn, 6),
                    [changed("ada", 10, Some(6), Some("restore"))]
                );

                // Plain Diesel and raw SQL inside `with_context`: the same context.
                with_context(&mut conn, &ctx(7, "fix"), |conn| {
                    diesel::update(accounts::table.find(ada.id))
                        .set(accounts::balance.eq(12))
                        .execute(conn)?;
                    diesel::sql_query(
                        "UPDATE accounts SET balance = balance + 1 WHERE owner = 'bob'",
                    )
                    .execute(conn)?;
                    Ok::<_, HistoryError>(())
                })
                .unwrap();
                assert_eq!(
                    summaries(&mut conn, 7),
                    [
                        changed("ada", 12, Some(7), Some("fix")),
                        changed("bob", 22, Some(7), Some("fix"))
                    ]
                );

                // Outside it, and from a second connection: recorded, without a user.
                diesel::update(accounts::table.find(ada.id))
                    .set(accounts::balance.eq(13))
                    .execute(&mut conn)
                    .unwrap();
                let mut other = open();
                diesel::sql_query("UPDATE accounts SET owner = 'bobby' WHERE owner = 'bob'")
                    .execute(&mut other)
                    .unwrap();
                assert_eq!(
                    summaries(&mut conn, 9),
                    [
                        changed("ada", 13, None, None),
                        changed("bobby", 22, None, None)
                    ]
                );

                // A delete records the row as it was.
                ada.delete_with_history(&mut conn, &ctx(8, "close"))
                    .unwrap();
                assert_eq!(
                    summaries(&mut conn, 11),
                    [(
                        HistoryType::Deleted,
                        "ada".to_owned(),
                        13,
                        Some(8),
                        Some("close".to_owned())
                    )]
                );
                let gone = Account::delete_where_with_history(
                    &mut conn,
                    accounts::balance.gt(0),
                    &ctx(9, "purge"),
                )
                .unwrap();
                assert_eq!(gone, 2);
                let all = records(&mut conn);
                assert_eq!(all.len(), 14);
                assert!(all[12..]
                    .iter()
                    .all(|r| r.history_type() == HistoryType::Deleted
                        && r.history_user_id == Some(9)));

                // A write without history writes none.
                let quiet = HistoryContext::new().user(1).without_history();
                Account::create_with_history(&mut conn, &new, &quiet).unwrap();
                assert_eq!(records(&mut conn).len(), 14);

                // The down migration takes the triggers with the table.
                conn.batch_execute(&Account::history_migration(DIALECT).down)
                    .unwrap();
                diesel::update(accounts::table)
                    .set(accounts::balance.eq(0))
                    .execute(&mut conn)
                    .unwrap();
            }

            #[test]
            fn the_context_reaches_every_column_and_the_reads() {
                let (_turn, open) = setup();
                let mut conn = open();
                let at = chrono::Utc::now() - chrono::Duration::days(3);
                let at = at
                    .with_nanosecond(at.timestamp_subsec_micros() * 1000)
                    .unwrap();
                let ctx = HistoryContext::new()
                    .user(5)
                    .reason("import")
                    .at(at)
                    .client_ip("2001:db8::7".parse().unwrap())
                    .user_agent("Probe/1")
                    .request_id("req-1");
                let account = Account::create_with_history(
                    &mut conn,
                    NewAccount {
                        owner: "eve",
                        balance: 1,
                        note: "n",
                    },
                    &ctx,
                )
                .unwrap();
                let record = Account::latest(&mut conn, &account.id).unwrap();
                assert_eq!(record.history_type(), HistoryType::Created);
                assert_eq!(record.history_user_id, Some(5));
                assert_eq!(
                    record.history_client_ip,
                    Some("2001:db8::7".parse().unwrap())
                );
                assert_eq!(record.history_user_agent.as_deref(), Some("Probe/1"));
                assert_eq!(record.history_request_id.as_deref(), Some("req-1"));
                let stored = record.history_date();
                let micros = |d: chrono::DateTime<chrono::Utc>| d.timestamp_micros();
                // SQLite keeps what it is given; the servers keep microseconds.
                assert_eq!(micros(stored), micros(at), "{stored} != {at}");
                // A clock date is the database's, in UTC.
                let before = chrono::Utc::now() - chrono::Duration::seconds(5);
                let mut later = account.clone();
                later.owner = "eva".to_owned();
                later
                    .save_with_history(&mut conn, &HistoryContext::new().user(5))
                    .unwrap();
                let latest = Account::latest(&mut conn, &later.id).unwrap();
                assert!(latest.history_date() > before, "{}", latest.history_date());
                assert!(latest.history_date() < chrono::Utc::now() + chrono::Duration::seconds(5));
                assert_eq!(latest.owner, "eva");
            }

            use chrono::Timelike;

            #[test]
            fn skip_unchanged_and_excluded_fields_are_the_triggers_too() {
                let (_turn, open) = setup();
                let mut conn = open();
                let account = Account::create_with_history(
                    &mut conn,
                    NewAccount {
                        owner: "fay",
                        balance: 1,
                        note: "n",
                    },
                    &ctx(1, "open"),
                )
                .unwrap();
                // Only the excluded field, or the same values: nothing recorded.
                diesel::update(accounts::table)
                    .set(accounts::note.eq("other"))
                    .execute(&mut conn)
                    .unwrap();
                diesel::update(accounts::table)
                    .set(accounts::owner.eq("fay"))
                    .execute(&mut conn)
                    .unwrap();
                assert_eq!(records(&mut conn).len(), 1);
                // A statement that changes some rows records those only.
                Account::create_with_history(
                    &mut conn,
                    NewAccount {
                        owner: "gil",
                        balance: 2,
                        note: "n",
                    },
                    &ctx(1, "open"),
                )
                .unwrap();
                diesel::update(accounts::table)
                    .set(accounts::balance.eq(2))
                    .execute(&mut conn)
                    .unwrap();
                let all = records(&mut conn);
                assert_eq!(all.len(), 3);
                assert_eq!((all[2].id, all[2].balance), (account.id, 2));
            }

            #[test]
            fn a_context_never_outlives_its_transaction() {
                let (_turn, open) = setup();
                let mut conn = open();
                let id = Account::create_with_history(
                    &mut conn,
                    NewAccount {
                        owner: "hal",
                        balance: 1,
                        note: "n",
                    },
                    &ctx(1, "open"),
                )
                .unwrap()
                .id;
                let bump = |conn: &mut ConcurrentConn| {
                    diesel::update(accounts::table.find(id))
                        .set(accounts::balance.eq(accounts::balance + 1))
                        .execute(conn)
                };
                // The next transaction on the same connection has none.
                conn.transaction(|conn| bump(conn)).unwrap();
                bump(&mut conn).unwrap();
                // Nor after a body that failed, which wrote nothing.
                let failed: Result<(), HistoryError> =
                    with_context(&mut conn, &ctx(2, "fails"), |conn| {
                        bump(conn)?;
                        Err(HistoryError::NotFound { model: "Account" })
                    });
                assert!(
                    matches!(failed, Err(HistoryError::NotFound { .. })),
                    "{failed:?}"
                );
                bump(&mut conn).unwrap();
                assert_eq!(
                    summaries(&mut conn, 1),
                    [
                        changed("hal", 2, None, None),
                        changed("hal", 3, None, None),
                        changed("hal", 4, None, None)
                    ]
                );
                // Nested: the inner context while it runs, the outer one after.
                conn.transaction(|conn| {
                    with_context(conn, &ctx(3, "outer"), |conn| {
                        bump(conn)?;
                        with_context(conn, &ctx(4, "inner"), |conn| {
                            bump(conn).map_err(HistoryError::from)
                        })?;
                        bump(conn)?;
                        Ok::<_, HistoryError>(())
                    })?;
                    bump(conn)?;
                    Ok::<_, HistoryError>(())
                })
                .unwrap();
                assert_eq!(
                    summaries(&mut conn, 4),
                    [
                        changed("hal", 5, Some(3), Some("outer")),
                        changed("hal", 6, Some(4), Some("inner")),
                        changed("hal", 7, Some(3), Some("outer")),
                        changed("hal", 8, None, None),
                    ]
                );
                // A write helper inside the caller's context puts it back too.
                with_context(&mut conn, &ctx(5, "request"), |conn| {
                    let row = accounts::table.find(id).first::<Account>(conn)?;
                    let mut row2 = row.clone();
                    row2.owner = "hale".to_owned();
                    row2.save_with_history(conn, &ctx(6, "helper"))?;
                    bump(conn)?;
                    Ok::<_, HistoryError>(())
                })
                .unwrap();
                assert_eq!(
                    summaries(&mut conn, 8),
                    [
                        changed("hale", 8, Some(6), Some("helper")),
                        changed("hale", 9, Some(5), Some("request"))
                    ]
                );
            }

            #[test]
            fn fail_closed_refuses_a_write_without_a_user_from_any_client() {
                let (_turn, open) = setup();
                let mut conn = open();
                let vault_records = |conn: &mut ConcurrentConn| -> i64 {
                    historical_vaults::table.count().get_result(conn).unwrap()
                };
                let vault_rows = |conn: &mut ConcurrentConn| -> i64 {
                    vaults::table.count().get_result(conn).unwrap()
                };
                // The helpers refuse before any statement.
                let err = Vault::create_with_history(
                    &mut conn,
                    (vaults::secret.eq("x"),),
                    &HistoryContext::new(),
                )
                .unwrap_err();
                assert!(
                    matches!(err, HistoryError::UserRequired { model: "Vault" }),
                    "{err}"
                );
                // Raw SQL without a context: the trigger refuses, nothing is kept.
                let err = diesel::sql_query("INSERT INTO vaults (secret) VALUES ('x')")
                    .execute(&mut conn)
                    .unwrap_err();
                let err = HistoryError::from(err);
                match &err {
                    HistoryError::UserRefusedByDatabase { table, .. } => {
                        assert_eq!(table, "vaults")
                    }
                    other => panic!("expected a refusal, got {other:?}"),
                }
                assert_eq!((vault_rows(&mut conn), vault_records(&mut conn)), (0, 0));
                // Through with_context without a user, the same.
                let err = with_context(
                    &mut conn,
                    &HistoryContext::<i64>::new().reason("no one"),
                    |conn| {
                        diesel::insert_into(vaults::table)
                            .values(vaults::secret.eq("y"))
                            .execute(conn)?;
                        Ok::<_, HistoryError>(())
                    },
                )
                .unwrap_err();
                assert!(
                    matches!(err, HistoryError::UserRefusedByDatabase { .. }),
                    "{err}"
                );
                assert_eq!((vault_rows(&mut conn), vault_records(&mut conn)), (0, 0));
                // With a user it is written, and a second client still cannot change it.
                let vault =
                    Vault::create_with_history(&mut conn, (vaults::secret.eq("z"),), &ctx(9, "ok"))
                        .unwrap();
                let mut other = open();
                let err = diesel::update(vaults::table)
                    .set(vaults::secret.eq("stolen"))
                    .execute(&mut other);
                assert!(err.is_err());
                let err = diesel::delete(vaults::table).execute(&mut other);
                assert!(err.is_err());
                let live: Vec<Vault> = vaults::table.load(&mut conn).unwrap();
                assert_eq!(live, [vault]);
                assert_eq!(vault_records(&mut conn), 1);
            }

            #[test]
            fn a_failing_trigger_rolls_the_data_write_back() {
                let (_turn, open) = setup();
                let mut conn = open();
                let account = Account::create_with_history(
                    &mut conn,
                    NewAccount {
                        owner: "ian",
                        balance: 1,
                        note: "n",
                    },
                    &ctx(1, "open"),
                )
                .unwrap();
                conn.batch_execute("DROP TABLE historical_accounts")
                    .unwrap();
                let err = diesel::update(accounts::table)
                    .set(accounts::balance.eq(99))
                    .execute(&mut conn);
                assert!(err.is_err(), "{err:?}");
                let mut saved = account.clone();
                saved.balance = 98;
                assert!(saved.save_with_history(&mut conn, &ctx(1, "save")).is_err());
                let live: Account = accounts::table.find(account.id).first(&mut conn).unwrap();
                assert_eq!(live, account);
            }

            #[test]
            fn statements_of_ten_thousand_rows_record_every_row() {
                let (_turn, open) = setup();
                let mut conn = open();
                let owners: Vec<String> = (0..10_000).map(|i| format!("owner-{i}")).collect();
                let rows: Vec<NewAccount<'_>> = owners
                    .iter()
                    .map(|owner| NewAccount {
                        owner,
                        balance: 1,
                        note: "n",
                    })
                    .collect();
                with_context(&mut conn, &ctx(3, "bulk"), |conn| {
                    for chunk in rows.chunks(5_000) {
                        diesel::insert_into(accounts::table)
                            .values(chunk)
                            .execute(conn)?;
                    }
                    diesel::update(accounts::table)
                        .set(accounts::balance.eq(accounts::balance + 1))
                        .execute(conn)?;
                    Ok::<_, HistoryError>(())
                })
                .unwrap();
                diesel::delete(accounts::table).execute(&mut conn).unwrap();
                let counts: Vec<(HistoryType, i64)> = historical_accounts::table
                    .group_by(historical_accounts::history_type)
                    .select((historical_accounts::history_type, diesel::dsl::count_star()))
                    .order(historical_accounts::history_type)
                    .load(&mut conn)
                    .unwrap();
                let mut counts = counts;
                counts.sort_by_key(|(kind, _)| kind.as_str());
                assert_eq!(
                    counts,
                    [
                        (HistoryType::Created, 10_000),
                        (HistoryType::Deleted, 10_000),
                        (HistoryType::Changed, 10_000)
                    ]
                );
                let wrong: i64 = historical_accounts::table
                    .filter(historical_accounts::history_type.eq(HistoryType::Deleted))
                    .filter(
                        historical_accounts::balance
                            .ne(2)
                            .or(historical_accounts::history_user_id.is_not_null()),
                    )
                    .count()
                    .get_result(&mut conn)
                    .unwrap();
                assert_eq!(wrong, 0);
                let users: i64 = historical_accounts::table
                    .filter(historical_accounts::history_user_id.eq(3))
                    .count()
                    .get_result(&mut conn)
                    .unwrap();
                assert_eq!(users, 20_000);
            }

            #[test]
            fn concurrent_writers_get_one_record_per_row_change() {
                const THREADS: i64 = 8;
                const ROUNDS: i64 = 10;
                let (_turn, open) = setup();
                let mut conn = open();
                let rows: Vec<NewAccount<'_>> = (0..4)
                    .map(|_| NewAccount {
                        owner: "shared",
                        balance: 0,
                        note: "n",
                    })
                    .collect();
                // Keys only, in trigger capture too.
                let keys = Account::bulk_create_keys_with_history(
                    &mut conn,
                    &rows,
                    &ctx(100, "open"),
                    BulkOptions::default(),
                )
                .unwrap();
                let stored: Vec<i32> = accounts::table
                    .select(accounts::id)
                    .order(accounts::id)
                    .load(&mut conn)
                    .unwrap();
                assert_eq!(keys, stored);
                let threads: Vec<_> = (0..THREADS)
                    .map(|thread| {
                        let open = open.clone();
                        std::thread::spawn(move || {
                            let mut conn = open();
                            for round in 0..ROUNDS {
                                let ctx = ctx(thread, "race");
                                // Half through the helpers, half plain Diesel.
                                if round % 2 == 0 {
                                    Account::update_where_with_history(
                                        &mut conn,
                                        accounts::owner.eq("shared"),
                                        accounts::balance.eq(accounts::balance + 1),
                                        &ctx,
                                    )
                                    .unwrap();
                                } else {
                                    with_context(&mut conn, &ctx, |conn| {
                                        diesel::update(accounts::table)
                                            .set(accounts::balance.eq(accounts::balance + 1))
                                            .execute(conn)?;
                                        Ok::<_, HistoryError>(())
                                    })
                                    .unwrap();
                                }
                            }
                        })
                    })
                    .collect();
                for thread in threads {
                    thread.join().unwrap();
                }
                let all = records(&mut conn);
                assert_eq!(all.len() as i64, 4 + THREADS * ROUNDS * 4);
                for thread in 0..THREADS {
                    let mine = all
                        .iter()
                        .filter(|r| r.history_user_id == Some(thread))
                        .count() as i64;
                    assert_eq!(mine, ROUNDS * 4, "thread {thread}");
                }
                // Each row's records, in (date, id) order, count up by one.
                let live: Vec<Account> =
                    accounts::table.order(accounts::id).load(&mut conn).unwrap();
                for row in live {
                    assert_eq!(row.balance, THREADS * ROUNDS);
                    let mut balances: Vec<i64> = all
                        .iter()
                        .filter(|r| r.id == row.id)
                        .map(|r| r.balance)
                        .collect();
                    balances.sort_unstable();
                    assert_eq!(balances, (0..=THREADS * ROUNDS).collect::<Vec<_>>());
                }
            }

            #[test]
            fn async_helpers_and_with_context_hand_over_the_context() {
                use diesel_async::{AsyncConnection, RunQueryDsl as AsyncRun};
                let (_turn, open, url) = setup_with_url();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let mut conn = AsyncConn::establish(&url).await.unwrap();
                    let account = <Account as history_diesel::asynchronous::WriteWithHistory>::create_with_history(
                        &mut conn,
                        NewAccount { owner: "ann", balance: 1, note: "n" },
                        &ctx(1, "async"),
                    )
                    .await
                    .unwrap();
                    history_diesel::asynchronous::with_context(&mut conn, &ctx(2, "async fix"), async |conn| {
                        AsyncRun::execute(
                            diesel::update(accounts::table.find(account.id)).set(accounts::balance.eq(5)),
                            conn,
                        )
                        .await?;
                        Ok::<_, HistoryError>(())
                    })
                    .await
                    .unwrap();
                    // Outside it, the same connection carries none.
                    AsyncRun::execute(
                        diesel::update(accounts::table.find(account.id)).set(accounts::balance.eq(6)),
                        &mut conn,
                    )
                    .await
                    .unwrap();
                });
                let mut conn = open();
                assert_eq!(
                    summaries(&mut conn, 0),
                    [
                        (HistoryType::Created, "ann".to_owned(), 1, Some(1), Some("async".to_owned())),
                        changed("ann", 5, Some(2), Some("async fix")),
                        changed("ann", 6, None, None),
                    ]
                );
            }

            #[test]
            fn migrations_rewrite_the_triggers_as_the_model_changes() {
                use diesel_migrations::{FileBasedMigrations, MigrationHarness};
                use history_diesel::HistoricalRecords as _;

                use crate::triggers::ledger::{v1, v2, v3};
                let (_turn, open) = setup();
                let mut conn = open();
                conn.batch_execute(
                    "DROP TABLE IF EXISTS ledgers; DROP TABLE IF EXISTS historical_ledgers; \
                     DROP TABLE IF EXISTS __diesel_schema_migrations",
                )
                .unwrap();
                conn.batch_execute(
                    "CREATE TABLE ledgers (id INTEGER PRIMARY KEY, owner VARCHAR(50) NOT NULL, balance BIGINT)",
                )
                .unwrap();
                let dir = crate::support::scratch_dir(&format!("triggers-{}", DIALECT.name()));
                crate::support::write_history_steps(
                    &dir,
                    DIALECT,
                    &[&[v1::Ledger::HISTORY_TABLE], &[v2::Ledger::HISTORY_TABLE], &[v3::Ledger::HISTORY_TABLE]],
                );
                let migrations = FileBasedMigrations::from_path(&dir).unwrap();
                let insert = |conn: &mut ConcurrentConn, id: i32, balance: &str| {
                    diesel::sql_query(format!(
                        "INSERT INTO ledgers (id, owner, balance) VALUES ({id}, 'o', {balance})"
                    ))
                    .execute(conn)
                };
                let records = |conn: &mut ConcurrentConn| -> Vec<(i32, Option<i64>, Option<i64>)> {
                    use v3::historical_ledgers as h;
                    h::table
                        .order(h::history_id)
                        .select((h::id, h::balance, h::history_user_id))
                        .load(conn)
                        .unwrap()
                };
                let count = |conn: &mut ConcurrentConn| -> i64 {
                    v1::historical_ledgers::table.count().get_result(conn).unwrap()
                };
                // v1, client capture: a raw write leaves no record.
                conn.run_next_migration(migrations.clone()).unwrap();
                insert(&mut conn, 1, "10").unwrap();
                assert_eq!(count(&mut conn), 0);
                // v2, trigger capture and a new column: the raw write is recorded.
                conn.run_next_migration(migrations.clone()).unwrap();
                insert(&mut conn, 2, "20").unwrap();
                assert_eq!(records(&mut conn), [(2, Some(20), None)]);
                // v3, the column nullable and fail-closed: the triggers follow.
                conn.run_next_migration(migrations.clone()).unwrap();
                assert!(insert(&mut conn, 3, "NULL").is_err());
                with_context(&mut conn, &HistoryContext::new().user(5_i64), |conn| {
                    insert(conn, 3, "NULL").map_err(HistoryError::from)
                })
                .unwrap();
                assert_eq!(records(&mut conn), [(2, Some(20), None), (3, None, Some(5))]);
                // Back to v2: its triggers again, no user needed.
                conn.revert_last_migration(migrations.clone()).unwrap();
                insert(&mut conn, 4, "40").unwrap();
                assert_eq!(records(&mut conn).last(), Some(&(4, Some(40), None)));
                // Back to v1: no trigger.
                conn.revert_last_migration(migrations.clone()).unwrap();
                let before = count(&mut conn);
                insert(&mut conn, 5, "50").unwrap();
                assert_eq!(count(&mut conn), before);
                conn.revert_last_migration(migrations).unwrap();
                std::fs::remove_dir_all(&dir).unwrap();
            }

            #[test]
            fn per_row_contexts_are_refused_before_any_statement() {
                let (_turn, open) = setup();
                let mut conn = open();
                let rows = [
                    NewAccount {
                        owner: "a",
                        balance: 1,
                        note: "n",
                    },
                    NewAccount {
                        owner: "b",
                        balance: 1,
                        note: "n",
                    },
                ];
                let contexts = vec![ctx(1, "a"), ctx(2, "b")];
                let err = Account::bulk_create_with_history(
                    &mut conn,
                    &rows,
                    &contexts,
                    BulkOptions::default(),
                )
                .unwrap_err();
                assert!(
                    matches!(err, HistoryError::PerRowContexts { model: "Account" }),
                    "{err}"
                );
                let count: i64 = accounts::table.count().get_result(&mut conn).unwrap();
                assert_eq!(count, 0);
            }
        }
    };
}

pub(crate) use trigger_suite;
