//! Turns `#[history(...)]` and the `#[diesel(...)]` options the derive needs
//! into typed values. Knows nothing of code generation.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Ident, LitInt, LitStr, Path, Token, Type};

use crate::ctxt::Ctxt;
use crate::symbol::{self, Symbol};

/// An option value with the keyword that set it, for spans and duplicate checks.
pub struct Attr<T> {
    name: Symbol,
    keyword: Option<Ident>,
    value: Option<T>,
}

impl<T> Attr<T> {
    fn none(name: Symbol) -> Self {
        Attr {
            name,
            keyword: None,
            value: None,
        }
    }

    fn set(&mut self, cx: &Ctxt, keyword: &Ident, value: T) {
        if self.value.is_some() {
            cx.error_spanned_by(
                keyword,
                format!("duplicate history attribute `{}`", self.name),
            );
        } else {
            self.keyword = Some(keyword.clone());
            self.value = Some(value);
        }
    }

    pub fn get(&self) -> Option<&T> {
        self.value.as_ref()
    }

    /// The keyword that set the value, for errors about it.
    pub fn keyword(&self) -> Option<&Ident> {
        self.keyword.as_ref()
    }
}

/// How a change reason column is stored.
#[derive(Clone, Copy)]
pub enum ChangeReason {
    Varchar(u32),
    Text,
}

/// `capture = client | trigger`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    Client,
    Trigger,
}

/// `history_id = integer | uuid`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HistoryIdKind {
    Integer,
    Uuid,
}

/// `#[history(...)]` on the struct.
pub struct ContainerAttrs {
    pub table_name: Attr<Ident>,
    pub struct_name: Attr<Ident>,
    pub exclude: Attr<Vec<Ident>>,
    pub include: Attr<Vec<Ident>>,
    pub user_id_type: Attr<Type>,
    pub history_id: Attr<HistoryIdKind>,
    pub change_reason: Attr<ChangeReason>,
    pub skip_unchanged: Attr<()>,
    pub hooks: Attr<Type>,
    pub schema: Attr<Ident>,
    pub history_schema: Attr<Ident>,
    pub request_info: Attr<()>,
    pub capture: Attr<Capture>,
    pub require_user: Attr<()>,
}

/// `#[history(...)]` on a field.
pub struct FieldAttrs {
    pub sql_type: Attr<Type>,
    pub db_type: Attr<LitStr>,
    pub sql_name: Attr<LitStr>,
    pub default: Attr<LitStr>,
}

/// The `#[diesel(...)]` options of the struct the derive reads.
#[derive(Default)]
pub struct DieselContainer {
    pub table_name: Option<Path>,
    pub primary_key: Option<Vec<Ident>>,
}

/// The `#[diesel(...)]` options of a field the derive reads.
#[derive(Default)]
pub struct DieselField {
    pub column_name: Option<Ident>,
}

/// The shape an option was written in.
enum Value {
    /// `name = tokens`
    Eq(TokenStream),
    /// `name(tokens)`
    List(TokenStream),
    /// `name`
    Flag,
}

