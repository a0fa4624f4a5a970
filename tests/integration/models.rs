//! Models shared by every backend suite: only SQL types all three backends have.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use history_diesel::HistoricalRecords;

diesel::table! {
    orders (id) {
        id -> Integer,
        status -> Text,
        total -> Double,
        customer_notes -> Text,
        internal_notes -> Text,
    }
}

/// The model of the project's issue: one field left out of history.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Identifiable,
    AsChangeset,
    Insertable,
    HistoricalRecords,
)]
#[diesel(table_name = orders)]
#[history(exclude(internal_notes))]
pub struct Order {
    pub id: i32,
    pub status: String,
    pub total: f64,
    pub customer_notes: String,
    pub internal_notes: String,
}

diesel::table! {
    every_types (id) {
        id -> Integer,
        small -> SmallInt,
        big -> BigInt,
        ratio -> Float,
        amount -> Double,
        active -> Bool,
        name -> Text,
        payload -> Binary,
        day -> Date,
        clock -> Time,
        stamp -> Timestamp,
        note -> Nullable<Text>,
        rank -> Nullable<Integer>,
        seen_at -> Nullable<Timestamp>,
        display_name -> Text,
    }
}

/// Every Rust type the derive maps on all three backends, nullable ones and a
/// renamed column included.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = every_types)]
pub struct EveryType {
    pub id: i32,
    pub small: i16,
    pub big: i64,
    pub ratio: f32,
    pub amount: f64,
    pub active: bool,
    pub name: String,
    pub payload: Vec<u8>,
    pub day: NaiveDate,
    pub clock: NaiveTime,
    pub stamp: NaiveDateTime,
    pub note: Option<String>,
    pub rank: Option<i32>,
    pub seen_at: Option<NaiveDateTime>,
    #[diesel(column_name = display_name)]
    pub label: String,
}

diesel::table! {
    tags (code) {
        code -> Text,
        label -> Text,
    }
}

/// A text primary key, a UUID `history_id`, a text user id, an unbounded
/// change reason and custom names for the table and the struct.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = tags, primary_key(code))]
#[history(
    history_id = uuid,
    user_id_type = String,
    change_reason = text,
    table_name = tag_history,
    struct_name = TagVersion
)]
pub struct Tag {
    pub code: String,
    pub label: String,
}

diesel::table! {
    tickets (id) {
        id -> Integer,
        title -> Text,
    }
}

/// `request_info`: its records keep the client address, user agent and
/// request id of each change.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Identifiable,
    AsChangeset,
    Insertable,
    HistoricalRecords,
)]
#[diesel(table_name = tickets)]
#[history(request_info)]
pub struct Ticket {
    pub id: i32,
    pub title: String,
}

#[derive(Insertable)]
#[diesel(table_name = tickets)]
pub struct NewTicket<'a> {
    pub title: &'a str,
}

/// A new order, the way a Diesel user inserts one.
#[derive(Insertable)]
#[diesel(table_name = orders)]
pub struct NewOrder<'a> {
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
}

impl<'a> NewOrder<'a> {
    pub fn new(status: &'a str, total: f64) -> Self {
        NewOrder {
            status,
            total,
            customer_notes: "",
            internal_notes: "secret",
        }
    }
}

/// A new order whose every field is bound, none left to a column default:
/// Diesel inserts many of them in one statement on SQLite too.
#[derive(Insertable)]
#[diesel(table_name = orders, treat_none_as_default_value = false)]
pub struct NewOrderRow<'a> {
    pub status: &'a str,
    pub total: f64,
    pub customer_notes: &'a str,
    pub internal_notes: &'a str,
}

diesel::table! {
    notes (id) {
        id -> Integer,
        body -> Text,
        touched -> Integer,
    }
}

/// `skip_unchanged`: an update that leaves `body` as it was records nothing.
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, AsChangeset, HistoricalRecords,
)]
#[diesel(table_name = notes)]
#[history(skip_unchanged, exclude(touched), hooks = NoteHooks)]
pub struct Note {
    pub id: i32,
    pub body: String,
    pub touched: i32,
}

#[derive(Insertable)]
#[diesel(table_name = notes)]
pub struct NewNote<'a> {
    pub body: &'a str,
    pub touched: i32,
}

/// Hooks of `Note`: fills a missing reason, refuses the reason "veto", and
/// logs every record written (per thread, so parallel tests do not mix).
/// The reasons "panic before" and "panic after" make a hook panic, and
/// "lengthen" makes `before_record` set a reason longer than the column.
pub struct NoteHooks;

thread_local! {
    static NOTE_LOG: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What the hooks saw on this thread since the last call.
pub fn take_note_log() -> Vec<String> {
    NOTE_LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

impl history_diesel::RecordHooks<Note> for NoteHooks {
    const AFTER_RECORD: bool = true;

    fn before_record(
        event: &mut history_diesel::RecordEvent<'_, i64>,
    ) -> Result<(), history_diesel::HookError> {
        match event.reason.as_deref() {
            Some("veto") => return Err(format!("{} of {} vetoed", event.kind, event.model).into()),
            Some("panic before") => panic!("before_record panicked"),
            Some("lengthen") => *event.reason = Some("x".repeat(150)),
            _ => {}
        }
        event
            .reason
            .get_or_insert_with(|| "no reason given".to_owned());
        Ok(())
    }

    fn after_record(records: &[HistoricalNote]) -> Result<(), history_diesel::HookError> {
        if records
            .iter()
            .any(|r| r.history_change_reason.as_deref() == Some("panic after"))
        {
            panic!("after_record panicked");
        }
        NOTE_LOG.with(|log| {
            log.borrow_mut().extend(records.iter().map(|r| {
                format!(
                    "{} {} {} {}",
                    r.history_type,
                    r.body,
                    r.history_change_reason.as_deref().unwrap_or(""),
                    r.history_user_id.unwrap_or(0)
                )
            }))
        });
        Ok(())
    }
}
