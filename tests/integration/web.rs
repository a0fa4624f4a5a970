//! The web layer over real HTTP: an axum server on 127.0.0.1 that records
//! each connection's peer (`into_make_service_with_connect_info`), requests
//! from reqwest. The server runs on a runtime with one worker thread, so
//! one thread serves every request of a test and whatever a request leaves
//! on it would reach the next. No database.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use history_diesel::web::{ForwardedHeader, HistoryLayer};
use history_diesel::HistoryContext;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, RequestId, SetRequestIdLayer};

type UserFn = fn(&Parts) -> Option<i64>;

/// What the stand-in authentication middleware found.
#[derive(Clone, Copy)]
struct Authenticated(i64);

/// The layer's user function: the authentication middleware's extension.
fn user(parts: &Parts) -> Option<i64> {
    parts.extensions.get::<Authenticated>().map(|user| user.0)
}

/// A stand-in for an authentication layer: `Authorization: User <id>`.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("User "))
        .and_then(|id| id.parse().ok());
    if let Some(id) = id {
        request.extensions_mut().insert(Authenticated(id));
    }
    next.run(request).await
}

fn describe(ctx: &HistoryContext<i64>) -> String {
    format!(
        "user={:?} reason={:?} ip={:?} agent={:?} id={:?}",
        ctx.get_user(),
        ctx.get_reason(),
        ctx.get_client_ip(),
        ctx.get_user_agent(),
        ctx.get_request_id()
    )
}

/// What a write that was given no context would see.
fn scoped() -> String {
    describe(&HistoryContext::<i64>::new().resolved())
}

/// The thread the last `/panic` handler ran on.
#[derive(Clone, Default)]
struct PanickedOn(Arc<Mutex<Option<ThreadId>>>);

/// The extracted context, the scoped one (after an await point: the scope
/// follows the task, not the thread), and the serving thread.
async fn report(ctx: HistoryContext<i64>) -> String {
    tokio::task::yield_now().await;
    format!(
        "{}\n{}\n{:?}",
        describe(&ctx),
        scoped(),
        std::thread::current().id()
    )
}

/// Panics inside a thread scope of its own, within the request's scope.
async fn panics(Extension(on): Extension<PanickedOn>) -> String {
    *on.0.lock().unwrap() = Some(std::thread::current().id());
    HistoryContext::<i64>::new()
        .user(666)
        .reason("left behind?")
        .scope(|| panic!("the handler panics"))
}

async fn fails(_: HistoryContext<i64>) -> Result<String, (StatusCode, String)> {
    Err((StatusCode::IM_A_TEAPOT, "the handler fails".into()))
}

/// What a spawned task and a `spawn_blocking` closure see, and the
/// spawned task's thread.
async fn spawns(_: HistoryContext<i64>) -> String {
    let spawned = tokio::spawn(async { (scoped(), std::thread::current().id()) });
    let (task, thread) = spawned.await.unwrap();
    let blocking = tokio::task::spawn_blocking(scoped).await.unwrap();
    format!("{task}\n{blocking}\n{thread:?}")
}

async fn maybe(ctx: Option<HistoryContext<i64>>) -> String {
    format!("{:?}", ctx.map(|ctx| describe(&ctx)))
}

async fn other_user_type(ctx: HistoryContext<String>) -> String {
    format!("{:?}", ctx.get_user())
}

fn routes() -> Router {
    Router::new()
        .route("/report", get(report))
        .route("/panic", get(panics))
        .route("/error", get(fails))
        .route("/spawn", get(spawns))
        .route("/maybe", get(maybe))
        .route("/other", get(other_user_type))
}

/// The routes inside the history layer `configure` sets up, inside the
/// authentication middleware.
fn app(configure: impl FnOnce(HistoryLayer<UserFn>) -> HistoryLayer<UserFn>) -> Router {
    routes()
        .layer(configure(HistoryLayer::new(user as UserFn)))
        .layer(middleware::from_fn(authenticate))
}

