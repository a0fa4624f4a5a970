//! Who, why and when: the metadata every history record carries.

use std::any::Any;
use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::HistoryError;
use crate::{ChangeReasonColumn, Dialect, HistoryTableSpec};

/// The acting user, the change reason and, for imports, the history date of
/// a write, and where the change came from (client address, user agent and
/// request id, kept by models with `#[history(request_info)]`). Passed
/// explicitly to every write with history.
///
/// Code deep in a call stack can also find a default in scope:
/// [`HistoryContext::scope`] sets one for the current thread while a closure
/// runs, and, with the `async` feature,
/// [`HistoryContext::scope_async`](HistoryContext#method.scope_async) sets
/// one for a future, wherever the runtime polls it. The rule:
/// - an explicit value always wins over a scoped one, field by field;
/// - of the scopes, the innermost one is used, whichever its kind (a
///   thread's scope entered while a task's scope is active is inside it, and
///   the reverse);
/// - a scope never reaches another thread or task: a closure given to
///   `spawn_blocking` or to a pool's `interact`, and a spawned task, see
///   neither kind. Move the context into them and pass it explicitly (or
///   open a scope there).
///
/// ```
/// use history_diesel::HistoryContext;
///
/// let ctx = HistoryContext::new().user(7).reason("customer asked");
/// assert_eq!(ctx.get_user(), Some(&7));
/// assert_eq!(ctx.get_reason(), Some("customer asked"));
/// ```
#[derive(Debug, Clone)]
pub struct HistoryContext<U = i64> {
    user: Option<U>,
    reason: Option<String>,
    date: Option<DateTime<Utc>>,
    client_ip: Option<IpAddr>,
    user_agent: Option<String>,
    request_id: Option<String>,
    require_user: bool,
    skip_history: bool,
}

impl<U> Default for HistoryContext<U> {
    fn default() -> Self {
        HistoryContext {
            user: None,
            reason: None,
            date: None,
            client_ip: None,
            user_agent: None,
            request_id: None,
            require_user: false,
            skip_history: false,
        }
    }
}

impl<U> HistoryContext<U> {
    /// An empty context: no user, no reason, the current time.
    pub fn new() -> Self {
        Self::default()
    }

    /// The acting user's id.
    pub fn user(mut self, user: U) -> Self {
        self.user = Some(user);
        self
    }

    /// Why the change is made.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The history date to record instead of now (imports, backfills).
    ///
    /// The records of an object always sort in the order they were written,
    /// so that `latest` and `as_of` never put an old import ahead of a newer
    /// change: a date before the object's latest record is stored just after
    /// it (one microsecond later; one millisecond on SQLite), and a date in
    /// the future is refused with [`HistoryError::DateInFuture`] before
    /// anything is written. Import an object's versions oldest first. A date
    /// before the first one the backend stores
    /// ([`Dialect::history_date_range`]: 1000-01-01 on MySQL, year 0 on
    /// SQLite, 4714 BC on PostgreSQL) is refused with
    /// [`HistoryError::DateOutOfRange`], also before anything is written.
    pub fn at(mut self, date: DateTime<Utc>) -> Self {
        self.date = Some(date);
        self
    }

