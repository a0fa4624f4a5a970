//! Names of the columns every history table adds to the tracked columns.
//!
//! They are public API: renaming one is a breaking change.

/// Primary key of the history table.
pub const HISTORY_ID: &str = "history_id";
/// When the change happened, in UTC.
pub const HISTORY_DATE: &str = "history_date";
/// `'+'` created, `'~'` changed, `'-'` deleted.
pub const HISTORY_TYPE: &str = "history_type";
/// Who made the change (nullable).
pub const HISTORY_USER_ID: &str = "history_user_id";
/// Why the change was made (nullable).
pub const HISTORY_CHANGE_REASON: &str = "history_change_reason";

/// The client address of the request that made the change (nullable;
/// with `#[history(request_info)]`).
pub const HISTORY_CLIENT_IP: &str = "history_client_ip";
/// The `User-Agent` of the request that made the change (nullable; with
/// `#[history(request_info)]`), at most [`USER_AGENT_MAX_CHARS`] characters.
pub const HISTORY_USER_AGENT: &str = "history_user_agent";
/// The id of the request that made the change (nullable; with
/// `#[history(request_info)]`), at most [`REQUEST_ID_MAX_CHARS`] characters.
pub const HISTORY_REQUEST_ID: &str = "history_request_id";

/// The longest user agent a record keeps: a longer one is cut to this many
/// characters (user agents are client input, and a write must not fail on one).
pub const USER_AGENT_MAX_CHARS: usize = 512;
/// The longest request id a record keeps: a longer one is cut to this many
/// characters.
pub const REQUEST_ID_MAX_CHARS: usize = 128;

/// Every column name a history table reserves, in table order.
pub const RESERVED: [&str; 5] = [
    HISTORY_ID,
    HISTORY_DATE,
    HISTORY_TYPE,
    HISTORY_USER_ID,
    HISTORY_CHANGE_REASON,
];