/// Runs `test` with a server for `app` on a one-worker runtime.
fn with_server<T: Future<Output = ()>>(app: Router, test: impl FnOnce(Client) -> T) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        );
        tokio::spawn(async { server.await.unwrap() });
        test(Client::new(address)).await;
    });
}

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    fn new(address: SocketAddr) -> Client {
        Client {
            base: format!("http://{address}"),
            http: Self::http(),
        }
    }

    fn http() -> reqwest::Client {
        // No proxy from the environment: the requests must reach 127.0.0.1.
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    /// A request on a new connection.
    fn get_fresh(&self, path: &str) -> reqwest::RequestBuilder {
        Self::http().get(format!("{}{path}", self.base))
    }
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.text().await.unwrap())
}

/// The extracted and the scoped context of a `/report`, and its thread.
async fn report_of(request: reqwest::RequestBuilder) -> (String, String, String) {
    let (status, body) = send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut lines = body.lines().map(str::to_owned);
    let mut next = || lines.next().unwrap();
    (next(), next(), next())
}

fn seen(user: Option<i64>, ip: Option<&str>, agent: Option<&str>, id: Option<&str>) -> String {
    let ip = ip.map(|ip| ip.parse::<std::net::IpAddr>().unwrap());
    format!("user={user:?} reason=None ip={ip:?} agent={agent:?} id={id:?}")
}

#[test]
fn the_handler_sees_user_peer_agent_and_id_through_the_extractor_and_the_scope() {
    with_server(app(|layer| layer), |client| async move {
        let request = client
            .get("/report")
            .header("authorization", "User 7")
            .header("user-agent", "web-test/1.0")
            .header("x-request-id", "req-1")
            // No trusted proxy: a forwarding header is the client's own text.
            .header("x-forwarded-for", "203.0.113.9");
        let (extracted, scoped, _) = report_of(request).await;
        let expected = seen(
            Some(7),
            Some("127.0.0.1"),
            Some("web-test/1.0"),
            Some("req-1"),
        );
        assert_eq!(extracted, expected);
        assert_eq!(scoped, expected);

        let (extracted, scoped, _) = report_of(client.get("/report")).await;
        assert_eq!(extracted, seen(None, Some("127.0.0.1"), None, None));
        assert_eq!(scoped, extracted);
    });
}

#[test]
fn a_trusted_local_proxy_forwards_the_client_address() {
    let trusted = app(|layer| layer.trusted_proxies("127.0.0.1, ::1".parse().unwrap()));
    with_server(trusted, |client| async move {
        let ip_of = |request: reqwest::RequestBuilder| async {
            let (extracted, scoped, _) = report_of(request).await;
            assert_eq!(extracted, scoped);
            extracted
        };
        let forwarded = client
            .get("/report")
            .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
            .header("x-request-id", "via-proxy");
        assert_eq!(
            ip_of(forwarded).await,
            seen(None, Some("203.0.113.9"), None, Some("via-proxy"))
        );
        // The proxy's own request.
        assert_eq!(
            ip_of(client.get("/report")).await,
            seen(None, Some("127.0.0.1"), None, None)
        );
        // Lines joined in order: the client's line first, the proxy's last.
        let lines = client
            .get("/report")
            .header("x-forwarded-for", "6.6.6.6")
            .header("x-forwarded-for", "[2001:db8::9]:443");
        assert_eq!(
            ip_of(lines).await,
            seen(None, Some("2001:db8::9"), None, None)
        );
        // A malformed nearest hop: served, the client unknown.
        let malformed = client
            .get("/report")
            .header("x-forwarded-for", "203.0.113.9, garbage");
        assert_eq!(ip_of(malformed).await, seen(None, None, None, None));
        let bytes = client.get("/report").header(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert_eq!(ip_of(bytes).await, seen(None, None, None, None));
    });

    let rfc = app(|layer| {
        layer
            .trusted_proxies("127.0.0.0/8".parse().unwrap())
            .forwarded_header(ForwardedHeader::Forwarded)
    });
    with_server(rfc, |client| async move {
        let forwarded = client.get("/report").header(
            "forwarded",
            "for=\"_hidden\", for=\"[2001:db8::7]:4711\";proto=http",
        );
        let (extracted, _, _) = report_of(forwarded).await;
        assert_eq!(extracted, seen(None, Some("2001:db8::7"), None, None));
        // Reading `Forwarded`, an X-Forwarded-For is not read.
        let other = client
            .get("/report")
            .header("x-forwarded-for", "203.0.113.9");
        let (extracted, _, _) = report_of(other).await;
        assert_eq!(extracted, seen(None, Some("127.0.0.1"), None, None));
    });
}

/// Numbers requests `id-1`, `id-2`, ...
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        Some(RequestId::new(
            HeaderValue::from_str(&format!("id-{n}")).unwrap(),
        ))
    }
}

