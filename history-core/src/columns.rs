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

/// Every column name a history table reserves, in table order.
pub const RESERVED: [&str; 5] = [
    HISTORY_ID,
    HISTORY_DATE,
    HISTORY_TYPE,
    HISTORY_USER_ID,
    HISTORY_CHANGE_REASON,
];
