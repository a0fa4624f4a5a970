//! Maps field types to Diesel SQL types and to the SQL type family the
//! migration SQL is written from.
//!
//! Diesel's `table!` needs concrete SQL types: it rejects
//! `<orders::status as Expression>::SqlType`, so the derive maps the common
//! Rust types itself and takes `#[history(sql_type = ...)]` for the rest. A
//! compile-time check then compares every column with its source column.
//!
//! A macro sees paths, not types, so both maps are tables of the paths each
//! type is known by. A written path matches an entry when it is one of the
//! entry's full paths (a leading `::` allowed) or that path's last segment
//! alone, as written after a `use`. A longer path that merely ends in a known
//! name (`my::String`) is not taken for the known type: it may be the user's
//! own, and a wrong guess would put a wrong column type in the migration, so
//! it is refused with a help line naming the known spellings and `sql_type`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use syn::{GenericArgument, Path, PathArguments, Type};

/// What a Rust type maps to.
pub struct Mapped {
    /// The Diesel SQL type, non-null, by absolute path.
    pub sql_type: TokenStream,
    /// The `SqlKind` variant for the migration SQL.
    pub kind: &'static str,
}

/// Why a type could not be mapped.
#[derive(Debug, PartialEq)]
pub enum Unmapped {
    /// Not a type the derive knows.
    Unknown,
    /// Ends in a known type's name under a path the derive does not know:
    /// the known type's full paths, for the help line.
    Lookalike(&'static [&'static str]),
    /// Known, but only with this history-diesel feature.
    NeedsFeature(&'static str),
}

/// One Rust type the derive maps.
struct RustType {
    /// Its full paths; each one's last segment alone matches too.
    paths: &'static [&'static str],
    /// The one generic argument it must have (`Vec<u8>`, `DateTime<Utc>`),
    /// as that argument's full paths.
    argument: Option<&'static [&'static str]>,
    /// The `diesel::sql_types` item.
    sql_type: &'static str,
    /// The `SqlKind` variant.
    kind: &'static str,
    /// The history-diesel feature it needs, and whether this build has it.
    feature: Option<(&'static str, bool)>,
    /// The last segment alone is a name users give their own types
    /// (`Value`): without the feature, that spelling is an unknown type, not
    /// a request for the feature.
    common_name: bool,
}

impl RustType {
    const fn plain(
        paths: &'static [&'static str],
        sql_type: &'static str,
        kind: &'static str,
    ) -> Self {
        RustType {
            paths,
            argument: None,
            sql_type,
            kind,
            feature: None,
            common_name: false,
        }
    }
}

const U8: &[&str] = &["u8", "core::primitive::u8", "std::primitive::u8"];
const UTC: &[&str] = &["chrono::Utc", "chrono::offset::Utc"];

/// Every Rust type the derive maps, with its SQL type and family.
const RUST_TYPES: &[RustType] = &[
    RustType::plain(
        &["i8", "core::primitive::i8", "std::primitive::i8"],
        "TinyInt",
        "TinyInt",
    ),
    RustType::plain(
        &["i16", "core::primitive::i16", "std::primitive::i16"],
        "SmallInt",
        "SmallInt",
    ),
    RustType::plain(
        &["i32", "core::primitive::i32", "std::primitive::i32"],
        "Integer",
        "Integer",
    ),
    RustType::plain(
        &["i64", "core::primitive::i64", "std::primitive::i64"],
        "BigInt",
        "BigInt",
    ),
    RustType::plain(
        &["f32", "core::primitive::f32", "std::primitive::f32"],
        "Float",
        "Float",
    ),
    RustType::plain(
        &["f64", "core::primitive::f64", "std::primitive::f64"],
        "Double",
        "Double",
    ),
    RustType::plain(
        &["bool", "core::primitive::bool", "std::primitive::bool"],
        "Bool",
        "Bool",
    ),
    RustType::plain(
        &["std::string::String", "alloc::string::String"],
        "Text",
        "Text",
    ),
    RustType {
        argument: Some(U8),
        ..RustType::plain(&["std::vec::Vec", "alloc::vec::Vec"], "Binary", "Binary")
    },
    RustType::plain(
        &["chrono::NaiveDate", "chrono::naive::NaiveDate"],
        "Date",
        "Date",
    ),
    RustType::plain(
        &["chrono::NaiveTime", "chrono::naive::NaiveTime"],
        "Time",
        "Time",
    ),
    RustType::plain(
        &["chrono::NaiveDateTime", "chrono::naive::NaiveDateTime"],
        "Timestamp",
        "Timestamp",
    ),
    RustType {
        argument: Some(UTC),
        ..RustType::plain(&["chrono::DateTime"], "Timestamptz", "Timestamptz")
    },
    RustType {
        feature: Some(("uuid", cfg!(feature = "uuid"))),
        ..RustType::plain(&["uuid::Uuid"], "Uuid", "Uuid")
    },
    RustType {
        feature: Some(("serde_json", cfg!(feature = "serde_json"))),
        common_name: true,
        ..RustType::plain(
            &["serde_json::Value", "serde_json::value::Value"],
            "Json",
            "Json",
        )
    },
    RustType {
        feature: Some(("bigdecimal", cfg!(feature = "bigdecimal"))),
        ..RustType::plain(&["bigdecimal::BigDecimal"], "Numeric", "Numeric")
    },
];

