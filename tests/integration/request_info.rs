//! Where a change came from (`#[history(request_info)]`): every write path
//! fills the client address, user agent and request id of its records from
//! the resolved context, as binds, and NULL when the context has none; a
//! model without the option keeps its table and statements as they were.

/// Test bodies for request columns; expanded inside `backend_suite!`, next
/// to its `connect()`, `create_tables()`, the backend's
/// `TICKET_HISTORY_COLUMNS` and the write suite's `count_statements()`.
macro_rules! request_info_suite {
    () => {
        mod request_info {
            use std::net::IpAddr;

            use history_diesel::{BulkOptions, HistoryContext, ReadHistory, WriteWithHistory};

            use super::*;

            /// What a record says of where its change came from.
            type Origin = (Option<IpAddr>, Option<String>, Option<String>);

            fn ip(text: &str) -> IpAddr {
                text.parse().unwrap()
            }

            /// Call `n`'s client: IPv4 for even calls, IPv6 for odd ones.
            fn client(n: usize) -> IpAddr {
                if n % 2 == 0 {
                    ip(&format!("192.0.2.{n}"))
                } else {
                    ip(&format!("2001:db8::{n:x}"))
                }
            }

            /// The context of call `n`, explicit in every field.
            fn origin_of(n: usize) -> HistoryContext<i64> {
                HistoryContext::new()
                    .user(5)
                    .client_ip(client(n))
                    .user_agent(format!("Probe/{n} (agent)"))
                    .request_id(format!("req-{n}"))
            }

            fn explicit_origin(n: usize) -> Origin {
                (
                    Some(client(n)),
                    Some(format!("Probe/{n} (agent)")),
                    Some(format!("req-{n}")),
                )
            }

            fn ticket_records(conn: &mut Conn) -> Vec<HistoricalTicket> {
                historical_tickets::table
                    .order(historical_tickets::history_id.asc())
                    .select(HistoricalTicket::as_select())
                    .load(&mut **conn)
                    .unwrap()
            }

            fn origin(record: &HistoricalTicket) -> Origin {
                (
                    record.history_client_ip,
                    record.history_user_agent.clone(),
                    record.history_request_id.clone(),
                )
            }

            fn new_ticket(conn: &mut Conn, title: &str, ctx: &HistoryContext<i64>) -> Ticket {
                Ticket::create_with_history(&mut **conn, &NewTicket { title }, ctx).unwrap()
            }

            /// A day ago: an explicit date, which PostgreSQL writes with a
            /// history statement of its own rather than in the write's CTE.
            fn yesterday() -> chrono::DateTime<chrono::Utc> {
                chrono::Utc::now() - chrono::Duration::days(1)
            }

            /// Runs every write path once, call `n` with the context `ctx(n)`:
            /// create (in one statement and with an explicit date), save,
            /// update by filter (the same two ways), bulk create and bulk
            /// update with one context and with one per row, delete by filter
            /// (both ways), restore as an undelete and as an update, and
            /// delete. Returns what each ticket's records must be, oldest
            /// first: (kind, call).
            fn write_every_way(
                conn: &mut Conn,
                ctx: impl Fn(usize) -> HistoryContext<i64>,
            ) -> Vec<(i32, Vec<(HistoryType, usize)>)> {
                use HistoryType::{Changed as C, Created as P, Deleted as D};
                let mut a = new_ticket(conn, "a", &ctx(0));
                let b = new_ticket(conn, "b", &ctx(1).at(yesterday()));
                a.title = "a saved".into();
                a.save_with_history(&mut **conn, &ctx(2)).unwrap();
                let touched = Ticket::update_where_with_history(
                    &mut **conn,
                    tickets::id.eq(b.id),
                    tickets::title.eq("b by filter"),
                    &ctx(3),
                )
                .unwrap();
                assert_eq!(touched, 1);
                Ticket::update_where_with_history(
                    &mut **conn,
                    tickets::id.eq(b.id),
                    tickets::title.eq("b dated"),
                    &ctx(4).at(chrono::Utc::now() - chrono::Duration::hours(1)),
                )
                .unwrap();

                let rows = [NewTicket { title: "c" }, NewTicket { title: "d" }];
                let mut cd =
                    Ticket::bulk_create_with_history(&mut **conn, &rows, &ctx(5), BulkOptions::default())
                        .unwrap();
                for ticket in &mut cd {
                    ticket.title.push_str(" bulk");
                }
                Ticket::bulk_update_with_history(&mut **conn, &cd, &ctx(6), BulkOptions::default())
                    .unwrap();
                // Before any delete: SQLite hands a deleted highest key out again.
                let rows = [NewTicket { title: "e" }, NewTicket { title: "f" }];
                let contexts = vec![ctx(7), ctx(8)];
                let mut ef =
                    Ticket::bulk_create_with_history(&mut **conn, &rows, &contexts, BulkOptions::default())
                        .unwrap();
                for ticket in &mut ef {
                    ticket.title.push_str(" per row");
                }
                let contexts = vec![ctx(9), ctx(10)];
                Ticket::bulk_update_with_history(&mut **conn, &ef, &contexts, BulkOptions::default())
                    .unwrap();

                let deleted =
                    Ticket::delete_where_with_history(&mut **conn, tickets::id.eq(cd[0].id), &ctx(11))
                        .unwrap();
                assert_eq!(deleted, 1);
                // Also on PostgreSQL's shared path: with an explicit date.
                Ticket::delete_where_with_history(
                    &mut **conn,
                    tickets::id.eq(cd[1].id),
                    &ctx(12).at(chrono::Utc::now() - chrono::Duration::minutes(1)),
                )
                .unwrap();

                // Undelete c from its creation record; put a's first version back.
                let created_c = Ticket::earliest(&mut **conn, &cd[0].id).unwrap();
                Ticket::restore_with_history(&mut **conn, &created_c, &ctx(13)).unwrap();
                let created_a = Ticket::earliest(&mut **conn, &a.id).unwrap();
                Ticket::restore_with_history(&mut **conn, &created_a, &ctx(14)).unwrap();
                a.delete_with_history(&mut **conn, &ctx(15)).unwrap();

                vec![
                    (a.id, vec![(P, 0), (C, 2), (C, 14), (D, 15)]),
                    (b.id, vec![(P, 1), (C, 3), (C, 4)]),
                    (cd[0].id, vec![(P, 5), (C, 6), (D, 11), (P, 13)]),
                    (cd[1].id, vec![(P, 5), (C, 6), (D, 12)]),
                    (ef[0].id, vec![(P, 7), (C, 9)]),
                    (ef[1].id, vec![(P, 8), (C, 10)]),
                ]
            }

            /// Each ticket's records, oldest first, against `expected` with
            /// call `n`'s origin from `origin_of_call(n)`.
            fn assert_origins(
                conn: &mut Conn,
                expected: &[(i32, Vec<(HistoryType, usize)>)],
                origin_of_call: impl Fn(usize) -> Origin,
            ) {
                let records = ticket_records(conn);
                let total: usize = expected.iter().map(|(_, calls)| calls.len()).sum();
                assert_eq!(records.len(), total, "{records:#?}");
                for (id, calls) in expected {
                    let seen: Vec<(HistoryType, Origin)> = records
                        .iter()
                        .filter(|record| record.id == *id)
                        .map(|record| (record.history_type, origin(record)))
                        .collect();
                    let wanted: Vec<(HistoryType, Origin)> = calls
                        .iter()
                        .map(|(kind, n)| (*kind, origin_of_call(*n)))
                        .collect();
                    assert_eq!(seen, wanted, "ticket {id}");
                }
            }

            #[test]
            fn every_write_path_records_the_explicit_contexts_origin_as_binds() {
                let mut conn = connect();
                create_tables(&mut conn);
                let seen = count_statements(&mut conn);
                let expected = write_every_way(&mut conn, origin_of);
                assert_origins(&mut conn, &expected, explicit_origin);
                assert!(ticket_records(&mut conn).iter().all(|r| r.history_user_id == Some(5)));

                // The values are binds: no statement's SQL (the text before
                // Diesel's ` -- binds: [...]`) holds any of them.
                let statements = std::mem::take(&mut *seen.lock().unwrap());
                let recording: Vec<&String> = statements
                    .iter()
                    .filter(|text| text.contains("history_client_ip"))
                    .collect();
                assert!(!recording.is_empty(), "{statements:#?}");
                for text in &statements {
                    let sql = text.split(" -- binds:").next().unwrap();
                    for value in ["req-", "Probe/", "192.0.2.", "2001:db8"] {
                        assert!(!sql.contains(value), "{value} in the SQL of {text}");
                    }
                }
            }

            #[test]
            fn every_write_path_takes_the_origin_from_a_scope() {
                let mut conn = connect();
                create_tables(&mut conn);
                let scoped = || -> Origin {
                    (
                        Some(ip("2001:db8::5c0:9e")),
                        Some("Scoped/1.0".to_owned()),
                        Some("scoped-request".to_owned()),
                    )
                };
                let expected = HistoryContext::<i64>::new()
                    .client_ip(ip("2001:db8::5c0:9e"))
                    .user_agent("Scoped/1.0")
                    .request_id("scoped-request")
                    .scope(|| write_every_way(&mut conn, |_| HistoryContext::new()));
                assert_origins(&mut conn, &expected, |_| scoped());

                // Field by field: an explicit request id wins, the rest is the scope's.
                let ticket = HistoryContext::<i64>::new()
                    .client_ip(ip("198.51.100.1"))
                    .user_agent("Scoped/2.0")
                    .scope(|| {
                        new_ticket(&mut conn, "g", &HistoryContext::new().request_id("explicit"))
                    });
                let record = Ticket::latest(&mut *conn, &ticket.id).unwrap();
                assert_eq!(
                    origin(&record),
                    (
                        Some(ip("198.51.100.1")),
                        Some("Scoped/2.0".to_owned()),
                        Some("explicit".to_owned())
                    )
                );
            }

            #[test]
            fn records_of_a_context_without_an_origin_hold_null() {
                let mut conn = connect();
                create_tables(&mut conn);
                let expected = write_every_way(&mut conn, |n| HistoryContext::new().user(n as i64));
                assert_origins(&mut conn, &expected, |_| (None, None, None));

                // Per-row contexts, one with an origin and one without: each
                // row's record has its own.
                let rows = [NewTicket { title: "h" }, NewTicket { title: "i" }];
                let contexts = vec![origin_of(20), HistoryContext::new()];
                let created = Ticket::bulk_create_with_history(
                    &mut *conn,
                    &rows,
                    &contexts,
                    BulkOptions::default(),
                )
                .unwrap();
                let h = Ticket::latest(&mut *conn, &created[0].id).unwrap();
                let i = Ticket::latest(&mut *conn, &created[1].id).unwrap();
                assert_eq!(origin(&h), explicit_origin(20));
                assert_eq!(origin(&i), (None, None, None));
            }

            #[test]
            fn ipv4_and_ipv6_addresses_round_trip() {
                let mut conn = connect();
                create_tables(&mut conn);
                let addresses = [
                    "127.0.0.1",
                    "0.0.0.0",
                    "255.255.255.255",
                    "::",
                    "::1",
                    "2001:db8::ff00:42:8329",
                    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                    // IPv4-mapped: stays an IPv6 address.
                    "::ffff:192.0.2.1",
                ]
                .map(ip);
                for address in addresses {
                    let ctx = HistoryContext::new().client_ip(address);
                    let ticket = new_ticket(&mut conn, "ip", &ctx);
                    let record = Ticket::latest(&mut *conn, &ticket.id).unwrap();
                    assert_eq!(record.history_client_ip, Some(address));
                    assert_eq!(record.history_client_ip.map(|ip| ip.is_ipv6()), Some(address.is_ipv6()));
                    // A filter on the column takes an `Option`.
                    let found: Vec<i32> = historical_tickets::table
                        .filter(historical_tickets::history_client_ip.eq(Some(address)))
                        .select(historical_tickets::id)
                        .load(&mut *conn)
                        .unwrap();
                    assert_eq!(found, [ticket.id], "{address}");
                }

                // The record struct writes the columns too.
                let record = HistoricalTicket {
                    history_id: 0,
                    id: 99,
                    title: "imported".into(),
                    history_date: chrono::SubsecRound::trunc_subsecs(yesterday(), 6),
                    history_type: HistoryType::Created,
                    history_user_id: None,
                    history_change_reason: None,
                    history_client_ip: Some(ip("2001:db8::1")),
                    history_user_agent: Some("importer".into()),
                    history_request_id: None,
                };
                diesel::insert_into(historical_tickets::table)
                    .values(record.clone())
                    .execute(&mut *conn)
                    .unwrap();
                let stored = Ticket::latest(&mut *conn, &99).unwrap();
                assert_eq!(stored, HistoricalTicket { history_id: stored.history_id, ..record });
            }

            #[test]
            fn a_stored_address_that_is_not_one_fails_to_read_with_what_was_found() {
                if DIALECT == history_diesel::Dialect::Postgres {
                    return; // INET refuses such a value on the way in.
                }
                let mut conn = connect();
                create_tables(&mut conn);
                diesel::sql_query(
                    "INSERT INTO historical_tickets (id, title, history_date, history_type, history_client_ip) \
                     VALUES (1, 't', '2026-01-02 03:04:05', '+', 'not-an-ip')",
                )
                .execute(&mut *conn)
                .unwrap();
                let err = historical_tickets::table
                    .select(HistoricalTicket::as_select())
                    .load(&mut *conn)
                    .unwrap_err();
                // Diesel names the field; its source says what was found.
                let mut chain = err.to_string();
                let mut source = std::error::Error::source(&err);
                while let Some(cause) = source {
                    chain.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                assert!(chain.contains("history_client_ip"), "{chain}");
                assert!(chain.contains("\"not-an-ip\" is not an IP address"), "{chain}");
            }

            #[test]
            fn user_agents_and_request_ids_are_stored_verbatim() {
                let mut conn = connect();
                create_tables(&mut conn);
                let agent = r#"Mozilla/5.0 "quoted" 'single' \back\slash `tick` '); DROP TABLE tickets; --"#;
                let request = "'); DROP TABLE historical_tickets; -- \"";
                let ctx = HistoryContext::new().user_agent(agent).request_id(request);
                let mut ticket = new_ticket(&mut conn, "quoted", &ctx);
                ticket.title = "still here".into();
                ticket.save_with_history(&mut *conn, &ctx).unwrap();
                let records = ticket_records(&mut conn);
                assert_eq!(records.len(), 2);
                for record in &records {
                    assert_eq!(record.history_user_agent.as_deref(), Some(agent));
                    assert_eq!(record.history_request_id.as_deref(), Some(request));
                }
                let live: i64 = tickets::table.count().get_result(&mut *conn).unwrap();
                assert_eq!(live, 1);

                // Longer values are cut by the context to what the columns hold,
                // in characters.
                let ctx = HistoryContext::new()
                    .user_agent("é".repeat(600))
                    .request_id("r".repeat(200));
                let long = new_ticket(&mut conn, "long", &ctx);
                let record = Ticket::latest(&mut *conn, &long.id).unwrap();
                assert_eq!(record.history_user_agent, Some("é".repeat(512)));
                assert_eq!(record.history_request_id, Some("r".repeat(128)));
            }

            #[test]
            fn the_request_columns_are_nullable_with_each_backends_types() {
                let mut conn = connect();
                create_tables(&mut conn);
                let columns = conn.columns("historical_tickets");
                assert_eq!(names_and_types(&columns), TICKET_HISTORY_COLUMNS);
                let nullable: Vec<&str> =
                    columns.iter().filter(|c| c.nullable).map(|c| c.name.as_str()).collect();
                assert_eq!(
                    nullable,
                    [
                        "history_user_id",
                        "history_change_reason",
                        "history_client_ip",
                        "history_user_agent",
                        "history_request_id"
                    ]
                );
            }

            #[test]
            fn a_model_without_request_info_keeps_its_columns_and_statements() {
                let mut conn = connect();
                create_tables(&mut conn);
                assert!(!Order::HISTORY_TABLE.request_info);
                let columns = conn.columns("historical_orders");
                assert!(columns.iter().all(|c| !c.name.starts_with("history_client")), "{columns:?}");
                assert_eq!(columns.len(), Order::HISTORY_TABLE.column_names().len());

                // A context with an origin writes as before; the origin is not kept.
                let seen = count_statements(&mut conn);
                let ctx = origin_of(1);
                let mut order =
                    Order::create_with_history(&mut *conn, &NewOrder::new("new", 1.0), &ctx).unwrap();
                order.status = "paid".into();
                order.save_with_history(&mut *conn, &ctx).unwrap();
                let statements = std::mem::take(&mut *seen.lock().unwrap());
                assert!(
                    statements.iter().all(|text| !text.contains("history_client_ip")
                        && !text.contains("req-1")),
                    "{statements:#?}"
                );
                let users: Vec<Option<i64>> = historical_orders::table
                    .select(historical_orders::history_user_id)
                    .load(&mut *conn)
                    .unwrap();
                assert_eq!(users, [Some(5), Some(5)]);
            }
        }
    };
}

pub(crate) use request_info_suite;

/// The derive keeps its own list of the history columns (a proc-macro crate
/// cannot use history-core's): the `table!` it generates names the columns
/// of the runtime's list, in its order, with and without `request_info`.
#[test]
fn generated_tables_list_the_runtimes_history_columns_in_order() {
    use diesel::prelude::*;
    use history_diesel::HistoricalRecords;

    use crate::models::{historical_orders, historical_tickets, Order, Ticket};

    /// The column names of `SELECT "t"."a", "t"."b" FROM ..`.
    fn selected(sql: String) -> Vec<String> {
        let list = &sql["SELECT ".len()..sql.find(" FROM ").unwrap()];
        list.split(", ")
            .map(|column| {
                column
                    .rsplit('.')
                    .next()
                    .unwrap()
                    .trim_matches('`')
                    .to_owned()
            })
            .collect()
    }
    let tickets = diesel::debug_query::<diesel::sqlite::Sqlite, _>(
        &historical_tickets::table.select(historical_tickets::all_columns),
    )
    .to_string();
    assert_eq!(selected(tickets), Ticket::HISTORY_TABLE.column_names());
    let orders = diesel::debug_query::<diesel::sqlite::Sqlite, _>(
        &historical_orders::table.select(historical_orders::all_columns),
    )
    .to_string();
    assert_eq!(selected(orders), Order::HISTORY_TABLE.column_names());
}
