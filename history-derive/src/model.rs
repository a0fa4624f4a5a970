//! The validated, defaulted description of one model that code generation
//! works from. Every user error is found here, never in `expand`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Path, Type, Visibility};

use crate::attr::{
    Capture, ChangeReason, ContainerAttrs, DieselContainer, DieselField, FieldAttrs, HistoryIdKind,
};
use crate::ctxt::Ctxt;
use crate::types::{self, Unmapped};

/// Column names every history table adds; a tracked field may not take one.
///
/// With [`REQUEST_INFO`], in table order, these are
/// `history_core::columns::RESERVED`, the runtime's list. The proc-macro
/// crate depends on syn, quote and proc-macro2 alone (history-core would
/// build Diesel a second time, for the host), so it keeps its own copy; the
/// integration tests check that the `table!` it generates lists the
/// runtime's columns in the runtime's order (`request_info.rs`).
const RESERVED: [&str; 5] = [
    "history_id",
    "history_date",
    "history_type",
    "history_user_id",
    "history_change_reason",
];

/// The columns `#[history(request_info)]` adds after [`RESERVED`].
const REQUEST_INFO: [&str; 3] = [
    "history_client_ip",
    "history_user_agent",
    "history_request_id",
];

/// The SQL types a user id may have: keys of a users table.
const USER_ID_KINDS: [&str; 5] = ["SmallInt", "Integer", "BigInt", "Text", "Uuid"];

pub struct Model {
    pub ident: Ident,
    pub vis: Visibility,
    /// The source `table!` module as the user wrote it (`orders`, `schema::orders`).
    pub table_path: Path,
    pub table_name: String,
    /// `schema = ...`: the database schema of the model's table, whose
    /// `table!` is `schema.table`.
    pub schema: Option<Ident>,
    /// The history table's schema: `history_schema`, else `schema`.
    pub history_schema: Option<Ident>,
    pub history_table: Ident,
    pub history_struct: Ident,
    /// Tracked fields, in declaration order.
    pub fields: Vec<Field>,
    /// Columns of the primary key, in key order.
    pub primary_key: Vec<Ident>,
    pub user_id_type: Type,
    pub user_id_sql: TokenStream,
    pub user_id_kind: &'static str,
    pub history_id: HistoryIdKind,
    pub change_reason: ChangeReason,
    /// Every field of the model, tracked or not.
    pub model_fields: Vec<ModelField>,
    pub skip_unchanged: bool,
    /// `request_info`: the table keeps client address, user agent and request id.
    pub request_info: bool,
    /// `hooks = Type`, or `()`.
    pub hooks: Type,
    /// `capture = trigger`: database triggers write the records.
    pub capture: Capture,
    /// `require_user`: a write without a user is refused.
    pub require_user: bool,
}

pub struct Field {
    pub ident: Ident,
    pub ty: Type,
    /// Column name (`#[diesel(column_name)]` or the field name).
    pub column: Ident,
    /// Whether the field carried `#[diesel(column_name = ...)]`.
    pub renamed: bool,
    /// `#[history(sql_name = "...")]`: the column's `#[sql_name]` in its
    /// `table!`, repeated for the history table's.
    pub sql_name: Option<LitStr>,
    pub sql_type: SqlType,
    /// The field is an `Option`: the column accepts NULL.
    pub nullable: bool,
    pub column_type: ColumnType,
    /// `#[history(default = "...")]`: the SQL literal older records get
    /// when a migration adds this column.
    pub default: Option<LitStr>,
}

/// A field of the model, tracked or not: what a bulk update writes.
pub struct ModelField {
    pub ident: Ident,
    pub ty: Type,
    pub column: Ident,
}

/// Where a column's Diesel SQL type comes from.
pub enum SqlType {
    /// Mapped from the Rust type (non-null; wrapped in `Nullable` when `nullable`).
    Mapped(TokenStream),
    /// `#[history(sql_type = ...)]`, resolved in the user's scope.
    Override(Type),
}

