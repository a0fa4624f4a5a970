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

/// A column the history table has besides the tracked ones.
///
/// [`HistoryColumn::ALL`] lists them in table order;
/// [`HistoryTableSpec::history_columns`](crate::HistoryTableSpec::history_columns)
/// gives those of one table. Every list of a history table's own columns (the
/// migration, the record INSERT, the column names) is built from these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryColumn {
    /// [`HISTORY_ID`].
    Id,
    /// [`HISTORY_DATE`].
    Date,
    /// [`HISTORY_TYPE`].
    Type,
    /// [`HISTORY_USER_ID`].
    UserId,
    /// [`HISTORY_CHANGE_REASON`].
    ChangeReason,
    /// [`HISTORY_CLIENT_IP`] (with `#[history(request_info)]`).
    ClientIp,
    /// [`HISTORY_USER_AGENT`] (with `#[history(request_info)]`).
    UserAgent,
    /// [`HISTORY_REQUEST_ID`] (with `#[history(request_info)]`).
    RequestId,
}

impl HistoryColumn {
    /// Every history column, in table order: `history_id` before the tracked
    /// columns, the others after them.
    pub const ALL: [HistoryColumn; 8] = [
        HistoryColumn::Id,
        HistoryColumn::Date,
        HistoryColumn::Type,
        HistoryColumn::UserId,
        HistoryColumn::ChangeReason,
        HistoryColumn::ClientIp,
        HistoryColumn::UserAgent,
        HistoryColumn::RequestId,
    ];

    /// The column's name.
    pub const fn name(self) -> &'static str {
        match self {
            HistoryColumn::Id => HISTORY_ID,
            HistoryColumn::Date => HISTORY_DATE,
            HistoryColumn::Type => HISTORY_TYPE,
            HistoryColumn::UserId => HISTORY_USER_ID,
            HistoryColumn::ChangeReason => HISTORY_CHANGE_REASON,
            HistoryColumn::ClientIp => HISTORY_CLIENT_IP,
            HistoryColumn::UserAgent => HISTORY_USER_AGENT,
            HistoryColumn::RequestId => HISTORY_REQUEST_ID,
        }
    }

    /// Whether the table has this column only with `#[history(request_info)]`.
    pub const fn is_request_info(self) -> bool {
        match self {
            HistoryColumn::ClientIp | HistoryColumn::UserAgent | HistoryColumn::RequestId => true,
            HistoryColumn::Id
            | HistoryColumn::Date
            | HistoryColumn::Type
            | HistoryColumn::UserId
            | HistoryColumn::ChangeReason => false,
        }
    }
}

/// Every column name a history table may reserve, in table order (the last
/// three only with `#[history(request_info)]`): the names of
/// [`HistoryColumn::ALL`].
pub const RESERVED: [&str; 8] = {
    let mut names = [""; 8];
    let mut i = 0;
    while i < names.len() {
        names[i] = HistoryColumn::ALL[i].name();
        i += 1;
    }
    names
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_follow_the_columns_in_table_order() {
        assert_eq!(
            RESERVED,
            [
                "history_id",
                "history_date",
                "history_type",
                "history_user_id",
                "history_change_reason",
                "history_client_ip",
                "history_user_agent",
                "history_request_id",
            ]
        );
        let optional: Vec<_> = HistoryColumn::ALL
            .iter()
            .filter(|column| column.is_request_info())
            .map(|column| column.name())
            .collect();
        assert_eq!(optional, RESERVED[5..]);
    }
}