/// Diesel's SQL types by family, under every name Diesel gives them.
const SQL_KINDS: &[(&str, &[&str])] = &[
    ("TinyInt", &["TinyInt", "Tinyint"]),
    ("SmallInt", &["SmallInt", "Smallint", "Int2", "SmallSerial"]),
    ("Integer", &["Integer", "Int4", "Serial"]),
    ("BigInt", &["BigInt", "Bigint", "Int8", "BigSerial"]),
    ("Float", &["Float", "Float4"]),
    ("Double", &["Double", "Float8"]),
    ("Bool", &["Bool"]),
    (
        "Text",
        &[
            "Text",
            "VarChar",
            "Varchar",
            "Char",
            "Bpchar",
            "Tinytext",
            "Mediumtext",
            "Longtext",
        ],
    ),
    (
        "Binary",
        &[
            "Binary",
            "Bytea",
            "Blob",
            "Tinyblob",
            "Mediumblob",
            "Longblob",
            "Varbinary",
        ],
    ),
    ("Date", &["Date"]),
    ("Time", &["Time"]),
    // MySQL's `Datetime` holds what a `Timestamp` holds.
    ("Timestamp", &["Timestamp", "Datetime"]),
    // SQLite's `Timestamptz` is re-exported as `TimestamptzSqlite`.
    ("Timestamptz", &["Timestamptz", "TimestamptzSqlite"]),
    ("Uuid", &["Uuid"]),
    ("Json", &["Json"]),
    ("Jsonb", &["Jsonb"]),
    ("Numeric", &["Numeric", "Decimal"]),
];

/// The modules Diesel declares or re-exports its SQL types in. Not every
/// name is in every module, but a path that does not exist fails to compile
/// anyway: only a path that exists and means another type could mislead.
const SQL_TYPE_MODULES: &[&str] = &[
    "diesel::sql_types",
    "diesel::pg::sql_types",
    "diesel::mysql::sql_types",
    "diesel::sqlite::sql_types",
];

const OPTION: &[&str] = &["core::option::Option", "std::option::Option"];
const NULLABLE: &[&str] = &["diesel::sql_types::Nullable"];

/// How a written path compares with a list of full paths.
#[derive(Debug, PartialEq)]
enum PathMatch {
    /// One of them, or one's last segment alone.
    Known,
    /// Several segments ending in one's last segment, under another prefix.
    Lookalike,
    /// Another name.
    Other,
}

