//! Maps field types to Diesel SQL types and to the SQL type family the
//! migration SQL is written from.
//!
//! Diesel's `table!` needs concrete SQL types: it rejects
//! `<orders::status as Expression>::SqlType`, so the derive maps the common
//! Rust types itself and takes `#[history(sql_type = ...)]` for the rest. A
//! compile-time check then compares every column with its source column.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, Type};

/// What a Rust type maps to.
pub struct Mapped {
    /// The Diesel SQL type, non-null, by absolute path.
    pub sql_type: TokenStream,
    /// The `SqlKind` variant for the migration SQL.
    pub kind: &'static str,
}

/// Why a type could not be mapped.
pub enum Unmapped {
    /// Not a type the derive knows.
    Unknown,
    /// Known, but only with this history-diesel feature.
    NeedsFeature(&'static str),
}

/// `Option<T>` → `Some(T)`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    single_generic(&last.arguments)
}

fn single_generic(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// Maps a non-`Option` Rust type.
pub fn map_rust_type(ty: &Type) -> Result<Mapped, Unmapped> {
    let Type::Path(path) = ty else {
        return Err(Unmapped::Unknown);
    };
    let Some(last) = path.path.segments.last() else {
        return Err(Unmapped::Unknown);
    };
    let generic = single_generic(&last.arguments);
    let name = last.ident.to_string();
    let (sql, kind) = match (name.as_str(), generic) {
        ("i8", None) => (quote!(TinyInt), "TinyInt"),
        ("i16", None) => (quote!(SmallInt), "SmallInt"),
        ("i32", None) => (quote!(Integer), "Integer"),
        ("i64", None) => (quote!(BigInt), "BigInt"),
        ("f32", None) => (quote!(Float), "Float"),
        ("f64", None) => (quote!(Double), "Double"),
        ("bool", None) => (quote!(Bool), "Bool"),
        ("String", None) => (quote!(Text), "Text"),
        ("Vec", Some(inner)) if is_ident(inner, "u8") => (quote!(Binary), "Binary"),
        ("NaiveDate", None) => (quote!(Date), "Date"),
        ("NaiveTime", None) => (quote!(Time), "Time"),
        ("NaiveDateTime", None) => (quote!(Timestamp), "Timestamp"),
        ("DateTime", Some(inner)) if is_ident(inner, "Utc") => (quote!(Timestamptz), "Timestamptz"),
        ("Uuid", None) if cfg!(feature = "uuid") => (quote!(Uuid), "Uuid"),
        ("Uuid", None) => return Err(Unmapped::NeedsFeature("uuid")),
        ("Value", None) if cfg!(feature = "serde_json") => (quote!(Json), "Json"),
        ("Value", None) if path_mentions(ty, "serde_json") => {
            return Err(Unmapped::NeedsFeature("serde_json"))
        }
        ("BigDecimal", None) if cfg!(feature = "bigdecimal") => (quote!(Numeric), "Numeric"),
        ("BigDecimal", None) => return Err(Unmapped::NeedsFeature("bigdecimal")),
        _ => return Err(Unmapped::Unknown),
    };
    Ok(Mapped {
        sql_type: quote!(::diesel::sql_types::#sql),
        kind,
    })
}

/// The `SqlKind` of a Diesel SQL type written by the user, from the last
/// segment of its path (`Nullable<...>` unwrapped), including Diesel's aliases.
pub fn kind_of_sql_type(ty: &Type) -> Option<&'static str> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident == "Nullable" {
        return kind_of_sql_type(single_generic(&last.arguments)?);
    }
    let kind = match last.ident.to_string().as_str() {
        "TinyInt" | "Tinyint" => "TinyInt",
        "SmallInt" | "Smallint" | "Int2" => "SmallInt",
        "Integer" | "Int4" => "Integer",
        "BigInt" | "Bigint" | "Int8" => "BigInt",
        "Float" | "Float4" => "Float",
        "Double" | "Float8" => "Double",
        "Bool" => "Bool",
        "Text" | "VarChar" | "Varchar" | "Char" | "Bpchar" => "Text",
        "Binary" | "Bytea" | "Blob" | "TinyBlob" | "MediumBlob" | "LongBlob" => "Binary",
        "Date" => "Date",
        "Time" => "Time",
        "Timestamp" | "Datetime" => "Timestamp",
        "Timestamptz" | "TimestamptzSqlite" => "Timestamptz",
        "Uuid" => "Uuid",
        "Json" => "Json",
        "Jsonb" => "Jsonb",
        "Numeric" | "Decimal" => "Numeric",
        _ => return None,
    };
    Some(kind)
}

/// Whether a user-written SQL type is already `Nullable<...>`.
pub fn is_nullable_sql_type(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.path.segments.last().is_some_and(|last| last.ident == "Nullable"))
}

fn is_ident(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none() && path.path.segments.last().is_some_and(|s| s.ident == name && s.arguments.is_none()))
}

fn path_mentions(ty: &Type, segment: &str) -> bool {
    matches!(ty, Type::Path(path) if path.path.segments.iter().any(|s| s.ident == segment))
}
