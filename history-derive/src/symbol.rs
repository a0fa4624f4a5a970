//! Attribute keywords, in one place so the parser and its messages agree.

use std::fmt;

#[derive(Clone, Copy)]
pub struct Symbol(pub &'static str);

pub const HISTORY: Symbol = Symbol("history");
pub const DIESEL: Symbol = Symbol("diesel");

// `#[history(...)]` on the struct.
pub const TABLE_NAME: Symbol = Symbol("table_name");
pub const STRUCT_NAME: Symbol = Symbol("struct_name");
pub const EXCLUDE: Symbol = Symbol("exclude");
pub const INCLUDE: Symbol = Symbol("include");
pub const USER_ID_TYPE: Symbol = Symbol("user_id_type");
pub const HISTORY_ID: Symbol = Symbol("history_id");
pub const CHANGE_REASON: Symbol = Symbol("change_reason");
pub const SKIP_UNCHANGED: Symbol = Symbol("skip_unchanged");
pub const HOOKS: Symbol = Symbol("hooks");
pub const SCHEMA: Symbol = Symbol("schema");
pub const HISTORY_SCHEMA: Symbol = Symbol("history_schema");
pub const REQUEST_INFO: Symbol = Symbol("request_info");
pub const CAPTURE: Symbol = Symbol("capture");
pub const REQUIRE_USER: Symbol = Symbol("require_user");

pub const CONTAINER_OPTIONS: &[Symbol] = &[
    TABLE_NAME,
    STRUCT_NAME,
    EXCLUDE,
    INCLUDE,
    USER_ID_TYPE,
    HISTORY_ID,
    CHANGE_REASON,
    SKIP_UNCHANGED,
    HOOKS,
    SCHEMA,
    HISTORY_SCHEMA,
    REQUEST_INFO,
    CAPTURE,
    REQUIRE_USER,
];

// `#[history(...)]` on a field.
pub const SQL_TYPE: Symbol = Symbol("sql_type");
pub const DB_TYPE: Symbol = Symbol("db_type");
pub const SQL_NAME: Symbol = Symbol("sql_name");
pub const DEFAULT: Symbol = Symbol("default");

pub const FIELD_OPTIONS: &[Symbol] = &[SQL_TYPE, DB_TYPE, SQL_NAME, DEFAULT];

// `#[diesel(...)]` options the derive reads (Diesel validates them itself).
pub const PRIMARY_KEY: Symbol = Symbol("primary_key");
pub const COLUMN_NAME: Symbol = Symbol("column_name");

impl PartialEq<Symbol> for syn::Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for syn::Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// "`a`, `b` or `c`", for help lines.
pub fn one_of(options: &[Symbol]) -> String {
    let quoted: Vec<String> = options.iter().map(|s| format!("`{s}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}
