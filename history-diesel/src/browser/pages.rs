//! The pages, as maud markup: every value is escaped by the macro, links
//! are built from the prefix the router is nested under, and the pages use
//! no JavaScript.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::linediff::{line_diff, Line};
use super::model::Comparison;
use super::view::{display, RecordView};
use crate::HistoryType;

/// What every page needs: the router's prefix and the heading.
pub(crate) struct Frame<'a> {
    pub(crate) base: &'a str,
    pub(crate) title: &'a str,
}

/// A model as the index lists it.
pub(crate) struct ModelRow<'a> {
    pub(crate) table: &'a str,
    pub(crate) name: &'a str,
    pub(crate) records: i64,
}

/// The filters as the form shows them again.
#[derive(Default)]
pub(crate) struct FilterValues<'a> {
    pub(crate) model: &'a str,
    pub(crate) user: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) from: &'a str,
    pub(crate) until: &'a str,
}

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}\
header{background:#1f3a5f;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.5rem;align-items:baseline}\
header a{color:#fff}header .brand{font-weight:700;font-size:1.1rem}\
main{padding:1rem 1.2rem;max-width:80rem}\
table{border-collapse:collapse;width:100%;margin:.8rem 0}\
th,td{border:1px solid #c8ccd2;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#eef1f5}tr.changed td{background:#fff4c2}\
.kind{font-family:monospace;font-weight:700}\
a{color:#0b4f9c}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f0a500;outline-offset:1px}\
form.filters{display:flex;flex-wrap:wrap;gap:.8rem;align-items:end}\
form.filters label,form.revert label{display:flex;flex-direction:column;font-size:.9rem}\
pre{margin:0;white-space:pre-wrap}del{background:#ffd7d5}ins{background:#d4f8d4}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;color:#000;padding:.3rem}\
.note{color:#4a4f57}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}";

fn layout(frame: &Frame<'_>, heading: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (heading) " · " (frame.title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#content" { "Skip to content" }
                header {
                    span.brand { (frame.title) }
                    nav aria-label="History" {
                        a href=(home(frame.base)) { "Models" }
                        " · "
                        a href={ (frame.base) "/changes" } { "Recent changes" }
                    }
                }
                main #content {
                    h1 { (heading) }
                    (body)
                }
            }
        }
    }
}

/// The index page: the prefix itself (a nested router's root has no
/// trailing slash), or `/` at the root.
fn home(base: &str) -> &str {
    if base.is_empty() {
        "/"
    } else {
        base
    }
}

fn kind_name(kind: HistoryType) -> &'static str {
    match kind {
        HistoryType::Created => "created",
        HistoryType::Changed => "changed",
        HistoryType::Deleted => "deleted",
    }
}

fn kind_cell(kind: HistoryType) -> Markup {
    html! { span.kind title=(kind_name(kind)) { (kind.as_str()) } " " (kind_name(kind)) }
}

fn date(record: &RecordView) -> String {
    record.date.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string()
}

/// `/{model}/{object}`, each segment percent-encoded.
pub(crate) fn object_path(base: &str, model: &str, object: &str) -> String {
    format!("{base}/{}/{}", encode(model), encode(object))
}

pub(crate) fn record_path(base: &str, record: &RecordView) -> String {
    format!(
        "{}/{}",
        object_path(base, record.model, &record.object),
        encode(&record.history_id)
    )
}

/// Percent-encodes a path segment or query value: everything but
/// unreserved characters.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

pub(crate) fn index(frame: &Frame<'_>, models: &[ModelRow<'_>]) -> Markup {
    let body = html! {
        table {
            caption.note { "Models whose changes are recorded, with their history's size." }
            thead { tr { th scope="col" { "Model" } th scope="col" { "Table" } th scope="col" { "Records" } } }
            tbody {
                @for model in models {
                    tr {
                        td { a href={ (frame.base) "/changes?model=" (encode(model.table)) } { (model.name) } }
                        td { code { (model.table) } }
                        td { (model.records) }
                    }
                }
            }
        }
        h2 { "Open an object" }
        form.filters method="get" action={ (frame.base) "/open" } {
            label { "Model"
                select name="model" {
                    @for model in models { option value=(model.table) { (model.name) } }
                }
            }
            label { "Object id" input name="object" required; }
            button type="submit" { "Open timeline" }
        }
    };
    layout(frame, "Models", body)
}