    /// The address of the client the change came from.
    pub fn client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    /// The client's `User-Agent`, cut to
    /// [`USER_AGENT_MAX_CHARS`](crate::columns::USER_AGENT_MAX_CHARS)
    /// characters: it is client input, and a write must not fail on it.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(truncated(
            user_agent.into(),
            crate::columns::USER_AGENT_MAX_CHARS,
        ));
        self
    }

    /// The id of the request that made the change, cut to
    /// [`REQUEST_ID_MAX_CHARS`](crate::columns::REQUEST_ID_MAX_CHARS)
    /// characters.
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(truncated(
            request_id.into(),
            crate::columns::REQUEST_ID_MAX_CHARS,
        ));
        self
    }

    /// Refuse to write when no user is given or in scope
    /// ([`HistoryError::UserRequired`]); without it a missing user is NULL.
    pub fn require_user(mut self) -> Self {
        self.require_user = true;
        self
    }

    /// Write the data only, without a history record, for this call.
    pub fn without_history(mut self) -> Self {
        self.skip_history = true;
        self
    }

    /// Whether the write keeps no history ([`without_history`](Self::without_history)).
    pub(crate) fn skips_history(&self) -> bool {
        self.skip_history
    }

    /// Whether the context refuses to write without a user
    /// ([`require_user`](Self::require_user)).
    pub fn requires_user(&self) -> bool {
        self.require_user
    }

    /// The explicit user.
    pub fn get_user(&self) -> Option<&U> {
        self.user.as_ref()
    }

    /// The explicit reason.
    pub fn get_reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// The explicit date.
    pub fn get_date(&self) -> Option<DateTime<Utc>> {
        self.date
    }

    /// The explicit client address.
    pub fn get_client_ip(&self) -> Option<IpAddr> {
        self.client_ip
    }

    /// The explicit user agent.
    pub fn get_user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The explicit request id.
    pub fn get_request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// This context's empty fields filled from `outer`'s.
    fn or(&self, outer: HistoryContext<U>) -> HistoryContext<U>
    where
        U: Clone,
    {
        HistoryContext {
            user: self.user.clone().or(outer.user),
            reason: self.reason.clone().or(outer.reason),
            date: self.date.or(outer.date),
            client_ip: self.client_ip.or(outer.client_ip),
            user_agent: self.user_agent.clone().or(outer.user_agent),
            request_id: self.request_id.clone().or(outer.request_id),
            require_user: self.require_user || outer.require_user,
            skip_history: self.skip_history || outer.skip_history,
        }
    }
}

/// `text` cut to at most `max` characters, on a character boundary.
fn truncated(mut text: String, max: usize) -> String {
    if let Some((end, _)) = text.char_indices().nth(max) {
        text.truncate(end);
    }
    text
}

/// A scoped context, the name of its user id type (for the error when a
/// write expects another), and when it was entered.
#[derive(Clone)]
struct Scoped {
    context: Arc<dyn Any + Send + Sync>,
    user_type: &'static str,
    /// Scopes are numbered as they are entered, process-wide: of a thread's
    /// and a task's scope that are both active, the later one is inside the
    /// other (a thread's scope cannot outlive the poll it was entered in, nor
    /// a task's the poll of its caller).
    #[cfg_attr(not(feature = "async"), allow(dead_code))] // one kind only
    entered: u64,
}

impl Scoped {
    fn new<U: Clone + Send + Sync + 'static>(context: HistoryContext<U>) -> Self {
        static ENTERED: AtomicU64 = AtomicU64::new(0);
        Scoped {
            context: Arc::new(context),
            user_type: std::any::type_name::<U>(),
            entered: ENTERED.fetch_add(1, Ordering::Relaxed),
        }
    }
}

thread_local! {
    static SCOPED: RefCell<Vec<Scoped>> = const { RefCell::new(Vec::new()) };
}

#[cfg(feature = "async")]
tokio::task_local! {
    static TASK_SCOPED: Scoped;
}

/// The innermost active scope, of either kind.
fn innermost_scope() -> Option<Scoped> {
    let innermost = SCOPED.with(|stack| stack.borrow().last().cloned());
    #[cfg(feature = "async")]
    let innermost = match (innermost, TASK_SCOPED.try_with(Scoped::clone).ok()) {
        (Some(thread), Some(task)) if task.entered > thread.entered => Some(task),
        (Some(thread), _) => Some(thread),
        (None, task) => task,
    };
    innermost
}