/// `path`'s segments as written, without a leading `::` or generics.
fn segments(path: &Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

fn match_path(written: &[String], spellings: &[&str]) -> PathMatch {
    let written = written.join("::");
    let mut lookalike = false;
    for spelling in spellings {
        let last = spelling.rsplit("::").next().unwrap_or(spelling);
        if written == *spelling || written == last {
            return PathMatch::Known;
        }
        lookalike |= written.ends_with(&format!("::{last}"));
    }
    if lookalike {
        PathMatch::Lookalike
    } else {
        PathMatch::Other
    }
}

/// The path of a plain type path (no `<T as Trait>::` qualifier).
fn type_path(ty: &Type) -> Option<&Path> {
    match ty {
        Type::Path(path) if path.qself.is_none() => Some(&path.path),
        _ => None,
    }
}

/// `Option<T>` → `Some(T)`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
    let path = type_path(ty)?;
    if match_path(&segments(path), OPTION) != PathMatch::Known {
        return None;
    }
    single_generic(&path.segments.last()?.arguments)
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

/// Whether `ty` is a plain path matching `spellings`, with no generics.
fn is_known_plain(ty: &Type, spellings: &[&str]) -> bool {
    type_path(ty).is_some_and(|path| {
        path.segments.iter().all(|s| s.arguments.is_none())
            && match_path(&segments(path), spellings) == PathMatch::Known
    })
}

/// Maps a non-`Option` Rust type.
pub fn map_rust_type(ty: &Type) -> Result<Mapped, Unmapped> {
    let path = type_path(ty).ok_or(Unmapped::Unknown)?;
    let last = path.segments.last().ok_or(Unmapped::Unknown)?;
    let written = segments(path);
    let mut lookalike = None;
    for known in RUST_TYPES {
        match match_path(&written, known.paths) {
            PathMatch::Known => {}
            PathMatch::Lookalike => {
                lookalike = lookalike.or(Some(known.paths));
                continue;
            }
            PathMatch::Other => continue,
        }
        let arguments_match = match known.argument {
            None => last.arguments.is_none(),
            Some(argument) => {
                single_generic(&last.arguments).is_some_and(|inner| is_known_plain(inner, argument))
            }
        };
        if !arguments_match {
            continue;
        }
        return match known.feature {
            Some((_, false)) if known.common_name && written.len() == 1 => Err(Unmapped::Unknown),
            Some((feature, false)) => Err(Unmapped::NeedsFeature(feature)),
            _ => {
                let sql = Ident::new(known.sql_type, Span::call_site());
                Ok(Mapped {
                    sql_type: quote!(::diesel::sql_types::#sql),
                    kind: known.kind,
                })
            }
        };
    }
    Err(lookalike.map_or(Unmapped::Unknown, Unmapped::Lookalike))
}

/// The `SqlKind` of a Diesel SQL type written by the user (`Nullable<...>`
/// unwrapped), by its name in Diesel, bare or under one of Diesel's SQL type
/// modules. Any other path, even one ending in a Diesel name, is `None`.
pub fn kind_of_sql_type(ty: &Type) -> Option<&'static str> {
    let path = type_path(ty)?;
    let last = path.segments.last()?;
    let written = segments(path);
    if match_path(&written, NULLABLE) == PathMatch::Known {
        return kind_of_sql_type(single_generic(&last.arguments)?);
    }
    if !last.arguments.is_none() {
        return None;
    }
    let module = &written[..written.len() - 1];
    if !module.is_empty() && !SQL_TYPE_MODULES.contains(&module.join("::").as_str()) {
        return None;
    }
    let name = last.ident.to_string();
    SQL_KINDS
        .iter()
        .find(|(_, names)| names.contains(&name.as_str()))
        .map(|(kind, _)| *kind)
}

/// Whether a user-written SQL type is already `Nullable<...>`.
pub fn is_nullable_sql_type(ty: &Type) -> bool {
    type_path(ty).is_some_and(|path| match_path(&segments(path), NULLABLE) == PathMatch::Known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths_of(full: &str) -> &'static [&'static str] {
        RUST_TYPES
            .iter()
            .find(|known| known.paths.contains(&full))
            .unwrap()
            .paths
    }

    fn map(ty: Type) -> Result<(String, &'static str), Unmapped> {
        map_rust_type(&ty).map(|mapped| (mapped.sql_type.to_string().replace(' ', ""), mapped.kind))
    }

    #[test]
    fn a_full_path_and_its_bare_name_map_alike() {
        let text = Ok(("::diesel::sql_types::Text".to_owned(), "Text"));
        assert_eq!(map(syn::parse_quote!(String)), text);
        assert_eq!(map(syn::parse_quote!(std::string::String)), text);
        assert_eq!(map(syn::parse_quote!(::alloc::string::String)), text);
        let ts = Ok(("::diesel::sql_types::Timestamp".to_owned(), "Timestamp"));
        assert_eq!(map(syn::parse_quote!(NaiveDateTime)), ts);
        assert_eq!(map(syn::parse_quote!(chrono::naive::NaiveDateTime)), ts);
    }

    #[test]
    fn generic_arguments_are_matched_by_the_same_rule() {
        for ty in [
            syn::parse_quote!(DateTime<Utc>),
            syn::parse_quote!(chrono::DateTime<chrono::Utc>),
            syn::parse_quote!(DateTime<chrono::offset::Utc>),
        ] {
            assert_eq!(map(ty).map(|m| m.1), Ok("Timestamptz"));
        }
        assert_eq!(map(syn::parse_quote!(Vec<u8>)).map(|m| m.1), Ok("Binary"));
        assert_eq!(
            map(syn::parse_quote!(std::vec::Vec<core::primitive::u8>)).map(|m| m.1),
            Ok("Binary")
        );
        assert_eq!(map(syn::parse_quote!(Vec<i32>)), Err(Unmapped::Unknown));
        assert_eq!(
            map(syn::parse_quote!(DateTime<Local>)),
            Err(Unmapped::Unknown)
        );
        assert_eq!(
            map(syn::parse_quote!(DateTime<my::Utc>)),
            Err(Unmapped::Unknown)
        );
        assert_eq!(map(syn::parse_quote!(String<u8>)), Err(Unmapped::Unknown));
    }

    #[test]
    fn a_known_name_under_another_path_is_refused() {
        let string = Err(Unmapped::Lookalike(paths_of("std::string::String")));
        assert_eq!(map(syn::parse_quote!(my::String)), string);
        assert_eq!(map(syn::parse_quote!(crate::types::String)), string);
        assert!(matches!(
            map(syn::parse_quote!(time::NaiveDate)),
            Err(Unmapped::Lookalike(_))
        ));
        assert_eq!(map(syn::parse_quote!(Strings)), Err(Unmapped::Unknown));
        assert_eq!(
            map(syn::parse_quote!(string::Strings)),
            Err(Unmapped::Unknown)
        );
        assert_eq!(
            map(syn::parse_quote!(<T as Tr>::String)),
            Err(Unmapped::Unknown)
        );
    }

    #[test]
    fn feature_gated_types_follow_the_build() {
        let uuid = map(syn::parse_quote!(uuid::Uuid));
        if cfg!(feature = "uuid") {
            assert_eq!(uuid.map(|m| m.1), Ok("Uuid"));
        } else {
            assert_eq!(uuid, Err(Unmapped::NeedsFeature("uuid")));
        }
        // A bare `Value` is as likely the user's own type as serde_json's.
        let value = map(syn::parse_quote!(Value));
        if cfg!(feature = "serde_json") {
            assert_eq!(value.map(|m| m.1), Ok("Json"));
        } else {
            assert_eq!(value, Err(Unmapped::Unknown));
            assert_eq!(
                map(syn::parse_quote!(serde_json::Value)),
                Err(Unmapped::NeedsFeature("serde_json"))
            );
        }
    }

    #[test]
    fn option_is_matched_by_its_paths() {
        let inner = |ty: Type| option_inner(&ty).is_some();
        assert!(inner(syn::parse_quote!(Option<i32>)));
        assert!(inner(syn::parse_quote!(::core::option::Option<i32>)));
        assert!(!inner(syn::parse_quote!(my::Option<i32>)));
        assert!(!inner(syn::parse_quote!(Options<i32>)));
    }

    #[test]
    fn sql_type_kinds_by_diesel_name_and_module() {
        let kind = |ty: Type| kind_of_sql_type(&ty);
        assert_eq!(kind(syn::parse_quote!(Jsonb)), Some("Jsonb"));
        assert_eq!(
            kind(syn::parse_quote!(diesel::sql_types::VarChar)),
            Some("Text")
        );
        assert_eq!(
            kind(syn::parse_quote!(::diesel::mysql::sql_types::Datetime)),
            Some("Timestamp")
        );
        assert_eq!(
            kind(syn::parse_quote!(
                diesel::sql_types::Nullable<diesel::pg::sql_types::Bytea>
            )),
            Some("Binary")
        );
        assert_eq!(kind(syn::parse_quote!(schema::sql_types::Text)), None);
        assert_eq!(kind(syn::parse_quote!(Texts)), None);
        assert!(is_nullable_sql_type(&syn::parse_quote!(Nullable<Text>)));
        assert!(!is_nullable_sql_type(&syn::parse_quote!(
            my::Nullable<Text>
        )));
    }
}