impl ContainerAttrs {
    pub fn from_attrs(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut this = ContainerAttrs {
            table_name: Attr::none(symbol::TABLE_NAME),
            struct_name: Attr::none(symbol::STRUCT_NAME),
            exclude: Attr::none(symbol::EXCLUDE),
            include: Attr::none(symbol::INCLUDE),
            user_id_type: Attr::none(symbol::USER_ID_TYPE),
            history_id: Attr::none(symbol::HISTORY_ID),
            change_reason: Attr::none(symbol::CHANGE_REASON),
            skip_unchanged: Attr::none(symbol::SKIP_UNCHANGED),
            hooks: Attr::none(symbol::HOOKS),
            schema: Attr::none(symbol::SCHEMA),
            history_schema: Attr::none(symbol::HISTORY_SCHEMA),
            request_info: Attr::none(symbol::REQUEST_INFO),
            capture: Attr::none(symbol::CAPTURE),
            require_user: Attr::none(symbol::REQUIRE_USER),
        };
        for_each_history_option(cx, attrs, symbol::CONTAINER_OPTIONS, |keyword, value| {
            if keyword == &symbol::TABLE_NAME {
                let ident = eq_value(
                    keyword,
                    value,
                    "table_name = historical_orders",
                    parse_ident,
                )?;
                this.table_name.set(cx, keyword, ident);
            } else if keyword == &symbol::STRUCT_NAME {
                let ident = eq_value(keyword, value, "struct_name = HistoricalOrder", parse_ident)?;
                this.struct_name.set(cx, keyword, ident);
            } else if keyword == &symbol::EXCLUDE {
                let fields = list_value(keyword, value, "exclude(field, ...)", parse_ident_list)?;
                this.exclude.set(cx, keyword, fields);
            } else if keyword == &symbol::INCLUDE {
                let fields = list_value(keyword, value, "include(field, ...)", parse_ident_list)?;
                this.include.set(cx, keyword, fields);
            } else if keyword == &symbol::USER_ID_TYPE {
                let ty = eq_value(keyword, value, "user_id_type = i64", |tokens| {
                    syn::parse2::<Type>(tokens)
                })?;
                this.user_id_type.set(cx, keyword, ty);
            } else if keyword == &symbol::HISTORY_ID {
                let kind = eq_value(keyword, value, "history_id = integer", parse_history_id)?;
                this.history_id.set(cx, keyword, kind);
            } else if keyword == &symbol::CHANGE_REASON {
                let reason = eq_value(
                    keyword,
                    value,
                    "change_reason = varchar(100)",
                    parse_change_reason,
                )?;
                this.change_reason.set(cx, keyword, reason);
            } else if keyword == &symbol::HOOKS {
                let ty = eq_value(keyword, value, "hooks = MyHooks", syn::parse2::<Type>)?;
                this.hooks.set(cx, keyword, ty);
            } else if keyword == &symbol::SCHEMA {
                let ident = eq_value(keyword, value, "schema = sales", parse_ident)?;
                this.schema.set(cx, keyword, ident);
            } else if keyword == &symbol::HISTORY_SCHEMA {
                let ident = eq_value(keyword, value, "history_schema = audit", parse_ident)?;
                this.history_schema.set(cx, keyword, ident);
            } else if keyword == &symbol::SKIP_UNCHANGED {
                match value {
                    Value::Flag => this.skip_unchanged.set(cx, keyword, ()),
                    _ => return Err(malformed(keyword.span(), keyword, None, "skip_unchanged")),
                }
            } else if keyword == &symbol::REQUEST_INFO {
                match value {
                    Value::Flag => this.request_info.set(cx, keyword, ()),
                    _ => return Err(malformed(keyword.span(), keyword, None, "request_info")),
                }
            } else if keyword == &symbol::REQUIRE_USER {
                match value {
                    Value::Flag => this.require_user.set(cx, keyword, ()),
                    _ => return Err(malformed(keyword.span(), keyword, None, "require_user")),
                }
            } else if keyword == &symbol::CAPTURE {
                let capture = eq_value(keyword, value, "capture = trigger", parse_capture)?;
                this.capture.set(cx, keyword, capture);
            }
            Ok(())
        });
        this
    }
}

impl FieldAttrs {
    pub fn from_attrs(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut this = FieldAttrs {
            sql_type: Attr::none(symbol::SQL_TYPE),
            db_type: Attr::none(symbol::DB_TYPE),
            sql_name: Attr::none(symbol::SQL_NAME),
            default: Attr::none(symbol::DEFAULT),
        };
        for_each_history_option(cx, attrs, symbol::FIELD_OPTIONS, |keyword, value| {
            if keyword == &symbol::SQL_TYPE {
                let ty = eq_value(
                    keyword,
                    value,
                    "sql_type = diesel::sql_types::Text",
                    syn::parse2::<Type>,
                )?;
                this.sql_type.set(cx, keyword, ty);
            } else if keyword == &symbol::DB_TYPE {
                let lit = eq_value(keyword, value, "db_type = \"VARCHAR(64)\"", |tokens| {
                    let lit = syn::parse2::<LitStr>(tokens)?;
                    match column_type_problem(&lit.value()) {
                        Some(problem) => Err(syn::Error::new(lit.span(), problem)),
                        None => Ok(lit),
                    }
                })?;
                this.db_type.set(cx, keyword, lit);
            } else if keyword == &symbol::SQL_NAME {
                let lit = eq_value(keyword, value, "sql_name = \"type\"", |tokens| {
                    let lit = syn::parse2::<LitStr>(tokens)?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "the column name is empty"));
                    }
                    Ok(lit)
                })?;
                this.sql_name.set(cx, keyword, lit);
            } else if keyword == &symbol::DEFAULT {
                let lit = eq_value(keyword, value, "default = \"'new'\"", |tokens| {
                    let lit = syn::parse2::<LitStr>(tokens)?;
                    match literal_problem(&lit.value()) {
                        Some(problem) => Err(syn::Error::new(lit.span(), problem)),
                        None => Ok(lit),
                    }
                })?;
                this.default.set(cx, keyword, lit);
            }
            Ok(())
        });
        this
    }
}

