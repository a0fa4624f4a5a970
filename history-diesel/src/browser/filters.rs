//! The query strings of the pages, parsed into typed filters: a value that
//! does not parse is a 400 with a message naming it, never part of SQL.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Deserialize;

use super::error::BrowseError;
use super::model::{Cursor, PageQuery};
use crate::HistoryType;

/// The query string of `/changes` and of a timeline, as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawFilters {
    pub(crate) model: Option<String>,
    pub(crate) user: Option<String>,
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) until: Option<String>,
    pub(crate) after: Option<String>,
}

/// Empty form fields (`?user=`) mean no filter.
fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// A date of a filter: RFC 3339, or a day (`2026-12-01`), which starts at
/// midnight UTC; as an upper bound a day includes itself.
fn parse_date(name: &str, text: &str, upper: bool) -> Result<DateTime<Utc>, BrowseError> {
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Ok(date.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        BrowseError::BadRequest(format!(
            "`{name}` must be a date such as 2026-12-01 or 2026-12-01T09:30:00Z, not {text:?}"
        ))
    })?;
    let day = if upper {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

/// The filters, typed; `tables` are the models' names, for `model` and the
/// cursor, whose model is returned as its index in that list.
pub(crate) fn parse(
    raw: &RawFilters,
    tables: &[&str],
) -> Result<(Option<usize>, PageQuery), BrowseError> {
    let model = given(&raw.model)
        .map(|name| {
            tables
                .iter()
                .position(|table| *table == name)
                .ok_or_else(|| BrowseError::BadRequest(format!("`model` names no model: {name:?}")))
        })
        .transpose()?;
    let kind = given(&raw.kind)
        .map(|text| {
            text.parse::<HistoryType>().map_err(|_| {
                BrowseError::BadRequest(format!("`type` must be +, ~ or -, not {text:?}"))
            })
        })
        .transpose()?;
    let from = given(&raw.from)
        .map(|text| parse_date("from", text, false))
        .transpose()?;
    let until = given(&raw.until)
        .map(|text| parse_date("until", text, true))
        .transpose()?;
    if let (Some(from), Some(until)) = (from, until) {
        if from >= until {
            return Err(BrowseError::BadRequest(
                "`from` must be before `until`".to_owned(),
            ));
        }
    }
    let cursor = given(&raw.after)
        .map(|text| parse_cursor(text, tables))
        .transpose()?;
    Ok((
        model,
        PageQuery {
            object: None,
            user: given(&raw.user).map(str::to_owned),
            kind,
            from,
            until,
            cursor,
        },
    ))
}

/// `date,table,history_id`: the last record of the page before.
pub(crate) fn format_cursor(date: DateTime<Utc>, table: &str, history_id: &str) -> String {
    format!(
        "{},{table},{history_id}",
        date.to_rfc3339_opts(SecondsFormat::Micros, true)
    )
}

fn parse_cursor(text: &str, tables: &[&str]) -> Result<Cursor, BrowseError> {
    let bad = || BrowseError::BadRequest(format!("`after` is not a page cursor: {text:?}"));
    let mut parts = text.splitn(3, ',');
    let (Some(date), Some(table), Some(history_id)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let date = DateTime::parse_from_rfc3339(date).map_err(|_| bad())?;
    let model = tables
        .iter()
        .position(|each| *each == table)
        .ok_or_else(bad)?;
    Ok(Cursor {
        date: date.with_timezone(&Utc),
        model,
        history_id: history_id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawFilters {
        let mut raw = RawFilters::default();
        for (key, value) in pairs {
            let slot = match *key {
                "model" => &mut raw.model,
                "user" => &mut raw.user,
                "type" => &mut raw.kind,
                "from" => &mut raw.from,
                "until" => &mut raw.until,
                _ => &mut raw.after,
            };
            *slot = Some((*value).to_owned());
        }
        raw
    }

    #[test]
    fn parses_every_filter_and_the_cursor() {
        let cursor = format_cursor(
            DateTime::parse_from_rfc3339("2026-12-01T10:00:00.000005Z")
                .unwrap()
                .with_timezone(&Utc),
            "tickets",
            "17",
        );
        let (model, query) = parse(
            &raw(&[
                ("model", "orders"),
                ("user", " 7 "),
                ("type", "~"),
                ("from", "2026-11-30"),
                ("until", "2026-12-01"),
                ("after", &cursor),
            ]),
            &["orders", "tickets"],
        )
        .unwrap();
        assert_eq!(model, Some(0));
        assert_eq!(query.user.as_deref(), Some("7"));
        assert_eq!(query.kind, Some(HistoryType::Changed));
        assert_eq!(
            query.from.unwrap().to_rfc3339(),
            "2026-11-30T00:00:00+00:00"
        );
        assert_eq!(
            query.until.unwrap().to_rfc3339(),
            "2026-12-02T00:00:00+00:00"
        );
        let cursor = query.cursor.unwrap();
        assert_eq!((cursor.model, cursor.history_id.as_str()), (1, "17"));
        assert_eq!(cursor.date.timestamp_subsec_micros(), 5);
    }

    #[test]
    fn empty_fields_are_no_filter_and_bad_values_say_which() {
        let (model, query) = parse(&raw(&[("user", ""), ("type", "")]), &["orders"]).unwrap();
        assert_eq!((model, query.user, query.kind), (None, None, None));
        let message = |pairs: &[(&str, &str)]| match parse(&raw(pairs), &["orders"]) {
            Err(BrowseError::BadRequest(message)) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message(&[("type", "x")]),
            "`type` must be +, ~ or -, not \"x\""
        );
        assert_eq!(
            message(&[("model", "users")]),
            "`model` names no model: \"users\""
        );
        assert!(message(&[("from", "yesterday")]).starts_with("`from` must be a date"));
        assert_eq!(
            message(&[("from", "2026-12-02"), ("until", "2026-12-01")]),
            "`from` must be before `until`"
        );
        assert_eq!(
            message(&[("after", "2026-12-01T00:00:00Z,users,1")]),
            "`after` is not a page cursor: \"2026-12-01T00:00:00Z,users,1\""
        );
    }
}