#[test]
fn set_request_id_layer_outside_ours_gives_the_id() {
    let app = app(|layer| layer).layer(SetRequestIdLayer::x_request_id(Counter::default()));
    with_server(app, |client| async move {
        let (extracted, scoped, _) = report_of(client.get("/report")).await;
        assert_eq!(extracted, seen(None, Some("127.0.0.1"), None, Some("id-1")));
        assert_eq!(scoped, extracted);
        let (extracted, _, _) = report_of(client.get("/report")).await;
        assert_eq!(extracted, seen(None, Some("127.0.0.1"), None, Some("id-2")));
        // SetRequestIdLayer keeps an id the request brings.
        let (extracted, _, _) =
            report_of(client.get("/report").header("x-request-id", "mine")).await;
        assert_eq!(extracted, seen(None, Some("127.0.0.1"), None, Some("mine")));
    });

    // Inside ours, it sets the header after the context was built.
    let inside = routes()
        .layer(SetRequestIdLayer::x_request_id(Counter::default()))
        .layer(HistoryLayer::new(user as UserFn));
    with_server(inside, |client| async move {
        let (extracted, _, _) = report_of(client.get("/report")).await;
        assert_eq!(extracted, seen(None, Some("127.0.0.1"), None, None));
    });
}

#[test]
fn tower_http_0_6_layers_fit_around_ours() {
    use tower_http_0_6::request_id::{MakeRequestUuid, SetRequestIdLayer};

    let app = app(|layer| layer).layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    with_server(app, |client| async move {
        let (extracted, scoped, _) = report_of(client.get("/report")).await;
        assert_eq!(scoped, extracted);
        let (_, id) = extracted.split_once("id=Some(\"").unwrap();
        let id = id.strip_suffix("\")").unwrap();
        assert!(
            id.len() == 36 && id.matches('-').count() == 4,
            "a UUID: {extracted}"
        );
    });
}