fn filter_form(frame: &Frame<'_>, tables: &[(&str, &str)], values: &FilterValues<'_>) -> Markup {
    html! {
        form.filters method="get" action={ (frame.base) "/changes" } aria-label="Filter changes" {
            label { "Model"
                select name="model" {
                    option value="" { "All models" }
                    @for (table, name) in tables {
                        option value=(table) selected[values.model == *table] { (name) }
                    }
                }
            }
            label { "User" input name="user" value=(values.user); }
            label { "Type"
                select name="type" {
                    option value="" { "Any" }
                    @for kind in HistoryType::ALL {
                        option value=(kind.as_str()) selected[values.kind == kind.as_str()] {
                            (kind.as_str()) " " (kind_name(kind))
                        }
                    }
                }
            }
            label { "From" input type="date" name="from" value=(values.from); }
            label { "Until" input type="date" name="until" value=(values.until); }
            button type="submit" { "Filter" }
        }
    }
}

pub(crate) fn changes(
    frame: &Frame<'_>,
    tables: &[(&str, &str)],
    values: &FilterValues<'_>,
    records: &[RecordView],
    older: Option<String>,
) -> Markup {
    let body = html! {
        (filter_form(frame, tables, values))
        @if records.is_empty() {
            p { "No changes match." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Date" } th scope="col" { "Model" } th scope="col" { "Object" }
                    th scope="col" { "Type" } th scope="col" { "User" } th scope="col" { "Reason" }
                } }
                tbody {
                    @for record in records {
                        tr {
                            td { a href=(record_path(frame.base, record)) { (date(record)) } }
                            td { (record.model) }
                            td { a href=(object_path(frame.base, record.model, &record.object)) { (record.object) } }
                            td { (kind_cell(record.kind)) }
                            td { (record.user.as_deref().unwrap_or("")) }
                            td { (record.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
        @if let Some(older) = older {
            p { a href=(older) rel="next" { "Older changes" } }
        }
    };
    layout(frame, "Recent changes", body)
}

pub(crate) fn timeline(
    frame: &Frame<'_>,
    model: &str,
    object: &str,
    request_info: bool,
    records: &[RecordView],
    older: Option<String>,
) -> Markup {
    let heading = format!("{model} {object}");
    let compare_action = format!("{}/compare", object_path(frame.base, model, object));
    let body = html! {
        p.note { "Every recorded version of this object, newest first." }
        table {
            thead { tr {
                th scope="col" { "Date" } th scope="col" { "Type" } th scope="col" { "User" } th scope="col" { "Reason" }
                @if request_info { th scope="col" { "Client address" } th scope="col" { "User agent" } th scope="col" { "Request id" } }
                th scope="col" { "Record" }
            } }
            tbody {
                @for record in records {
                    tr {
                        td { (date(record)) }
                        td { (kind_cell(record.kind)) }
                        td { (record.user.as_deref().unwrap_or("")) }
                        td { (record.reason.as_deref().unwrap_or("")) }
                        @if request_info {
                            td { (record.client_ip.as_deref().unwrap_or("")) }
                            td { (record.user_agent.as_deref().unwrap_or("")) }
                            td { (record.request_id.as_deref().unwrap_or("")) }
                        }
                        td { a href=(record_path(frame.base, record)) { "Record " (record.history_id) } }
                    }
                }
            }
        }
        @if let Some(older) = older {
            p { a href=(older) rel="next" { "Older records" } }
        }
        h2 { "Compare two versions" }
        form.filters method="get" action=(compare_action) {
            label { "Newer record"
                select name="record" {
                    @for record in records { option value=(record.history_id) { (record.history_id) " · " (date(record)) } }
                }
            }
            label { "Older record"
                select name="against" {
                    @for (n, record) in records.iter().enumerate() {
                        option value=(record.history_id) selected[n + 1 == records.len()] { (record.history_id) " · " (date(record)) }
                    }
                }
            }
            button type="submit" { "Compare" }
        }
    };
    layout(frame, &heading, body)
}

/// A field's two values; long or multi-line text as a line diff.
fn value_cells(old: Option<&serde_json::Value>, new: &serde_json::Value, changed: bool) -> Markup {
    let old_text = old.map(display).unwrap_or_default();
    let new_text = display(new);
    let multiline = old_text.contains('\n') || new_text.contains('\n');
    if changed && multiline {
        if let Some(lines) = line_diff(&old_text, &new_text) {
            return html! {
                td colspan="2" {
                    pre aria-label="Line diff" {
                        @for line in lines {
                            @match line {
                                Line::Same(text) => { "  " (text) "\n" }
                                Line::Removed(text) => { del { "- " (text) } "\n" }
                                Line::Added(text) => { ins { "+ " (text) } "\n" }
                            }
                        }
                    }
                }
            };
        }
    }
    html! {
        td { @if old.is_some() { pre { (old_text) } } }
        td { pre { (new_text) } }
    }
}

pub(crate) struct RevertForm<'a> {
    pub(crate) action: String,
    pub(crate) token: &'a str,
}

pub(crate) fn record(
    frame: &Frame<'_>,
    comparison: &Comparison,
    revert: Option<RevertForm<'_>>,
) -> Markup {
    let record = &comparison.record;
    let heading = format!(
        "{} {} · record {}",
        record.model, record.object, record.history_id
    );
    let older = comparison.older.as_ref();
    let body = html! {
        p { a href=(object_path(frame.base, record.model, &record.object)) { "Timeline of " (record.model) " " (record.object) } }
        dl {
            dt { "Date" } dd { (date(record)) }
            dt { "Type" } dd { (kind_cell(record.kind)) }
            dt { "User" } dd { (record.user.as_deref().unwrap_or("unknown")) }
            dt { "Reason" } dd { (record.reason.as_deref().unwrap_or("none given")) }
            @if let Some(ip) = &record.client_ip { dt { "Client address" } dd { (ip) } }
            @if let Some(agent) = &record.user_agent { dt { "User agent" } dd { (agent) } }
            @if let Some(id) = &record.request_id { dt { "Request id" } dd { (id) } }
        }
        @match older {
            Some(older) => {
                p #compared {
                    "Compared with "
                    a href=(record_path(frame.base, older)) { "record " (older.history_id) }
                    " of " (date(older)) ": "
                    @if comparison.changed.is_empty() { "no field changed." }
                    @else { (comparison.changed.len()) " changed: " (comparison.changed.join(", ")) "." }
                }
            }
            None => { p #compared { "The first record of this object: nothing to compare with." } }
        }
        table {
            thead { tr {
                th scope="col" { "Field" }
                th scope="col" { @if let Some(older) = older { "Record " (older.history_id) } @else { "Before" } }
                th scope="col" { "Record " (record.history_id) }
            } }
            tbody {
                @for field in &record.fields {
                    @let changed = comparison.changed.contains(&field.name);
                    tr class=[changed.then_some("changed")] data-field=(field.name) {
                        th scope="row" { (field.name) @if changed { " " span.note { "(changed)" } } }
                        (value_cells(older.and_then(|older| older.field(field.name)), &field.value, changed))
                    }
                }
            }
        }
        @if let Some(form) = revert {
            h2 { "Revert" }
            form.revert method="post" action=(form.action) {
                input type="hidden" name=(super::csrf::FIELD) value=(form.token);
                p.note { "Writes this version back as a new record, with your name and this reason." }
                label { "Reason (required)" textarea name="reason" rows="2" cols="60" required {} }
                p { button type="submit" { "Revert to record " (record.history_id) } }
            }
        }
    };
    layout(frame, &heading, body)
}

pub(crate) fn error(frame: &Frame<'_>, status: http::StatusCode, message: &str) -> Markup {
    let heading = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    layout(frame, &heading, html! { p role="alert" { (message) } })
}
