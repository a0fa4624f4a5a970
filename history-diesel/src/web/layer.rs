//! The tower layer and service that give each request its
//! [`HistoryContext`](crate::HistoryContext).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::HeaderName;
use http::request::Parts;
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use super::request::{request_context, RequestSettings};
use super::{ClientIpResolver, ForwardedHeader, TrustedProxies};

/// A tower [`Layer`] that builds a [`HistoryContext`](crate::HistoryContext) for every request —
/// the user, the client address, the user agent and the request id — and
/// puts it in the request's extensions, where the
/// [extractor](super#the-extractor) finds it. By default the inner
/// service's future also runs inside
/// [`HistoryContext::scope_async`](crate::HistoryContext::scope_async), so a write deep in a handler that
/// passes an emptier context (or `HistoryContext::new()`) still records
/// the request's values; explicit values win field by field.
///
/// The user comes from the function given to [`new`](Self::new), which
/// reads the request's parts: the extension your authentication layer
/// inserted, or a header. The library never guesses an authentication
/// scheme; a function that returns `None` records no user. Its return
/// type names the context's user id type, which must be the one your
/// models record (`i64` unless `#[history(user_id_type = ...)]` says
/// otherwise): a scoped context of another type makes writes fail with
/// [`HistoryError::ScopedUserType`](crate::HistoryError::ScopedUserType).
///
/// | option | default |
/// |---|---|
/// | [`trusted_proxies`](Self::trusted_proxies) | none: the client is the peer |
/// | [`forwarded_header`](Self::forwarded_header) | `X-Forwarded-For` |
/// | [`max_forwarded_hops`](Self::max_forwarded_hops) | [`ClientIpResolver::DEFAULT_MAX_HOPS`] |
/// | [`request_id_header`](Self::request_id_header) | `x-request-id` |
/// | [`task_scope`](Self::task_scope) | on |
///
/// The task scope is on by default because the point of the layer is that
/// no write of the request goes unattributed: a handler, or a library it
/// calls, that forgets to pass the context still records who and from
/// where. Turn it off when the application passes contexts explicitly
/// everywhere and wants a forgotten one to record nothing, or when one
/// request writes models whose user id types differ.
///
/// The peer address is axum's `ConnectInfo<SocketAddr>`, which
/// `into_make_service_with_connect_info::<SocketAddr>()` records; without
/// it the client address is unknown (`None`). A server other than axum's
/// can insert `axum::extract::ConnectInfo(peer)` into the request's
/// extensions itself.
///
/// The response future is boxed (as axum's own `from_fn` middleware's is),
/// so the inner service's future must be `Send + 'static`, as axum's
/// routes are.
///
/// ```
/// use axum::{routing::get, Extension, Router};
/// use history_diesel::web::HistoryLayer;
/// use history_diesel::HistoryContext;
///
/// #[derive(Clone)]
/// struct CurrentUser(i64); // what the authentication layer inserts
///
/// let app: Router = Router::new()
///     .route("/", get(|ctx: HistoryContext<i64>| async move { format!("{:?}", ctx.get_user()) }))
///     .layer(HistoryLayer::new(|parts: &http::request::Parts| {
///         parts.extensions.get::<CurrentUser>().map(|user| user.0)
///     }))
///     // Outside (added after) the history layer, so it runs first.
///     .layer(Extension(CurrentUser(7)));
/// # let _ = app;
/// ```
pub struct HistoryLayer<F> {
    user: Arc<F>,
    settings: RequestSettings,
}

impl<F> HistoryLayer<F> {
    /// A layer whose contexts take their user from `user`.
    pub fn new<U>(user: F) -> Self
    where
        F: Fn(&Parts) -> Option<U>,
    {
        HistoryLayer {
            user: Arc::new(user),
            settings: RequestSettings::default(),
        }
    }

    /// The peers believed when they say, in the
    /// [forwarding header](Self::forwarded_header), whom they got the
    /// request from: your reverse proxies and load balancers. See
    /// [`ClientIpResolver::resolve`] for the walk.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.settings.client_ip = self.settings.client_ip.trusted_proxies(proxies);
        self
    }

    /// The header your trusted proxies set (`X-Forwarded-For` by default).
    /// It must be one they write: a header they pass through untouched
    /// holds whatever the client put there ([`ForwardedHeader`]).
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.settings.client_ip = self.settings.client_ip.forwarded_header(header);
        self
    }

    /// The most forwarded hops walked before the client is called unknown.
    pub fn max_forwarded_hops(mut self, max_hops: usize) -> Self {
        self.settings.client_ip = self.settings.client_ip.max_hops(max_hops);
        self
    }

    /// How the client address is found, as one value.
    pub fn client_ip_resolver(mut self, resolver: ClientIpResolver) -> Self {
        self.settings.client_ip = resolver;
        self
    }

    /// The header the request id is read from (`x-request-id` by default,
    /// the one tower-http's `SetRequestIdLayer::x_request_id` sets).
    pub fn request_id_header(mut self, name: HeaderName) -> Self {
        self.settings.request_id_header = name;
        self
    }

    /// Whether the inner service's future runs inside
    /// [`HistoryContext::scope_async`](crate::HistoryContext::scope_async) (on by default). The context is in
    /// the request's extensions either way.
    pub fn task_scope(mut self, enabled: bool) -> Self {
        self.settings.task_scope = enabled;
        self
    }
}

impl<F> Clone for HistoryLayer<F> {
    fn clone(&self) -> Self {
        HistoryLayer {
            user: Arc::clone(&self.user),
            settings: self.settings.clone(),
        }
    }
}

impl<F> fmt::Debug for HistoryLayer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryLayer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S, F> Layer<S> for HistoryLayer<F> {
    type Service = HistoryService<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        HistoryService {
            inner,
            user: Arc::clone(&self.user),
            settings: Arc::new(self.settings.clone()),
        }
    }
}

/// The service [`HistoryLayer`] wraps around an inner one.
pub struct HistoryService<S, F> {
    inner: S,
    user: Arc<F>,
    settings: Arc<RequestSettings>,
}

impl<S: Clone, F> Clone for HistoryService<S, F> {
    fn clone(&self) -> Self {
        HistoryService {
            inner: self.inner.clone(),
            user: Arc::clone(&self.user),
            settings: Arc::clone(&self.settings),
        }
    }
}

impl<S: fmt::Debug, F> fmt::Debug for HistoryService<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoryService")
            .field("inner", &self.inner)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S, F, U, B> Service<Request<B>> for HistoryService<S, F>
where
    S: Service<Request<B>>,
    S::Future: Send + 'static,
    F: Fn(&Parts) -> Option<U>,
    U: Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let context = request_context(&parts, (self.user)(&parts), &self.settings);
        let scoped = self.settings.task_scope.then(|| context.clone());
        parts.extensions.insert(context);
        let future = self.inner.call(Request::from_parts(parts, body));
        ResponseFuture {
            inner: match scoped {
                Some(context) => Box::pin(context.scope_async(future)),
                None => Box::pin(future),
            },
        }
    }
}

/// The response future of [`HistoryService`]: the inner service's, inside
/// the request's task scope when that is on.
pub struct ResponseFuture<T> {
    inner: Pin<Box<dyn Future<Output = T> + Send>>,
}

impl<T> Future for ResponseFuture<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