/// How the migration writes the column type.
pub enum ColumnType {
    Kind(&'static str),
    Raw(LitStr),
}

impl Model {
    pub fn from_input(input: &DeriveInput) -> syn::Result<Model> {
        let cx = Ctxt::new();
        let model = Self::build(&cx, input);
        cx.check()?;
        Ok(model.expect("a model without errors is complete"))
    }

    fn build(cx: &Ctxt, input: &DeriveInput) -> Option<Model> {
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(unnamed) => {
                    cx.error_with_help(
                        unnamed,
                        "`HistoricalRecords` cannot be derived for tuple structs",
                        "name the fields: history columns are matched to table columns by name",
                    );
                    None
                }
                Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        "`HistoricalRecords` cannot be derived for unit structs",
                    );
                    None
                }
            },
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "`HistoricalRecords` cannot be derived for enums, only for structs with named fields",
                );
                None
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "`HistoricalRecords` cannot be derived for unions, only for structs with named fields",
                );
                None
            }
        };
        // Field types of a generic struct cannot be mapped: stop at the shape.
        let named = if input.generics.params.is_empty() {
            named
        } else {
            cx.error_spanned_by(
                &input.generics,
                "`HistoricalRecords` cannot be derived for generic structs",
            );
            None
        };

        let attrs = ContainerAttrs::from_attrs(cx, &input.attrs);
        let diesel = DieselContainer::from_attrs(&input.attrs);
        let table_path = match diesel.table_name {
            Some(path) => Some(path),
            None => {
                cx.error_with_help(
                    &input.ident,
                    "`HistoricalRecords` needs the model's table",
                    "add `#[diesel(table_name = your_table)]` naming the `table!` of this model",
                );
                None
            }
        };

        // Every field, with its options, before include/exclude are applied.
        let mut all_fields = Vec::new();
        for field in named.map(|named| named.named.iter()).into_iter().flatten() {
            let ident = field.ident.clone().expect("named field");
            let options = FieldAttrs::from_attrs(cx, &field.attrs);
            let diesel_field = DieselField::from_attrs(&field.attrs);
            all_fields.push((ident, field, options, diesel_field));
        }
        let field_names: Vec<&Ident> = all_fields.iter().map(|(ident, ..)| ident).collect();

        // Primary key: the columns of `#[diesel(primary_key(...))]`, or `id`.
        // Diesel's derives name key columns, not fields, so a renamed key
        // field (`#[diesel(column_name = id)] order_id`) is found by its column.
        let column_of = |(ident, _, _, diesel_field): &(Ident, _, _, DieselField)| {
            diesel_field
                .column_name
                .clone()
                .unwrap_or_else(|| ident.clone())
        };
        let key_field = |column: &Ident| {
            all_fields
                .iter()
                .find(|field| column_of(field) == *column)
                .map(|(ident, ..)| ident.clone())
        };
        let primary_key_fields: Vec<Ident> = match &diesel.primary_key {
            Some(keys) => {
                if let [_, _, ..] = keys.as_slice() {
                    cx.error_with_help(
                        quote!(#(#keys)*),
                        "composite primary keys are not supported yet",
                        "history records, reads and writes match a row by one key column",
                    );
                }
                keys.iter()
                    .filter_map(|key| {
                        let field = key_field(key);
                        if field.is_none() {
                            unknown_key_column(cx, key, &input.ident, &all_fields);
                        }
                        field
                    })
                    .collect()
            }
            None => match key_field(&format_ident!("id")) {
                Some(field) => vec![field],
                None => {
                    if named.is_some() {
                        cx.error_with_help(
                            &input.ident,
                            format!("`{}` has no primary key", input.ident),
                            "add a field on the column `id`, or `#[diesel(primary_key(column, ...))]`",
                        );
                    }
                    Vec::new()
                }
            },
        };

        let tracked = tracked_fields(cx, &attrs, &field_names, &primary_key_fields);
        if attrs.capture.get() == Some(&Capture::Trigger) {
            if let Some(hooks) = attrs.hooks.keyword() {
                cx.error_with_help(
                    hooks,
                    "`hooks` cannot run with `capture = trigger`",
                    "in trigger capture the database writes each record; set the user and \
                     reason in the `HistoryContext`, or keep `capture = client`",
                );
            }
        }
        let request_info = attrs.request_info.get().is_some();
        let history_columns = history_columns(request_info);

        let model_fields: Vec<ModelField> = all_fields
            .iter()
            .map(|(ident, field, _, diesel_field)| ModelField {
                ident: ident.clone(),
                ty: field.ty.clone(),
                column: diesel_field
                    .column_name
                    .clone()
                    .unwrap_or_else(|| ident.clone()),
            })
            .collect();
        let mut fields = Vec::new();
        for (ident, field, options, diesel_field) in &all_fields {
            let column = diesel_field
                .column_name
                .clone()
                .unwrap_or_else(|| ident.clone());
            if !tracked.contains(ident) {
                continue;
            }
            // The field name becomes the record's field, the column name the history column.
            let names = if column == *ident {
                vec![ident]
            } else {
                vec![ident, &column]
            };
            for name in names {
                if history_columns.iter().any(|reserved| name == reserved) {
                    cx.error_with_help(
                        name,
                        format!("`{name}` is a column every history table adds"),
                        format!("rename the field, or leave it out of history with `#[history(exclude({ident}))]`"),
                    );
                }
            }
            let (sql_type, column_type, nullable) = field_types(cx, &field.ty, options);
            fields.push(Field {
                ident: ident.clone(),
                ty: field.ty.clone(),
                renamed: diesel_field.column_name.is_some(),
                sql_name: options.sql_name.get().cloned(),
                column,
                sql_type,
                nullable,
                column_type,
                default: options.default.get().cloned(),
            });
        }
        check_column_limit(cx, &input.ident, fields.len(), history_columns.len());
        let primary_key = primary_key_fields
            .iter()
            .filter_map(|key| fields.iter().find(|field| &field.ident == key))
            .map(|field| field.column.clone())
            .collect();

        let user_id_type = attrs
            .user_id_type
            .get()
            .cloned()
            .unwrap_or_else(|| syn::parse_quote!(i64));
        let (user_id_sql, user_id_kind) = match types::map_rust_type(&user_id_type) {
            Ok(mapped) if USER_ID_KINDS.contains(&mapped.kind) => (mapped.sql_type, mapped.kind),
            _ => {
                cx.error_with_help(
                    &user_id_type,
                    "unsupported `user_id_type`",
                    "use `i16`, `i32`, `i64`, `String`, or `uuid::Uuid` on PostgreSQL",
                );
                (quote!(), "BigInt")
            }
        };

        let history_id = attrs
            .history_id
            .get()
            .copied()
            .unwrap_or(HistoryIdKind::Integer);
        if history_id == HistoryIdKind::Uuid && !cfg!(feature = "uuid") {
            cx.error_with_help(
                attrs.history_id.keyword(),
                "`history_id = uuid` needs the `uuid` feature",
                "enable the `uuid` feature of history-diesel",
            );
        }

        // `r#select` is the table `select`, as in Diesel's `table!`.
        let table_name = table_path.as_ref()?.segments.last()?.ident.unraw();
        if let Some(history_table) = attrs.table_name.get() {
            if *history_table == table_name {
                cx.error_with_help(
                    history_table,
                    "the history table cannot have the model's own table name",
                    format!("use another name, such as `historical_{table_name}`"),
                );
            }
        }
        if let Some(history_struct) = attrs.struct_name.get() {
            if *history_struct == input.ident {
                cx.error_with_help(
                    history_struct,
                    "the history struct cannot have the model's own name",
                    format!("use another name, such as `Historical{}`", input.ident),
                );
            }
        }
        let table_path = table_path?;
        Some(Model {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            history_table: attrs
                .table_name
                .get()
                .cloned()
                .unwrap_or_else(|| format_ident!("historical_{}", table_name)),
            history_struct: attrs
                .struct_name
                .get()
                .cloned()
                .unwrap_or_else(|| format_ident!("Historical{}", input.ident)),
            table_name: table_name.to_string(),
            schema: attrs.schema.get().cloned(),
            history_schema: attrs.history_schema.get().or(attrs.schema.get()).cloned(),
            table_path,
            fields,
            primary_key,
            user_id_type,
            user_id_sql,
            user_id_kind,
            history_id,
            change_reason: attrs
                .change_reason
                .get()
                .copied()
                .unwrap_or(ChangeReason::Varchar(100)),
            model_fields,
            skip_unchanged: attrs.skip_unchanged.get().is_some(),
            request_info,
            hooks: attrs
                .hooks
                .get()
                .cloned()
                .unwrap_or_else(|| syn::parse_quote!(())),
            capture: attrs.capture.get().copied().unwrap_or(Capture::Client),
            require_user: attrs.require_user.get().is_some(),
        })
    }
}