impl<U: Clone + Send + Sync + 'static> HistoryContext<U> {
    /// Runs `f` with this context as the thread's default for every write
    /// whose explicit context leaves a field empty. Scopes nest; the inner one
    /// wins. Name the user id type (`HistoryContext::<i64>::new()`): a write
    /// whose model has another one fails with
    /// [`HistoryError::ScopedUserType`] rather than losing the user.
    ///
    /// ```
    /// use history_diesel::HistoryContext;
    ///
    /// let seen = HistoryContext::<i64>::new().user(1).scope(|| {
    ///     HistoryContext::<i64>::new().reason("import").resolved_user()
    /// });
    /// assert_eq!(seen, Some(1));
    /// ```
    pub fn scope<R>(self, f: impl FnOnce() -> R) -> R {
        struct Pop;
        impl Drop for Pop {
            fn drop(&mut self) {
                SCOPED.with(|stack| stack.borrow_mut().pop());
            }
        }
        SCOPED.with(|stack| stack.borrow_mut().push(Scoped::new(self)));
        let _pop = Pop;
        f()
    }

    /// Runs `future` with this context as its default for every write whose
    /// explicit context leaves a field empty, on whichever thread the runtime
    /// polls it (a `tokio` task-local). Scopes nest; the inner one wins, and
    /// the scope ends with the future, whether it completes, fails, panics or
    /// is dropped. Tasks it spawns, and closures it sends to
    /// `spawn_blocking`, do not inherit it.
    ///
    /// ```
    /// use history_diesel::HistoryContext;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let seen = HistoryContext::<i64>::new()
    ///     .user(1)
    ///     .scope_async(async {
    ///         tokio::task::yield_now().await;
    ///         HistoryContext::<i64>::new().resolved_user()
    ///     })
    ///     .await;
    /// assert_eq!(seen, Some(1));
    /// // Outside the future, the scope is gone.
    /// assert_eq!(HistoryContext::<i64>::new().resolved_user(), None);
    /// # }
    /// ```
    #[cfg(feature = "async")]
    pub fn scope_async<F: std::future::Future>(
        self,
        future: F,
    ) -> impl std::future::Future<Output = F::Output> {
        TASK_SCOPED.scope(Scoped::new(self), future)
    }

    /// This context with empty fields filled from the innermost scope; the
    /// scope's user id type when it is not `U`.
    fn try_resolved(&self) -> Result<HistoryContext<U>, &'static str> {
        let Some(scoped) = innermost_scope() else {
            return Ok(self.clone());
        };
        match scoped.context.downcast_ref::<HistoryContext<U>>() {
            Some(outer) => Ok(self.or(outer.clone())),
            None => Err(scoped.user_type),
        }
    }

    /// This context with empty fields filled from the innermost scope (a
    /// scope of another user id type is not used).
    pub fn resolved(&self) -> HistoryContext<U> {
        self.try_resolved().unwrap_or_else(|_| self.clone())
    }

    /// The user a write would record: explicit, else scoped.
    pub fn resolved_user(&self) -> Option<U> {
        self.resolved().user
    }

    /// Resolves the context for one write of the model `spec` describes to
    /// `dialect`, and checks it. `None` when the call writes without history.
    pub(crate) fn meta_for(
        &self,
        spec: &HistoryTableSpec,
        dialect: Dialect,
        now: DateTime<Utc>,
    ) -> Result<Option<HistoryMeta<U>>, HistoryError> {
        let ctx = self
            .try_resolved()
            .map_err(|scoped| HistoryError::ScopedUserType {
                model: spec.model,
                expected: std::any::type_name::<U>(),
                scoped,
            })?;
        if ctx.skip_history {
            return Ok(None);
        }
        if (ctx.require_user || spec.require_user) && ctx.user.is_none() {
            return Err(HistoryError::UserRequired { model: spec.model });
        }
        if let Some(reason) = &ctx.reason {
            check_reason(spec, reason)?;
        }
        if let Some(date) = ctx.date {
            check_date(spec, dialect, date)?;
        }
        if let Some(date) = ctx.date.filter(|date| *date > now) {
            return Err(HistoryError::DateInFuture {
                model: spec.model,
                date,
            });
        }
        Ok(Some(HistoryMeta {
            // `now` is read once per call. It is what hooks see; the date
            // stored for a clock date is read where the record is written
            // (see `RecordHistory`).
            date: history_core::sql_types::UtcTimestamp::new(ctx.date.unwrap_or(now)),
            explicit: ctx.date.is_some(),
            user: ctx.user,
            reason: ctx.reason,
            client_ip: ctx.client_ip,
            user_agent: ctx.user_agent,
            request_id: ctx.request_id,
        }))
    }
}