impl DieselContainer {
    /// Reads `table_name` and `primary_key`, skipping every other option:
    /// Diesel's own derives report mistakes in `#[diesel(...)]`.
    pub fn from_attrs(attrs: &[syn::Attribute]) -> Self {
        let mut this = DieselContainer::default();
        for_each_diesel_option(attrs, |keyword, value| match value {
            Value::Eq(tokens) if keyword == &symbol::TABLE_NAME => {
                if let Ok(path) = syn::parse2::<Path>(tokens) {
                    this.table_name = Some(path);
                }
            }
            Value::List(tokens) if keyword == &symbol::PRIMARY_KEY => {
                if let Ok(keys) = parse_ident_list(tokens) {
                    this.primary_key = Some(keys);
                }
            }
            _ => {}
        });
        this
    }
}

impl DieselField {
    pub fn from_attrs(attrs: &[syn::Attribute]) -> Self {
        let mut this = DieselField::default();
        for_each_diesel_option(attrs, |keyword, value| {
            if let Value::Eq(tokens) = value {
                if keyword == &symbol::COLUMN_NAME {
                    if let Ok(ident) = parse_ident(tokens) {
                        this.column_name = Some(ident);
                    }
                }
            }
        });
        this
    }
}

/// Calls `handle` with every option of every `#[history(...)]` attribute.
/// Unknown options and parse failures are reported and parsing goes on, so
/// one expansion reports every mistake.
fn for_each_history_option(
    cx: &Ctxt,
    attrs: &[syn::Attribute],
    known: &[Symbol],
    mut handle: impl FnMut(&Ident, Value) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|attr| attr.path() == &symbol::HISTORY) {
        if let syn::Meta::Path(path) = &attr.meta {
            cx.error_with_help(
                path,
                "expected options in `#[history(...)]`",
                format!("one of {}", symbol::one_of(known)),
            );
            continue;
        }
        if matches!(&attr.meta, syn::Meta::List(list) if list.tokens.is_empty()) {
            cx.error_with_help(
                attr,
                "empty `#[history()]`",
                format!("remove it, or add one of {}", symbol::one_of(known)),
            );
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let keyword = option_keyword(&meta)?;
            let value = take_value(&meta)?;
            if !known.iter().any(|symbol| &keyword == symbol) {
                cx.error_with_help(
                    &keyword,
                    format!("unknown history attribute `{keyword}`"),
                    format!("expected one of {}", symbol::one_of(known)),
                );
                return Ok(());
            }
            if let Err(err) = handle(&keyword, value) {
                cx.syn_error(err);
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
}

fn for_each_diesel_option(attrs: &[syn::Attribute], mut handle: impl FnMut(&Ident, Value)) {
    for attr in attrs.iter().filter(|attr| attr.path() == &symbol::DIESEL) {
        let _ = attr.parse_nested_meta(|meta| {
            let value = take_value(&meta)?;
            if let Some(keyword) = meta.path.get_ident() {
                handle(keyword, value);
            }
            Ok(())
        });
    }
}

fn option_keyword(meta: &ParseNestedMeta<'_>) -> syn::Result<Ident> {
    meta.path
        .get_ident()
        .cloned()
        .ok_or_else(|| syn::Error::new(meta.path.span(), "expected a history attribute name"))
}

/// Consumes the option's value whatever its shape, up to the next comma.
fn take_value(meta: &ParseNestedMeta<'_>) -> syn::Result<Value> {
    if meta.input.peek(Token![=]) {
        let input = meta.value()?;
        let mut tokens = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            tokens.extend([input.parse::<TokenTree>()?]);
        }
        Ok(Value::Eq(tokens))
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        Ok(Value::List(content.parse()?))
    } else {
        Ok(Value::Flag)
    }
}

fn eq_value<T>(
    keyword: &Ident,
    value: Value,
    example: &str,
    parse: impl FnOnce(TokenStream) -> syn::Result<T>,
) -> syn::Result<T> {
    match value {
        Value::Eq(tokens) => parse_with_help(keyword, tokens, example, parse),
        _ => Err(malformed(keyword.span(), keyword, None, example)),
    }
}

fn list_value<T>(
    keyword: &Ident,
    value: Value,
    example: &str,
    parse: impl FnOnce(TokenStream) -> syn::Result<T>,
) -> syn::Result<T> {
    match value {
        Value::List(tokens) => parse_with_help(keyword, tokens, example, parse),
        _ => Err(malformed(keyword.span(), keyword, None, example)),
    }
}

/// Parses a value; a failure keeps its span and gains the option's name and
/// an example. An error that points nowhere (end of input) points at the
/// option's keyword instead.
fn parse_with_help<T>(
    keyword: &Ident,
    tokens: TokenStream,
    example: &str,
    parse: impl FnOnce(TokenStream) -> syn::Result<T>,
) -> syn::Result<T> {
    if tokens.is_empty() {
        return Err(malformed(keyword.span(), keyword, None, example));
    }
    let span = tokens
        .clone()
        .into_iter()
        .last()
        .map_or(keyword.span(), |last| last.span());
    parse(tokens).map_err(|err| {
        let at = if err.to_string().contains("end of input") {
            span
        } else {
            err.span()
        };
        malformed(at, keyword, Some(&err.to_string()), example)
    })
}

fn malformed(at: Span, keyword: &Ident, problem: Option<&str>, example: &str) -> syn::Error {
    let problem = problem
        .map(|problem| format!(": {problem}"))
        .unwrap_or_default();
    syn::Error::new(
        at,
        format!(
            "malformed history attribute `{keyword}`{problem}\n\nhelp: write it as `{example}`"
        ),
    )
}

fn parse_ident(tokens: TokenStream) -> syn::Result<Ident> {
    syn::parse2::<Ident>(tokens)
}

fn parse_ident_list(tokens: TokenStream) -> syn::Result<Vec<Ident>> {
    let list = Punctuated::<Ident, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(list.into_iter().collect())
}

/// Why `default` is not one SQL value, if it is not. Like `db_type`, it is
/// pasted into migrations, so it may not end the statement, hide the rest
/// of the line or start another expression list: balanced quotes and
/// parentheses, and no `,` outside them.
fn literal_problem(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return Some("the default is empty".to_owned());
    }
    let (mut depth, mut quoted) = (0_usize, false);
    let mut chars = value.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => quoted = !quoted,
            _ if quoted => {}
            ';' => {
                return Some("the default contains `;`, which would end the statement".to_owned())
            }
            '-' if chars.peek() == Some(&'-') => {
                return Some("the default contains an SQL comment".to_owned())
            }
            '/' if chars.peek() == Some(&'*') => {
                return Some("the default contains an SQL comment".to_owned())
            }
            '(' => depth += 1,
            ')' if depth == 0 => {
                return Some("the default closes a `)` it did not open".to_owned())
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                return Some("the default has a `,` outside parentheses: give one value".to_owned())
            }
            '"' | '`' => return Some(format!("the default contains `{ch}`: quote text with `'`")),
            _ => {}
        }
    }
    if quoted {
        return Some("the default leaves a quote open".to_owned());
    }
    if depth > 0 {
        return Some("the default leaves a `(` open".to_owned());
    }
    None
}

