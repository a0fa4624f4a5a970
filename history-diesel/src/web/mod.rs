//! Who, from where and in which request (feature `axum`): a tower layer
//! that gives every request a [`HistoryContext`](crate::HistoryContext), and an axum extractor
//! that hands it to handlers.
//!
//! [`HistoryLayer`] is built on `tower-layer`, `tower-service` and `http`
//! 1, the traits every tower-http line and axum share; axum itself is used
//! for the extractor and for the peer address its server records
//! (`ConnectInfo<SocketAddr>`). For each request the layer builds a
//! context with
//! - the user, from a function of yours over the request's
//!   [`Parts`](http::request::Parts) (your authentication layer's
//!   extension, or a header);
//! - the client address: the peer, or behind [trusted
//!   proxies](#trusted-proxies) the address they forwarded;
//! - the `User-Agent` (cut to
//!   [`USER_AGENT_MAX_CHARS`](crate::columns::USER_AGENT_MAX_CHARS));
//! - the request id from `x-request-id` (or the header you name), when it
//!   is visible ASCII, cut to
//!   [`REQUEST_ID_MAX_CHARS`](crate::columns::REQUEST_ID_MAX_CHARS);
//!
//! puts it in the request's extensions and, unless turned off with
//! [`HistoryLayer::task_scope`], runs the rest of the request inside
//! [`HistoryContext::scope_async`](crate::HistoryContext::scope_async).
//!
//! ```
//! use std::net::SocketAddr;
//!
//! use axum::{body::Body, extract::ConnectInfo, routing::post, Router};
//! use history_diesel::web::HistoryLayer;
//! use history_diesel::HistoryContext;
//! use http::{request::Parts, Request};
//! use tower::ServiceExt;
//!
//! // A write deep in the application, that was given no context.
//! fn save_order() -> String {
//!     let ctx = HistoryContext::<i64>::new().reason("checkout").resolved();
//!     format!("{:?} {:?} {:?}", ctx.get_user(), ctx.get_client_ip(), ctx.get_request_id())
//! }
//!
//! async fn checkout(ctx: HistoryContext<i64>) -> String {
//!     // `ctx` is what an explicit write takes: `order.save_with_history(conn, &ctx)`.
//!     assert_eq!(ctx.get_user_agent(), Some("shop-app/1.0"));
//!     save_order()
//! }
//!
//! // The user: here a header your authentication layer vouched for.
//! fn user(parts: &Parts) -> Option<i64> {
//!     parts.headers.get("x-user-id")?.to_str().ok()?.parse().ok()
//! }
//!
//! let app = Router::new()
//!     .route("/checkout", post(checkout))
//!     .layer(HistoryLayer::new(user).trusted_proxies("10.0.0.0/8".parse()?));
//!
//! let mut request = Request::post("/checkout")
//!     .header("x-user-id", "7")
//!     .header("user-agent", "shop-app/1.0")
//!     .header("x-request-id", "req-42")
//!     .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
//!     .body(Body::empty())?;
//! // What `into_make_service_with_connect_info::<SocketAddr>()` records: here a proxy.
//! request.extensions_mut().insert(ConnectInfo("10.0.0.2:41000".parse::<SocketAddr>()?));
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let response = app.oneshot(request).await?;
//! let body = axum::body::to_bytes(response.into_body(), 1024).await?;
//! assert_eq!(body, r#"Some(7) Some(203.0.113.9) Some("req-42")"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layer order
//!
//! A layer sees what the layers outside it did to the request. Outermost
//! first:
//! 1. tower-http's `CatchPanicLayer`, if you use it (anywhere outside the
//!    routes will do);
//! 2. tower-http's `SetRequestIdLayer::x_request_id(..)`: it sets the
//!    `x-request-id` header on the request, which the history layer reads,
//!    so tower-http's `RequestId` is recorded without this crate depending
//!    on tower-http (it keeps an id the client sent: an id is for
//!    correlation, not for trust);
//! 3. your authentication, which inserts what the user function reads;
//! 4. [`HistoryLayer`];
//! 5. the routes.
//!
//! With axum's `Router::layer` the layer added last is the outermost, so
//! they are added in the reverse order (routes, then `HistoryLayer`, then
//! authentication, then `SetRequestIdLayer`); with `tower::ServiceBuilder`
//! they are listed outermost first.
//!
//! ```
//! use axum::{routing::get, Router};
//! use history_diesel::web::HistoryLayer;
//! use history_diesel::HistoryContext;
//! use tower_http::request_id::{MakeRequestUuid, SetRequestIdLayer};
//!
//! let app: Router = Router::new()
//!     .route("/", get(|ctx: HistoryContext<i64>| async move { format!("{:?}", ctx.get_request_id()) }))
//!     .layer(HistoryLayer::new(|_: &http::request::Parts| None::<i64>))
//!     .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
//! # let _ = app;
//! ```
//!
//! # Trusted proxies
//!
//! Behind a reverse proxy or load balancer the peer is the proxy. List
//! your proxies' networks with [`HistoryLayer::trusted_proxies`]
//! ([`TrustedProxies`], parsed from `"10.0.0.0/8, ::1"`; a bad entry is a
//! [`CidrError`]) and name the header they set with
//! [`HistoryLayer::forwarded_header`]: `X-Forwarded-For` (the default), RFC
//! 7239 `Forwarded`, or another of X-Forwarded-For's syntax. Read only a
//! header your proxies write: one they pass through holds whatever the
//! client wrote, and reading it lets every client choose its recorded
//! address.
//!
//! Only a trusted peer's header is read. It is walked from the right,
//! across its lines in order, skipping trusted addresses; the first
//! untrusted one is the client. What the client wrote itself lies left of
//! it and is never read, so a spoofed leftmost `X-Forwarded-For` never
//! wins. IPv4-mapped IPv6 addresses compare, and are recorded, as IPv4.
//!
//! A malformed header is never an error response: the request is served
//! and the walk stops at the first entry that is no address (`unknown`, an
//! obfuscated name, an empty entry, garbage, a line that is not ASCII) or
//! after [`ClientIpResolver::DEFAULT_MAX_HOPS`] hops, and the client
//! address is then unknown (`None`) rather than a proxy's. The rule in
//! full is [`ClientIpResolver::resolve`], which applies it to any peer
//! and header map.
//!
//! # The extractor
//!
//! A handler that takes a `HistoryContext<U>` gets the request's context,
//! to pass to its writes. Without the layer around the route (or with a
//! layer whose user function returns another type than `U`) the request
//! is answered with 500 and a message saying so ([`MissingHistoryContext`]);
//! an `Option<HistoryContext<U>>` is `None` instead.
//!
//! # The task scope
//!
//! While the scope is on, [`HistoryContext::resolved`](crate::HistoryContext::resolved) and every write
//! fill the fields that their explicit context leaves empty from the
//! request's: explicit values win, field by field. The scope is the
//! request's future only: a task it spawns and a closure it sends to
//! `spawn_blocking` or to a pool's `interact` see no context; move the
//! context into them. It ends with the request, however the request ends
//! (a response, an error, a panic, a dropped connection), so nothing of it
//! reaches the next request the same thread serves.

mod client_ip;
mod extract;
mod forwarded;
mod layer;
mod proxies;
mod request;

pub use client_ip::ClientIpResolver;
pub use extract::MissingHistoryContext;
pub use forwarded::ForwardedHeader;
pub use layer::{HistoryLayer, HistoryService, ResponseFuture};
pub use proxies::{Cidr, CidrError, TrustedProxies};
