//! Real HTTP requests, each writing history: an axum server on 127.0.0.1
//! with the history layer, hit by many clients at once, on every backend.
//! Every record must carry its own request's user, client address, user
//! agent and request id, and no other; a write made after the request ended
//! carries none.

/// The HTTP suite of one backend: expanded inside `async_suite!`, next to
/// its `connected()`.
macro_rules! request_suite {
    () => {
        mod requests {
            use std::net::{IpAddr, SocketAddr};
            use std::sync::Arc;
            use std::time::Duration;

            use axum::extract::{Path, State};
            use axum::http::request::Parts;
            use axum::routing::post;
            use axum::Router;
            use diesel::prelude::{ExpressionMethods, QueryDsl, SelectableHelper};
            use diesel_async::pooled_connection::deadpool::Pool;
            use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
            use diesel_async::RunQueryDsl;
            use futures_util::FutureExt;
            use history_diesel::asynchronous::prelude::*;
            use history_diesel::web::{HistoryLayer, TrustedProxies};
            use tokio::task::JoinSet;

            use super::{connected, runtime, AsyncConn};
            use crate::models::*;

            const USERS: usize = 20;
            const REQUESTS: usize = 200;

            #[derive(Clone)]
            struct App {
                pool: Pool<AsyncConn>,
                /// Writes the handlers leave behind, to run after their
                /// response.
                later: Arc<tokio::sync::Mutex<JoinSet<()>>>,
            }

            fn user_of(parts: &Parts) -> Option<i64> {
                parts.headers.get("x-user-id")?.to_str().ok()?.parse().ok()
            }

            /// Two writes a short, random wait apart: the first with the
            /// request's context from the extractor, the second with an
            /// empty context, which the layer's task-local scope fills. A
            /// third write runs on a task spawned for after the response.
            async fn handle(
                State(app): State<App>,
                Path(n): Path<usize>,
                ctx: HistoryContext,
            ) -> String {
                let title = format!("request {n}");
                let ticket = {
                    let mut conn = app.pool.get().await.unwrap();
                    Ticket::create_with_history(&mut conn, &NewTicket { title: &title }, &ctx)
                        .await
                        .unwrap()
                };
                tokio::time::sleep(Duration::from_micros((n as u64 * 7919) % 3000)).await;
                {
                    let mut conn = app.pool.get().await.unwrap();
                    let changed = Ticket::update_where_with_history(
                        &mut conn,
                        tickets::id.eq(ticket.id),
                        tickets::title.eq(format!("request {n} again")),
                        &HistoryContext::new(),
                    )
                    .await
                    .unwrap();
                    assert_eq!(changed, 1);
                }
                let pool = app.pool.clone();
                app.later.lock().await.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let mut conn = pool.get().await.unwrap();
                    let title = format!("after request {n}");
                    Ticket::create_with_history(
                        &mut conn,
                        &NewTicket { title: &title },
                        &HistoryContext::new(),
                    )
                    .await
                    .unwrap();
                });
                ticket.id.to_string()
            }

            /// The client address request `n` claims through its proxy.
            fn client_of(n: usize) -> IpAddr {
                if n % 4 == 0 {
                    format!("2001:db8::{:x}", n + 1).parse().unwrap()
                } else {
                    format!("198.51.{}.{}", n / 250, n % 250 + 1)
                        .parse()
                        .unwrap()
                }
            }

            #[test]
            fn concurrent_requests_record_only_their_own_identity() {
                let _server = super::connect();
                let records = runtime().block_on(async {
                    let mut config = ManagerConfig::<AsyncConn>::default();
                    config.custom_setup = Box::new(|_url| async { Ok(connected().await) }.boxed());
                    let manager = AsyncDieselConnectionManager::<AsyncConn>::new_with_config(
                        "unused", config,
                    );
                    // One connection (in its test transaction where the
                    // backend has them), so the requests' writes interleave on it.
                    let pool = Pool::builder(manager).max_size(1).build().unwrap();
                    let app = App {
                        pool: pool.clone(),
                        later: Default::default(),
                    };
                    let router = Router::new()
                        .route("/tickets/{n}", post(handle))
                        .layer(
                            HistoryLayer::new(user_of)
                                .trusted_proxies("127.0.0.1/32".parse::<TrustedProxies>().unwrap())
                                .task_scope(true),
                        )
                        .with_state(app.clone());
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let addr = listener.local_addr().unwrap();
                    let server = tokio::spawn(async move {
                        axum::serve(
                            listener,
                            router.into_make_service_with_connect_info::<SocketAddr>(),
                        )
                        .await
                        .unwrap()
                    });

                    let client = reqwest::Client::new();
                    let mut requests = JoinSet::new();
                    for n in 0..REQUESTS {
                        let client = client.clone();
                        requests.spawn(async move {
                            let response = client
                                .post(format!("http://{addr}/tickets/{n}"))
                                .header("x-user-id", (n % USERS).to_string())
                                // A spoofed leftmost hop, the client as the
                                // trusted proxy saw it, and the proxy.
                                .header("x-forwarded-for", format!("6.6.6.6, {}", client_of(n)))
                                .header("user-agent", format!("agent {n}"))
                                .header("x-request-id", format!("req-{n}"))
                                .send()
                                .await
                                .unwrap();
                            assert!(response.status().is_success(), "{n}: {}", response.status());
                        });
                    }
                    while let Some(done) = requests.join_next().await {
                        done.unwrap();
                    }
                    let mut later = std::mem::take(&mut *app.later.lock().await);
                    while let Some(done) = later.join_next().await {
                        done.unwrap();
                    }
                    server.abort();
                    let mut conn = pool.get().await.unwrap();
                    historical_tickets::table
                        .order(historical_tickets::history_id.asc())
                        .select(HistoricalTicket::as_select())
                        .load::<HistoricalTicket>(&mut conn)
                        .await
                        .unwrap()
                });

                assert_eq!(records.len(), 3 * REQUESTS);
                let mut own = 0;
                for record in &records {
                    let words: Vec<&str> = record.title.split(' ').collect();
                    match words[..] {
                        ["request", n] | ["request", n, "again"] => {
                            let n: usize = n.parse().unwrap();
                            assert_eq!(
                                record.history_user_id,
                                Some((n % USERS) as i64),
                                "{record:?}"
                            );
                            assert_eq!(record.history_client_ip, Some(client_of(n)), "{record:?}");
                            assert_eq!(
                                record.history_user_agent.as_deref(),
                                Some(format!("agent {n}").as_str())
                            );
                            assert_eq!(
                                record.history_request_id.as_deref(),
                                Some(format!("req-{n}").as_str())
                            );
                            own += 1;
                        }
                        ["after", "request", _] => {
                            assert_eq!(
                                (
                                    record.history_user_id,
                                    record.history_client_ip,
                                    record.history_user_agent.as_deref(),
                                    record.history_request_id.as_deref()
                                ),
                                (None, None, None, None),
                                "{record:?}"
                            );
                        }
                        _ => panic!("unexpected record {record:?}"),
                    }
                }
                assert_eq!(own, 2 * REQUESTS);
            }
        }
    };
}

pub(crate) use request_suite;
