//! Why a browser request failed, and the status each reason answers with.

use http::StatusCode;

use crate::HistoryError;

/// A failed browser request. Each variant is one status code; the message
/// is shown on the error page (escaped) and in the JSON body.
#[derive(Debug)]
pub enum BrowseError {
    /// An unknown model, object or record: 404.
    NotFound(String),
    /// A malformed filter or form: 400.
    BadRequest(String),
    /// The permission callback refused, or the CSRF token is missing or
    /// wrong: 403.
    Forbidden(String),
    /// Revert is turned off ([`BrowserOptions::revert`](super::BrowserOptions::revert)): 405.
    RevertDisabled,
    /// No `HistoryContext` of the model's user id type in the request: the
    /// router is not inside [`HistoryLayer`](crate::web::HistoryLayer), a
    /// wiring bug: 500.
    MissingContext(&'static str),
    /// No connection from the pool: 503.
    Unavailable(String),
    /// The database or the history write failed: 500.
    Database(HistoryError),
}

impl BrowseError {
    pub(crate) fn serialize(err: serde_json::Error) -> Self {
        BrowseError::Database(HistoryError::Database(
            diesel::result::Error::SerializationError(Box::new(err)),
        ))
    }

    /// The status the response carries.
    pub fn status(&self) -> StatusCode {
        match self {
            BrowseError::NotFound(_) => StatusCode::NOT_FOUND,
            BrowseError::BadRequest(_) => StatusCode::BAD_REQUEST,
            BrowseError::Forbidden(_) => StatusCode::FORBIDDEN,
            BrowseError::RevertDisabled => StatusCode::METHOD_NOT_ALLOWED,
            BrowseError::MissingContext(_) | BrowseError::Database(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            BrowseError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl std::fmt::Display for BrowseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrowseError::NotFound(message)
            | BrowseError::BadRequest(message)
            | BrowseError::Forbidden(message) => f.write_str(message),
            BrowseError::RevertDisabled => f.write_str("reverting is turned off"),
            BrowseError::MissingContext(user_type) => write!(
                f,
                "no HistoryContext<{user_type}> in the request: wrap the browser's router \
                 in history_diesel::web::HistoryLayer, whose user function returns Option<{user_type}>"
            ),
            BrowseError::Unavailable(message) => write!(f, "no database connection: {message}"),
            BrowseError::Database(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for BrowseError {}

impl From<HistoryError> for BrowseError {
    fn from(err: HistoryError) -> Self {
        match err {
            HistoryError::Database(diesel::result::Error::NotFound) => {
                BrowseError::NotFound("the object no longer exists".to_owned())
            }
            other => BrowseError::Database(other),
        }
    }
}