#[test]
fn a_panic_or_an_error_leaves_no_context_for_the_next_request() {
    let panicked_on = PanickedOn::default();
    let app = app(|layer| layer)
        .layer(Extension(panicked_on.clone()))
        .layer(CatchPanicLayer::new());
    with_server(app, |client| async move {
        let (_, _, thread) = report_of(client.get("/report")).await;

        let (status, _) = send(
            client
                .get("/error")
                .header("authorization", "User 665")
                .header("x-request-id", "failing"),
        )
        .await;
        assert_eq!(status, StatusCode::IM_A_TEAPOT);
        let (status, _) = send(
            client
                .get("/panic")
                .header("authorization", "User 666")
                .header("user-agent", "panicking/1.0")
                .header("x-request-id", "panicking"),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let panicked_on = panicked_on
            .0
            .lock()
            .unwrap()
            .expect("the panic handler ran");
        assert_eq!(
            format!("{panicked_on:?}"),
            thread,
            "one worker serves every request"
        );

        nothing_left_behind(&client, false, &thread).await;
    });
}

#[test]
fn a_panic_without_catch_panic_layer_leaves_no_context_either() {
    let panicked_on = PanickedOn::default();
    let app = app(|layer| layer).layer(Extension(panicked_on.clone()));
    with_server(app, |client| async move {
        let (_, _, thread) = report_of(client.get("/report")).await;
        // The connection's task dies with the handler: no response.
        let panicking = client
            .get_fresh("/panic")
            .header("authorization", "User 666");
        assert!(panicking.send().await.is_err());
        let panicked_on = panicked_on
            .0
            .lock()
            .unwrap()
            .expect("the panic handler ran");
        assert_eq!(format!("{panicked_on:?}"), thread);

        nothing_left_behind(&client, true, &thread).await;
    });
}

/// After failed requests on `thread`: the next requests (on new
/// connections when `fresh`) see their own values only, and so does a task
/// spawned on that thread, which has no task scope and would see whatever
/// thread scope a failed request left open.
async fn nothing_left_behind(client: &Client, fresh: bool, thread: &str) {
    let get = |path| match fresh {
        true => client.get_fresh(path),
        false => client.get(path),
    };
    let (extracted, scoped, after) = report_of(get("/report")).await;
    assert_eq!(after, thread, "one worker serves every request");
    assert_eq!(extracted, seen(None, Some("127.0.0.1"), None, None));
    assert_eq!(scoped, extracted);

    let own = get("/report")
        .header("authorization", "User 7")
        .header("x-request-id", "next");
    let (extracted, scoped, _) = report_of(own).await;
    assert_eq!(
        extracted,
        seen(Some(7), Some("127.0.0.1"), None, Some("next"))
    );
    assert_eq!(scoped, extracted);

    let (status, body) = send(get("/spawn").header("authorization", "User 8")).await;
    assert_eq!(status, StatusCode::OK);
    let nothing = seen(None, None, None, None);
    assert_eq!(body, format!("{nothing}\n{nothing}\n{thread}"));
}

#[test]
fn a_spawned_task_sees_no_context() {
    with_server(app(|layer| layer), |client| async move {
        let request = client
            .get("/spawn")
            .header("authorization", "User 7")
            .header("x-request-id", "spawner");
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::OK);
        let nothing = seen(None, None, None, None);
        let (seen_by_both, _thread) = body.rsplit_once('\n').unwrap();
        assert_eq!(seen_by_both, format!("{nothing}\n{nothing}"));
    });
}

#[test]
fn with_the_task_scope_off_only_the_extractor_has_the_context() {
    with_server(app(|layer| layer.task_scope(false)), |client| async move {
        let request = client.get("/report").header("authorization", "User 7");
        let (extracted, scoped, _) = report_of(request).await;
        assert_eq!(extracted, seen(Some(7), Some("127.0.0.1"), None, None));
        assert_eq!(scoped, seen(None, None, None, None));
    });
}

#[test]
fn without_the_layer_the_extractor_answers_500_with_a_message() {
    with_server(routes(), |client| async move {
        let (status, body) = send(client.get("/report")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            "no HistoryContext<i64> in the request: wrap the route in \
             history_diesel::web::HistoryLayer, with a user function returning Option<i64>"
        );
        assert_eq!(
            send(client.get("/maybe")).await,
            (StatusCode::OK, "None".into())
        );
    });
    // A layer of another user id type is no layer for this extractor.
    with_server(app(|layer| layer), |client| async move {
        let (status, body) = send(client.get("/other")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            body.starts_with("no HistoryContext<alloc::string::String>"),
            "{body}"
        );
        let (status, body) = send(client.get("/maybe")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            format!("Some({:?})", seen(None, Some("127.0.0.1"), None, None))
        );
    });
}