/// A reason that fits the model's `history_change_reason` column, else
/// [`HistoryError::ReasonTooLong`]: checked before anything is written.
pub(crate) fn check_reason(spec: &HistoryTableSpec, reason: &str) -> Result<(), HistoryError> {
    if let ChangeReasonColumn::Varchar(max) = spec.change_reason {
        let len = reason.chars().count();
        if len > max as usize {
            return Err(HistoryError::ReasonTooLong {
                model: spec.model,
                max,
                len,
            });
        }
    }
    Ok(())
}

/// A date the backend stores, else [`HistoryError::DateOutOfRange`]:
/// checked before anything is written, since outside its range a backend
/// refuses the record with an unrelated error, or stores another date.
fn check_date(
    spec: &HistoryTableSpec,
    dialect: Dialect,
    date: DateTime<Utc>,
) -> Result<(), HistoryError> {
    let range = dialect.history_date_range();
    let stored = history_core::sql_types::UtcTimestamp::new(date).0;
    if range.contains(&stored) {
        return Ok(());
    }
    Err(HistoryError::DateOutOfRange {
        model: spec.model,
        date,
        dialect,
        min: range.start().and_utc(),
        max: range.end().and_utc(),
    })
}

/// The resolved metadata of one write.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryMeta<U> {
    /// The date asked for: explicit, or the application's clock at the call.
    pub(crate) date: history_core::sql_types::UtcTimestamp,
    /// Whether `date` was given (an import), rather than read from the clock.
    pub(crate) explicit: bool,
    pub(crate) user: Option<U>,
    pub(crate) reason: Option<String>,
    /// Where the change came from, for models with `#[history(request_info)]`.
    pub(crate) client_ip: Option<IpAddr>,
    pub(crate) user_agent: Option<String>,
    pub(crate) request_id: Option<String>,
}

/// The history context of each row of a bulk write: one [`HistoryContext`]
/// for all rows, or a slice or `Vec` of them, one per row (per-object
/// overrides; build each from a shared default with `.clone()`).
pub trait RowContexts<U> {
    /// The context of row `index` of the input.
    fn row(&self, index: usize) -> &HistoryContext<U>;
    /// Whether every row has the same context.
    fn uniform(&self) -> bool;
    /// How many rows it describes, when that is fixed.
    fn rows(&self) -> Option<usize>;
}

impl<U> RowContexts<U> for HistoryContext<U> {
    fn row(&self, _: usize) -> &HistoryContext<U> {
        self
    }

    fn uniform(&self) -> bool {
        true
    }

    fn rows(&self) -> Option<usize> {
        None
    }
}

impl<U> RowContexts<U> for [HistoryContext<U>] {
    fn row(&self, index: usize) -> &HistoryContext<U> {
        &self[index]
    }

    fn uniform(&self) -> bool {
        false
    }

    fn rows(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<U> RowContexts<U> for Vec<HistoryContext<U>> {
    fn row(&self, index: usize) -> &HistoryContext<U> {
        &self[index]
    }

    fn uniform(&self) -> bool {
        false
    }

    fn rows(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<U: Clone + Send + Sync + 'static> HistoryContext<U> {
    /// The metadata of rows `offset..offset + count` of a bulk write: one
    /// entry when the contexts are uniform, else one per row.
    pub(crate) fn metas_for<R: RowContexts<U> + ?Sized>(
        contexts: &R,
        spec: &HistoryTableSpec,
        dialect: Dialect,
        offset: usize,
        count: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<HistoryMeta<U>>>, HistoryError> {
        if contexts.uniform() {
            return Ok(vec![contexts.row(offset).meta_for(spec, dialect, now)?]);
        }
        (offset..offset + count)
            .map(|index| contexts.row(index).meta_for(spec, dialect, now))
            .collect()
    }
}