/// The most columns a Diesel `table!` may have in this build: 32 by
/// Diesel's default features, more with the features history-diesel mirrors
/// (the derive cannot see Diesel's own).
const fn column_limit() -> (usize, Option<&'static str>) {
    if cfg!(feature = "128-column-tables") {
        (128, None)
    } else if cfg!(feature = "64-column-tables") {
        (64, Some("128-column-tables"))
    } else {
        (32, Some("64-column-tables"))
    }
}

/// The names of the history columns a table has: [`RESERVED`], and
/// [`REQUEST_INFO`] with `request_info`.
fn history_columns(request_info: bool) -> Vec<&'static str> {
    let mut names = RESERVED.to_vec();
    if request_info {
        names.extend(REQUEST_INFO);
    }
    names
}

/// One error at the struct when the history table (the tracked columns and
/// the history columns) would exceed Diesel's column limit, instead of
/// Diesel's refusal of the generated `table!` and the errors that follow.
fn check_column_limit(cx: &Ctxt, model: &Ident, tracked: usize, history: usize) {
    let columns = tracked + history;
    let (limit, next) = column_limit();
    if columns <= limit {
        return;
    }
    let message = format!(
        "the history table of `{model}` has {columns} columns ({tracked} tracked and {history} history columns), more than the {limit} Diesel allows in this build"
    );
    let help = match next {
        Some(feature) if columns <= 128 => format!(
            "enable the `{feature}` feature of history-diesel (it enables Diesel's), or leave fields out with `#[history(exclude(...))]`"
        ),
        _ => "Diesel supports at most 128 columns: leave fields out with `#[history(exclude(...))]`".to_owned(),
    };
    cx.error_with_help(model, message, help);
}