/// Why `db_type` is not one column type, if it is not. The text is pasted
/// into every migration as it stands, so anything beyond one type expression
/// (a second column, a statement separator, a comment hiding the rest of the
/// line) would change the DDL itself: only the characters of type names,
/// lengths and enum lists pass, with balanced parentheses and quotes.
fn column_type_problem(ty: &str) -> Option<String> {
    if ty.trim().is_empty() {
        return Some("the column type is empty".to_owned());
    }
    if ty.contains(';') {
        return Some("the column type contains `;`, which would end the statement".to_owned());
    }
    if ty.contains("--") || ty.contains("/*") {
        return Some("the column type contains an SQL comment".to_owned());
    }
    let (mut depth, mut quoted) = (0_usize, false);
    for ch in ty.chars() {
        match ch {
            '\'' => quoted = !quoted,
            // Enum values are free text, up to their closing quote.
            _ if quoted => {}
            '(' => depth += 1,
            ')' if depth == 0 => {
                return Some("the column type closes a `)` it did not open".to_owned())
            }
            ')' => depth -= 1,
            ',' if depth == 0 => return Some(
                "the column type has a `,` outside parentheses: that would start another column"
                    .to_owned(),
            ),
            ch if ch.is_ascii_alphanumeric() || " _,[]".contains(ch) => {}
            ch => {
                return Some(format!(
                    "the column type contains `{ch}`, which no column type needs"
                ))
            }
        }
    }
    if quoted {
        return Some("the column type leaves a quote open".to_owned());
    }
    if depth > 0 {
        return Some("the column type leaves a `(` open".to_owned());
    }
    None
}

