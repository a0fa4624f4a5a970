use chrono::{DateTime, Utc};

use crate::history_type::HistoryType;
use crate::traits::{HistoricalRecords, HistoryRecord};

/// What a hook may return: any error, which aborts the write.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// One history statement about to be written: the metadata it will record,
/// which a hook may change.
#[derive(Debug)]
pub struct RecordEvent<'a, U> {
    /// The model written.
    pub model: &'static str,
    /// Created, changed or deleted.
    pub kind: HistoryType,
    /// The history date asked for: the context's explicit date, or the
    /// application's clock when the call began. The stored date is read
    /// after the rows are locked and may be slightly later (see
    /// `HistoryContext::at` in history-diesel).
    pub date: DateTime<Utc>,
    /// The acting user; a hook may fill or change it.
    pub user: &'a mut Option<U>,
    /// The change reason; a hook may fill or change it.
    pub reason: &'a mut Option<String>,
}

/// Hooks around every history write of a model, run inside the write's
/// transaction: an error from either aborts the write, data and history
/// alike. Attach with `#[history(hooks = MyHooks)]`; the default is `()`,
/// which does nothing and costs nothing.
///
/// ```
/// use history_core::{HistoricalRecords, HistoryRecord, HookError, RecordEvent, RecordHooks};
///
/// /// Publishes every record; stamps writes without a reason.
/// struct Audit;
///
/// impl<M: HistoricalRecords> RecordHooks<M> for Audit
/// where
///     M::Record: std::fmt::Debug,
/// {
///     const AFTER_RECORD: bool = true;
///
///     fn before_record(event: &mut RecordEvent<'_, <M::Record as HistoryRecord>::UserId>) -> Result<(), HookError> {
///         event.reason.get_or_insert_with(|| "no reason given".to_owned());
///         Ok(())
///     }
///
///     fn after_record(records: &[M::Record]) -> Result<(), HookError> {
///         for record in records {
///             println!("history: {record:?}");
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait RecordHooks<M: HistoricalRecords> {
    /// Whether [`after_record`](RecordHooks::after_record) runs: it costs one
    /// read of the records just written.
    const AFTER_RECORD: bool = false;

    /// Before each history statement.
    fn before_record(
        event: &mut RecordEvent<'_, <M::Record as HistoryRecord>::UserId>,
    ) -> Result<(), HookError> {
        let _ = event;
        Ok(())
    }

    /// After each history statement, with the records it wrote (for example
    /// to publish domain events).
    fn after_record(records: &[M::Record]) -> Result<(), HookError> {
        let _ = records;
        Ok(())
    }
}

impl<M: HistoricalRecords> RecordHooks<M> for () {}
