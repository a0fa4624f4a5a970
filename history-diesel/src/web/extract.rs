//! The axum extractor of the request's [`HistoryContext`].

use std::convert::Infallible;
use std::fmt;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::HistoryContext;

/// The request's context, as [`HistoryLayer`](super::HistoryLayer) built
/// it; [`MissingHistoryContext`] (a 500) when the layer is not around the
/// route. `Option<HistoryContext<U>>` is `None` then instead.
impl<S, U> FromRequestParts<S> for HistoryContext<U>
where
    S: Send + Sync,
    U: Clone + Send + Sync + 'static,
{
    type Rejection = MissingHistoryContext;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<HistoryContext<U>>()
            .cloned()
            .ok_or(MissingHistoryContext {
                user_type: std::any::type_name::<U>(),
            })
    }
}

impl<S, U> OptionalFromRequestParts<S> for HistoryContext<U>
where
    S: Send + Sync,
    U: Clone + Send + Sync + 'static,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<HistoryContext<U>>().cloned())
    }
}

/// A handler asked for a `HistoryContext<U>` and the request has none:
/// no [`HistoryLayer`](super::HistoryLayer) wraps the route, or the
/// layer's user function returns another user id type than `U`. A bug in
/// the application's wiring, answered with 500 Internal Server Error and
/// this message as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingHistoryContext {
    user_type: &'static str,
}

impl MissingHistoryContext {
    /// The user id type the handler asked for.
    pub fn user_type(&self) -> &'static str {
        self.user_type
    }
}

impl fmt::Display for MissingHistoryContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no HistoryContext<{}> in the request: wrap the route in \
             history_diesel::web::HistoryLayer, with a user function returning Option<{}>",
            self.user_type, self.user_type
        )
    }
}

impl std::error::Error for MissingHistoryContext {}

impl IntoResponse for MissingHistoryContext {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}