fn parse_capture(tokens: TokenStream) -> syn::Result<Capture> {
    let ident = syn::parse2::<Ident>(tokens.clone())
        .map_err(|_| syn::Error::new_spanned(&tokens, "expected `client` or `trigger`"))?;
    match ident.to_string().as_str() {
        "client" => Ok(Capture::Client),
        "trigger" => Ok(Capture::Trigger),
        other => Err(syn::Error::new(
            ident.span(),
            format!("unknown capture `{other}`: expected `client` or `trigger`"),
        )),
    }
}

fn parse_history_id(tokens: TokenStream) -> syn::Result<HistoryIdKind> {
    let ident = syn::parse2::<Ident>(tokens.clone())
        .map_err(|_| syn::Error::new_spanned(&tokens, "expected `integer` or `uuid`"))?;
    match ident.to_string().as_str() {
        "integer" => Ok(HistoryIdKind::Integer),
        "uuid" => Ok(HistoryIdKind::Uuid),
        _ => Err(syn::Error::new(
            ident.span(),
            format!("expected `integer` or `uuid`, found `{ident}`"),
        )),
    }
}

fn parse_change_reason(tokens: TokenStream) -> syn::Result<ChangeReason> {
    struct Reason(ChangeReason);
    impl Parse for Reason {
        fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
            let ident: Ident = input.parse()?;
            let reason = match ident.to_string().as_str() {
                "text" => ChangeReason::Text,
                "varchar" if input.peek(syn::token::Paren) => {
                    let content;
                    syn::parenthesized!(content in input);
                    let len: LitInt = content.parse()?;
                    if !content.is_empty() {
                        return Err(content.error("expected one length"));
                    }
                    match len.base10_parse::<u32>()? {
                        0 => {
                            return Err(syn::Error::new(
                                len.span(),
                                "the length must be at least 1",
                            ))
                        }
                        len => ChangeReason::Varchar(len),
                    }
                }
                "varchar" => return Err(syn::Error::new(ident.span(), "`varchar` needs a length")),
                _ => {
                    return Err(syn::Error::new(
                        ident.span(),
                        format!("expected `text` or `varchar(N)`, found `{ident}`"),
                    ))
                }
            };
            if !input.is_empty() {
                return Err(input.error(format!("unexpected tokens after `{ident}`")));
            }
            Ok(Reason(reason))
        }
    }
    syn::parse2::<Reason>(tokens).map(|reason| reason.0)
}

#[cfg(test)]
mod tests {
    use super::{column_type_problem, literal_problem};

    #[test]
    fn db_type_accepts_one_type_expression() {
        for ty in [
            "VARCHAR(64)",
            "DOUBLE PRECISION",
            "NUMERIC(10, 2)",
            "ENUM('new', 'paid or not')",
            "TEXT[]",
            "timestamp_tz",
        ] {
            assert_eq!(column_type_problem(ty), None, "{ty}");
        }
    }

    #[test]
    fn default_accepts_one_value_and_refuses_more() {
        for value in [
            "0",
            "-1.5",
            "'new'",
            "'a,b; c -- d'",
            "TRUE",
            "DATE '2026-01-01'",
            "lower('X')",
        ] {
            assert_eq!(literal_problem(value), None, "{value:?}");
        }
        for value in [
            "",
            " ",
            "0; DROP TABLE orders",
            "0 -- rest",
            "0 /* x */",
            "1, 2",
            "'open",
            "f(1",
            "1)",
            "\"x\"",
        ] {
            assert!(literal_problem(value).is_some(), "{value:?}");
        }
    }

    #[test]
    fn db_type_refuses_anything_that_changes_the_ddl() {
        for ty in [
            "",
            "TEXT; DROP TABLE orders",
            "TEXT -- rest",
            "TEXT /* rest */",
            "TEXT, extra INTEGER",
            "TEXT) , (",
            "VARCHAR(64",
            "ENUM('a)",
            "TEXT\nNOT NULL",
            "TEXT DEFAULT \"x\"",
        ] {
            assert!(column_type_problem(ty).is_some(), "{ty:?}");
        }
    }
}
