//! The history browser through its router, on every backend: pages and
//! JSON, HTML escaping of hostile values, keyset pagination, typed filters,
//! the revert form's CSRF token and permission, and the statements each
//! page sends.

/// The browser suite of one backend: expanded inside `async_suite!`, next
/// to its `connected()`, `runtime()` and `statements()`.
macro_rules! browser_suite {
    () => {
        mod browser {
            use std::sync::{Arc, Mutex as StdMutex};

            use axum::body::Body;
            use axum::http::{header, request::Parts, Request, StatusCode};
            use axum::Router;
            use diesel::prelude::{QueryDsl, SelectableHelper};
            use diesel_async::pooled_connection::deadpool::Pool;
            use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
            use diesel_async::RunQueryDsl;
            use futures_util::FutureExt;
            use history_diesel::asynchronous::prelude::*;
            use history_diesel::browser::{self, Action, BrowserOptions, Models};
            use history_diesel::web::HistoryLayer;
            use history_diesel::HistoryType;
            use tower::ServiceExt;

            use super::{connected, runtime, statements, AsyncConn};
            use crate::models::*;

            const HOSTILE: &str = "<script>alert('x')</script>";

            /// A pool of one connection (in its test transaction where the
            /// backend has them), and the statements it sends.
            async fn pool() -> (Pool<AsyncConn>, Arc<StdMutex<Vec<String>>>) {
                let (seen, instrumentation) = statements();
                let instrumentation = Arc::new(StdMutex::new(Some(instrumentation)));
                let mut config = ManagerConfig::<AsyncConn>::default();
                config.custom_setup = Box::new(move |_url| {
                    let instrumentation = Arc::clone(&instrumentation);
                    async move {
                        let mut conn = connected().await;
                        if let Some(instrumentation) = instrumentation.lock().unwrap().take() {
                            diesel_async::AsyncConnection::set_instrumentation(&mut conn, instrumentation);
                        }
                        Ok(conn)
                    }
                    .boxed()
                });
                let manager = AsyncDieselConnectionManager::<AsyncConn>::new_with_config("unused", config);
                (Pool::builder(manager).max_size(1).build().unwrap(), seen)
            }

            fn user_of(parts: &Parts) -> Option<i64> {
                parts.headers.get("x-user-id")?.to_str().ok()?.parse().ok()
            }

            /// The app: the browser nested under a prefix, inside the
            /// history layer that gives a revert its user.
            fn app(pool: &Pool<AsyncConn>, options: BrowserOptions) -> Router {
                let models = Models::new(pool.clone()).model::<Order>().model::<Ticket>();
                Router::new()
                    .nest("/admin/history", browser::router(models, options))
                    .layer(HistoryLayer::new(user_of))
            }

            struct Reply {
                status: StatusCode,
                body: String,
                headers: axum::http::HeaderMap,
            }

            async fn send(app: &Router, request: Request<Body>) -> Reply {
                let response = app.clone().oneshot(request).await.unwrap();
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
                Reply { status, body: String::from_utf8(bytes.to_vec()).unwrap(), headers }
            }

            /// A page, as user 9.
            async fn get(app: &Router, path: &str) -> Reply {
                let request = Request::get(format!("/admin/history{path}")).header("x-user-id", "9");
                send(app, request.body(Body::empty()).unwrap()).await
            }

            /// Orders 1 (created, then changed twice with hostile values)
            /// and 2 (created), and ticket 1; returns order 1's records,
            /// oldest first.
            async fn seed(pool: &Pool<AsyncConn>) -> Vec<HistoricalOrder> {
                let mut conn = pool.get().await.unwrap();
                let ctx = HistoryContext::new().user(7).reason("checkout");
                let mut order = Order::create_with_history(&mut conn, &NewOrder::new("new", 10.0), &ctx)
                    .await
                    .unwrap();
                order.status = HOSTILE.to_owned();
                order.customer_notes = "line one\nline two\nline three".to_owned();
                let hostile = HistoryContext::new().user(8).reason(HOSTILE);
                order.save_with_history(&mut conn, &hostile).await.unwrap();
                order.status = "paid".to_owned();
                order.customer_notes = "line one\nline 2\nline three".to_owned();
                order.save_with_history(&mut conn, &HistoryContext::new().user(8)).await.unwrap();
                Order::create_with_history(&mut conn, &NewOrder::new("other", 3.0), &ctx).await.unwrap();
                Ticket::create_with_history(&mut conn, &NewTicket { title: "Printer" }, &ctx).await.unwrap();
                let mut records: Vec<HistoricalOrder> = order.history().load(&mut conn).await.unwrap();
                records.reverse();
                records
            }

            /// The statements sent since the last call, without the pool's
            /// health check (`SELECT 1`, bound) before it hands the
            /// connection out.
            fn sent(seen: &StdMutex<Vec<String>>) -> Vec<String> {
                let mut sent = std::mem::take(&mut *seen.lock().unwrap());
                sent.retain(|sql| sql != "SELECT ?" && sql != "SELECT $1");
                sent
            }

            fn count(text: &str, needle: &str) -> usize {
                text.matches(needle).count()
            }

            #[test]
            fn pages_list_models_changes_a_timeline_and_a_diff_with_every_value_escaped() {
                let _server = super::connect();
                runtime().block_on(async {
                    let (pool, seen) = pool().await;
                    let records = seed(&pool).await;
                    let app = app(&pool, BrowserOptions::new().title("Shop history"));

                    sent(&seen);
                    let index = get(&app, "").await;
                    assert_eq!(index.status, StatusCode::OK);
                    assert!(index.body.contains("<title>Models · Shop history</title>"), "{}", index.body);
                    assert!(index.body.contains("<td><code>orders</code></td><td>4</td>"), "{}", index.body);
                    assert!(index.body.contains("<td><code>tickets</code></td><td>1</td>"), "{}", index.body);
                    assert!(index.body.contains(r#"href="/admin/history/changes?model=orders""#));
                    // One COUNT per model.
                    let statements = sent(&seen);
                    assert_eq!(statements.len(), 2, "{statements:?}");

                    sent(&seen);
                    let changes = get(&app, "/changes").await;
                    assert_eq!(changes.status, StatusCode::OK);
                    let statements = sent(&seen);
                    assert_eq!(statements.len(), 2, "one statement per model: {statements:?}");
                    assert!(!changes.body.contains(HOSTILE), "a raw <script> reached the page");
                    assert_eq!(count(&changes.body, "&lt;script&gt;alert('x')&lt;/script&gt;"), 1, "{}", changes.body);
                    // Both models' records: the order across pages is the
                    // keyset test's.
                    assert_eq!(count(&changes.body, r#"href="/admin/history/tickets/1""#), 1);
                    assert_eq!(count(&changes.body, r#"href="/admin/history/orders/2""#), 1);
                    assert_eq!(count(&changes.body, r#"href="/admin/history/orders/1""#), 3);

                    sent(&seen);
                    let timeline = get(&app, "/orders/1").await;
                    assert_eq!(timeline.status, StatusCode::OK);
                    let statements = sent(&seen);
                    assert_eq!(statements.len(), 1, "one statement for a timeline: {statements:?}");
                    for record in &records {
                        assert!(timeline.body.contains(&format!("Record {}</a>", record.history_id)));
                    }
                    assert!(timeline.body.contains("&lt;script&gt;"));
                    assert!(!timeline.body.contains(HOSTILE));

                    sent(&seen);
                    let record = get(&app, &format!("/orders/1/{}", records[2].history_id)).await;
                    assert_eq!(record.status, StatusCode::OK);
                    let statements = sent(&seen);
                    assert_eq!(statements.len(), 2, "the record and the one before it: {statements:?}");
                    assert!(record.body.contains(&format!("Compared with <a href=\"/admin/history/orders/1/{}\">record {}</a>", records[1].history_id, records[1].history_id)), "{}", record.body);
                    assert!(record.body.contains("2 changed: customer_notes, status."), "{}", record.body);
                    assert!(record.body.contains(r#"<tr class="changed" data-field="status">"#), "{}", record.body);
                    assert!(record.body.contains(r#"<tr data-field="total">"#), "{}", record.body);
                    assert!(record.body.contains("<del>- line two</del>"), "{}", record.body);
                    assert!(record.body.contains("<ins>+ line 2</ins>"));
                    assert!(!record.body.contains("internal_notes"), "excluded fields are not history");
                    assert!(!record.body.contains(HOSTILE));

                    let against = get(&app, &format!("/orders/1/{}?against={}", records[2].history_id, records[0].history_id)).await;
                    assert!(against.body.contains("2 changed: customer_notes, status."), "{}", against.body);
                    let first = get(&app, &format!("/orders/1/{}", records[0].history_id)).await;
                    assert!(first.body.contains("The first record of this object: nothing to compare with."));
                });
            }

            #[test]
            fn json_endpoints_return_records_and_a_field_delta() {
                let _server = super::connect();
                runtime().block_on(async {
                    let (pool, _) = pool().await;
                    let records = seed(&pool).await;
                    let app = app(&pool, BrowserOptions::new());

                    let timeline = get(&app, "/api/orders/1").await;
                    assert_eq!(timeline.status, StatusCode::OK);
                    assert_eq!(timeline.headers[header::CONTENT_TYPE], "application/json");
                    let json: serde_json::Value = serde_json::from_str(&timeline.body).unwrap();
                    let newest = serde_json::to_value(&records[2]).unwrap();
                    assert_eq!(json["records"][0], newest);
                    assert_eq!(json["records"].as_array().unwrap().len(), 3);
                    assert_eq!(json["next"], serde_json::Value::Null);

                    let record = get(&app, &format!("/api/orders/1/{}", records[1].history_id)).await;
                    let json: serde_json::Value = serde_json::from_str(&record.body).unwrap();
                    assert_eq!(
                        json["diff"],
                        serde_json::json!({
                            "status": ["new", HOSTILE],
                            "customer_notes": ["", "line one\nline two\nline three"],
                        })
                    );
                    let models = get(&app, "/api/models").await;
                    let json: serde_json::Value = serde_json::from_str(&models.body).unwrap();
                    assert_eq!(json["models"][0]["records"], 4);
                    assert_eq!(json["models"][1]["table"], "tickets");

                    let missing = get(&app, "/api/orders/99").await;
                    assert_eq!(missing.status, StatusCode::NOT_FOUND);
                    assert_eq!(missing.body, r#"{"error":"orders \"99\" has no history"}"#);
                });
            }

            #[test]
            fn changes_page_by_keyset_filter_by_type_and_user_and_refuse_bad_input() {
                let _server = super::connect();
                runtime().block_on(async {
                    let (pool, _) = pool().await;
                    seed(&pool).await;
                    let app = app(&pool, BrowserOptions::new().page_size(2));

                    // Follow "Older changes" to the end: every record once, newest first.
                    let mut seen_records = Vec::new();
                    let mut path = "/changes".to_owned();
                    loop {
                        let page = get(&app, &path).await;
                        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
                        let rows: Vec<&str> = page.body.split("<tr><td><a href=\"").skip(1).collect();
                        assert!(rows.len() <= 2);
                        seen_records.extend(rows.iter().map(|row| row.split('"').next().unwrap().to_owned()));
                        match page.body.split("<a href=\"/admin/history/changes?").nth(1) {
                            Some(rest) => path = format!("/changes?{}", rest.split('"').next().unwrap().replace("&amp;", "&")),
                            None => break,
                        }
                    }
                    assert_eq!(seen_records.len(), 5, "{seen_records:?}");
                    let mut unique = seen_records.clone();
                    unique.sort();
                    unique.dedup();
                    assert_eq!(unique.len(), 5, "no record twice: {seen_records:?}");
                    // The pages, joined, are the one long page, newest first.
                    let whole = get(&app_with(&pool, BrowserOptions::new()), "/api/changes").await;
                    let whole: serde_json::Value = serde_json::from_str(&whole.body).unwrap();
                    let whole = whole["records"].as_array().unwrap();
                    let paths: Vec<String> = whole
                        .iter()
                        .map(|r| format!("/admin/history/{}/{}/{}", r["model"].as_str().unwrap(), r["object"].as_str().unwrap(), r["record"]["history_id"]))
                        .collect();
                    assert_eq!(seen_records, paths);
                    let dates: Vec<chrono::DateTime<chrono::FixedOffset>> = whole
                        .iter()
                        .map(|r| chrono::DateTime::parse_from_rfc3339(r["record"]["history_date"].as_str().unwrap()).unwrap())
                        .collect();
                    assert!(dates.windows(2).all(|pair| pair[0] >= pair[1]), "newest first: {dates:?}");

                    let json = get(&app, "/api/changes?type=~").await;
                    let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
                    let kinds: Vec<&str> = json["records"].as_array().unwrap().iter().map(|r| r["record"]["history_type"].as_str().unwrap()).collect();
                    assert_eq!(kinds, ["~", "~"]);
                    let by_user = get(&app, "/api/changes?user=7&model=orders").await;
                    let by_user: serde_json::Value = serde_json::from_str(&by_user.body).unwrap();
                    let objects: Vec<&serde_json::Value> = by_user["records"].as_array().unwrap().iter().map(|r| &r["object"]).collect();
                    assert_eq!(objects, ["2", "1"]);

                    for (path, status, message) in [
                        ("/changes?type=x", StatusCode::BAD_REQUEST, "`type` must be +, ~ or -, not &quot;x&quot;"),
                        ("/changes?from=tomorrow", StatusCode::BAD_REQUEST, "`from` must be a date"),
                        ("/changes?after=garbage", StatusCode::BAD_REQUEST, "`after` is not a page cursor"),
                        ("/changes?model=users", StatusCode::BAD_REQUEST, "`model` names no model"),
                        ("/users/1", StatusCode::NOT_FOUND, "no model &quot;users&quot;"),
                        ("/orders/99", StatusCode::NOT_FOUND, "orders &quot;99&quot; has no history"),
                        ("/orders/abc", StatusCode::NOT_FOUND, "orders has no object &quot;abc&quot;"),
                        ("/orders/1/999999", StatusCode::NOT_FOUND, "orders has no record &quot;999999&quot;"),
                        ("/nothing/here/at/all", StatusCode::NOT_FOUND, "no such page"),
                    ] {
                        let reply = get(&app, path).await;
                        assert_eq!(reply.status, status, "{path}: {}", reply.body);
                        assert!(reply.body.contains(message), "{path}: {}", reply.body);
                        // Even an error page links back under the prefix.
                        assert!(reply.body.contains(r#"<a href="/admin/history">Models</a>"#), "{path}: {}", reply.body);
                    }
                });
            }

            /// A revert post with this cookie and form.
            fn revert_request(path: &str, cookie: Option<&str>, form: &str, user: i64) -> Request<Body> {
                let mut request = Request::post(format!("/admin/history{path}/revert"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header("x-user-id", user.to_string());
                if let Some(cookie) = cookie {
                    request = request.header(header::COOKIE, cookie);
                }
                request.body(Body::from(form.to_owned())).unwrap()
            }

            #[test]
            fn revert_needs_the_csrf_token_permission_and_a_reason_and_is_recorded() {
                let _server = super::connect();
                runtime().block_on(async {
                    let (pool, _) = pool().await;
                    let records = seed(&pool).await;
                    let first = format!("/orders/1/{}", records[0].history_id);
                    let only_user_9 = |parts: &Parts, access: browser::Access<'_>| {
                        access.action == Action::View || user_of(parts) == Some(9)
                    };
                    let app = app(&pool, BrowserOptions::new().permission(only_user_9));

                    let page = get(&app, &first).await;
                    let cookie = page.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
                    assert!(cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict"), "{cookie}");
                    let pair = cookie.split(';').next().unwrap().to_owned();
                    let token = pair.split('=').nth(1).unwrap().to_owned();
                    assert!(page.body.contains(&format!(r#"name="csrf_token" value="{token}""#)), "{}", page.body);

                    let form = format!("csrf_token={token}&reason=undo+the+%3Cscript%3E");
                    let no_cookie = send(&app, revert_request(&first, None, &form, 9)).await;
                    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
                    assert!(no_cookie.body.contains("CSRF token is missing or does not match"));
                    let wrong = send(&app, revert_request(&first, Some(&pair), &format!("csrf_token={}&reason=x", "0".repeat(32)), 9)).await;
                    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
                    let denied = send(&app, revert_request(&first, Some(&pair), &form, 8)).await;
                    assert_eq!(denied.status, StatusCode::FORBIDDEN);
                    assert!(denied.body.contains("you may not revert records of orders"));
                    let no_reason = send(&app, revert_request(&first, Some(&pair), &format!("csrf_token={token}&reason=+"), 9)).await;
                    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
                    let disabled = app_with(&pool, BrowserOptions::new().revert(false));
                    let off = send(&disabled, revert_request(&first, Some(&pair), &form, 9)).await;
                    assert_eq!(off.status, StatusCode::METHOD_NOT_ALLOWED);
                    assert!(!get(&disabled, &first).await.body.contains("csrf_token"), "no form when revert is off");
                    {
                        let mut conn = pool.get().await.unwrap();
                        let live: Order = orders::table.find(1).select(Order::as_select()).first(&mut conn).await.unwrap();
                        assert_eq!(live.status, "paid", "nothing was written by a refused revert");
                        let count: i64 = historical_orders::table.count().get_result(&mut conn).await.unwrap();
                        assert_eq!(count, 4);
                    }

                    let done = send(&app, revert_request(&first, Some(&pair), &form, 9)).await;
                    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
                    assert_eq!(done.headers[header::LOCATION], "/admin/history/orders/1");
                    let mut conn = pool.get().await.unwrap();
                    let live: Order = orders::table.find(1).select(Order::as_select()).first(&mut conn).await.unwrap();
                    assert_eq!((live.status.as_str(), live.customer_notes.as_str()), ("new", ""));
                    let latest = Order::latest(&mut conn, &1).await.unwrap();
                    assert_eq!(latest.history_type, HistoryType::Changed);
                    assert_eq!(latest.history_user_id, Some(9));
                    assert_eq!(latest.history_change_reason.as_deref(), Some("undo the <script>"));
                    drop(conn);
                    let timeline = get(&app, "/orders/1").await;
                    assert!(timeline.body.contains("undo the &lt;script&gt;"), "{}", timeline.body);
                });
            }

            fn app_with(pool: &Pool<AsyncConn>, options: BrowserOptions) -> Router {
                app(pool, options)
            }

            #[test]
            fn a_model_the_permission_hides_is_neither_listed_nor_served() {
                let _server = super::connect();
                runtime().block_on(async {
                    let (pool, _) = pool().await;
                    seed(&pool).await;
                    let no_tickets = |_: &Parts, access: browser::Access<'_>| access.model != "tickets";
                    let app = app(&pool, BrowserOptions::new().permission(no_tickets));
                    assert!(!get(&app, "").await.body.contains("tickets"));
                    assert!(!get(&app, "/changes").await.body.contains("tickets"));
                    let denied = get(&app, "/tickets/1").await;
                    assert_eq!(denied.status, StatusCode::FORBIDDEN);
                    assert!(denied.body.contains("you may not see the history of tickets"));
                    assert_eq!(get(&app, "/api/tickets/1").await.status, StatusCode::FORBIDDEN);
                });
            }
        }
    };
}

pub(crate) use browser_suite;