/// A `primary_key(...)` entry no field's column answers to; a field of that
/// name (whose column was renamed) gets its column named in the help.
fn unknown_key_column(
    cx: &Ctxt,
    key: &Ident,
    model: &Ident,
    fields: &[(Ident, &syn::Field, FieldAttrs, DieselField)],
) {
    let message = format!("no field with column name `{key}` in `{model}` for the primary key");
    let renamed = fields.iter().find_map(|(ident, _, _, diesel_field)| {
        diesel_field.column_name.as_ref().filter(|_| ident == key)
    });
    match renamed {
        Some(column) => cx.error_with_help(
            key,
            message,
            format!("`primary_key(...)` names columns, as Diesel does: the field `{key}` is the column `{column}`, so write `primary_key({column})`"),
        ),
        None => cx.error_spanned_by(key, message),
    }
}

/// The fields history keeps: all, all but `exclude(...)`, or `include(...)`.
fn tracked_fields(
    cx: &Ctxt,
    attrs: &ContainerAttrs,
    fields: &[&Ident],
    primary_key: &[Ident],
) -> Vec<Ident> {
    let check_listed = |listed: &[Ident], option: &str| {
        for (i, name) in listed.iter().enumerate() {
            if !fields.contains(&name) {
                cx.error_spanned_by(name, format!("no field `{name}` to {option}"));
            } else if listed[..i].contains(name) {
                cx.error_spanned_by(name, format!("`{name}` is listed twice"));
            }
        }
    };
    match (attrs.exclude.get(), attrs.include.get()) {
        (Some(_), Some(_)) => {
            cx.error_with_help(
                attrs.include.keyword(),
                "`exclude` and `include` cannot be used together",
                "keep one list: `include` names every tracked field, `exclude` the untracked ones",
            );
            fields.iter().map(|field| (*field).clone()).collect()
        }
        (Some(excluded), None) => {
            check_listed(excluded, "exclude");
            for name in excluded.iter().filter(|name| primary_key.contains(name)) {
                cx.error_with_help(
                    name,
                    format!("cannot exclude primary key field `{name}`"),
                    "history records are matched to their row by the primary key",
                );
            }
            fields
                .iter()
                .filter(|field| !excluded.contains(field))
                .map(|field| (*field).clone())
                .collect()
        }
        (None, Some(included)) => {
            check_listed(included, "include");
            for key in primary_key.iter().filter(|key| !included.contains(key)) {
                cx.error_with_help(
                    attrs.include.keyword(),
                    format!("`include` leaves out primary key field `{key}`"),
                    format!("add `{key}` to the list: history records are matched to their row by the primary key"),
                );
            }
            // Declaration order, whatever the order of the list.
            fields
                .iter()
                .filter(|field| included.contains(field) || primary_key.contains(field))
                .map(|field| (*field).clone())
                .collect()
        }
        (None, None) => fields.iter().map(|field| (*field).clone()).collect(),
    }
}

/// The SQL type, migration column type and nullability of one tracked field.
fn field_types(cx: &Ctxt, ty: &Type, options: &FieldAttrs) -> (SqlType, ColumnType, bool) {
    let inner = types::option_inner(ty);
    let nullable = inner.is_some();
    let base = inner.unwrap_or(ty);
    let db_type = options.db_type.get().cloned().map(ColumnType::Raw);

    if let Some(sql_type) = options.sql_type.get() {
        let column_type = match (db_type, types::kind_of_sql_type(sql_type)) {
            (Some(raw), _) => raw,
            (None, Some(kind)) => ColumnType::Kind(kind),
            (None, None) => {
                cx.error_with_help(
                    sql_type,
                    "cannot tell the migration's column type for this SQL type",
                    "add `db_type = \"...\"` with the column type to create, as in `#[history(sql_type = MyType, db_type = \"TEXT\")]`",
                );
                ColumnType::Kind("Text")
            }
        };
        return (SqlType::Override(sql_type.clone()), column_type, nullable);
    }

    match types::map_rust_type(base) {
        Ok(mapped) => {
            let column_type = db_type.unwrap_or(ColumnType::Kind(mapped.kind));
            (SqlType::Mapped(mapped.sql_type), column_type, nullable)
        }
        Err(unmapped) => {
            match unmapped {
                Unmapped::NeedsFeature(feature) => cx.error_with_help(
                    base,
                    format!("this type needs the `{feature}` feature of history-diesel"),
                    format!("enable it: `history-diesel = {{ version = \"...\", features = [\"{feature}\"] }}`"),
                ),
                Unmapped::Lookalike(paths) => cx.error_with_help(
                    base,
                    "cannot map this type to a Diesel SQL type: its last segment names a type the derive knows, but not its path",
                    format!(
                        "if it is that type, write it as the derive knows it ({}); otherwise name the column's SQL type, as in its `table!`: `#[history(sql_type = diesel::sql_types::Text)]`",
                        known_spellings(paths)
                    ),
                ),
                Unmapped::Unknown => cx.error_with_help(
                    base,
                    "cannot map this type to a Diesel SQL type",
                    "name the column's SQL type, as in its `table!`: `#[history(sql_type = diesel::sql_types::Text)]`",
                ),
            }
            (
                SqlType::Mapped(quote!()),
                ColumnType::Kind("Text"),
                nullable,
            )
        }
    }
}

/// `String`, `std::string::String`, `alloc::string::String`: the bare name
/// first, as most users write it.
fn known_spellings(paths: &[&str]) -> String {
    let bare = paths[0].rsplit("::").next().unwrap_or(paths[0]);
    std::iter::once(bare)
        .chain(paths.iter().copied().filter(|path| *path != bare))
        .map(|path| format!("`{path}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Field {
    /// The span user errors about this field's type point at.
    pub fn type_span(&self) -> proc_macro2::Span {
        match &self.sql_type {
            SqlType::Override(ty) => ty.span(),
            SqlType::Mapped(_) => self.ty.span(),
        }
    }
}
