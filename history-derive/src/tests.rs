//! Expansion snapshots: every change to the generated code shows in review as
//! a diff of `tests/expand/*.rs`. Bless an intended change with
//! `HISTORY_BLESS=1 cargo test -p history-derive`.
//!
//! The cases use no feature-gated type, and choose whether the `serde`
//! derives are emitted, so the snapshots are the same whichever features the
//! workspace build turns on.

use std::path::PathBuf;

use quote::quote;

use crate::derive_historical_records_inner;

fn check_snapshot(name: &str, input: proc_macro2::TokenStream) {
    let output = derive_historical_records_inner(input);
    let file: syn::File = syn::parse2(output.clone())
        .unwrap_or_else(|err| panic!("{name}: expansion is not a valid file: {err}\n{output}"));
    let pretty = prettyplease::unparse(&file);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expand")
        .join(format!("{name}.rs"));
    if std::env::var_os("HISTORY_BLESS").is_some() {
        std::fs::write(&path, &pretty).unwrap();
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}; bless with HISTORY_BLESS=1", path.display()));
    assert_eq!(
        stored, pretty,
        "expansion of `{name}` changed; bless with HISTORY_BLESS=1 if intended"
    );
}

#[test]
fn expands_serde_derives_through_the_private_door() {
    crate::expand::SERDE_IN_SNAPSHOTS.with(|serde| serde.set(true));
    check_snapshot(
        "serde",
        quote! {
            #[derive(Queryable, HistoricalRecords)]
            #[diesel(table_name = orders)]
            pub struct Order {
                pub id: i32,
                pub status: String,
            }
        },
    );
    crate::expand::SERDE_IN_SNAPSHOTS.with(|serde| serde.set(false));
}

#[test]
fn expands_a_model_with_an_excluded_field() {
    check_snapshot(
        "exclude",
        quote! {
            #[derive(Queryable, HistoricalRecords)]
            #[diesel(table_name = orders)]
            #[history(exclude(internal_notes))]
            pub struct Order {
                pub id: i32,
                pub status: String,
                pub total: f64,
                pub internal_notes: String,
                pub note: Option<String>,
            }
        },
    );
}

#[test]
fn expands_every_option() {
    check_snapshot(
        "options",
        quote! {
            #[derive(HistoricalRecords)]
            #[diesel(table_name = crate::schema::line_items, primary_key(order_id))]
            #[history(
                table_name = line_item_versions,
                struct_name = LineItemVersion,
                include(order_id, position, sku, payload),
                user_id_type = String,
                change_reason = text
            )]
            pub(crate) struct LineItem {
                pub order_id: i32,
                pub position: i16,
                #[diesel(column_name = stock_code)]
                #[history(db_type = "VARCHAR(32)")]
                pub sku: String,
                #[history(sql_type = diesel::sql_types::Jsonb, db_type = "JSONB")]
                pub payload: MyJson,
                pub untracked: bool,
            }
        },
    );
}

#[test]
fn expands_a_model_that_keeps_where_changes_came_from() {
    check_snapshot(
        "request_info",
        quote! {
            #[derive(Queryable, HistoricalRecords)]
            #[diesel(table_name = tickets)]
            #[history(request_info)]
            pub struct Ticket {
                pub id: i32,
                pub title: String,
            }
        },
    );
}

#[test]
fn expands_errors_to_compile_errors_only() {
    check_snapshot(
        "errors",
        quote! {
            #[derive(HistoricalRecords)]
            #[history(exclude(id), unknown = 1)]
            pub struct Broken {
                pub id: i32,
                pub history_date: String,
            }
        },
    );
}

/// The `n`th name `push_row_names` pushes is the column of the `n`th field
/// `push_row_values` binds, a renamed field included: the runtime writes
/// `(names) VALUES (values)` from the two.
#[test]
fn row_names_and_row_values_come_in_one_order() {
    let output = derive_historical_records_inner(quote! {
        #[derive(HistoricalRecords)]
        #[diesel(table_name = items)]
        pub struct Item {
            pub id: i32,
            #[diesel(column_name = stock_code)]
            pub sku: String,
            pub price: f64,
        }
    });
    let text = output.to_string();
    let body = |name: &str| {
        let start = text
            .find(name)
            .unwrap_or_else(|| panic!("no `{name}` in {text}"));
        let rest = &text[start..];
        &rest[..rest.find(":: core :: result :: Result :: Ok").unwrap()]
    };
    // Every `before ident` in a body, in order.
    let idents_after = |body: &str, before: &str| -> Vec<String> {
        body.split(before)
            .skip(1)
            .map(|rest| {
                let end = rest
                    .trim_start()
                    .find(|c: char| !c.is_alphanumeric() && c != '_');
                rest.trim_start()[..end.unwrap()].to_owned()
            })
            .collect()
    };
    let names = idents_after(body("fn push_row_names"), "< items ::");
    let binds = idents_after(body("fn push_row_values"), "& self .");
    assert_eq!(names, ["id", "stock_code", "price"]);
    assert_eq!(binds, ["id", "sku", "price"]);
}

#[test]
fn expands_a_model_in_trigger_capture() {
    check_snapshot(
        "trigger",
        quote! {
            #[derive(Queryable, HistoricalRecords)]
            #[diesel(table_name = orders)]
            #[history(capture = trigger, require_user, skip_unchanged)]
            pub struct Order {
                pub id: i32,
                pub status: String,
            }
        },
    );
}

#[test]
fn trigger_capture_refuses_hooks_and_unknown_modes() {
    check_snapshot(
        "trigger_errors",
        quote! {
            #[derive(Queryable, HistoricalRecords)]
            #[diesel(table_name = orders)]
            #[history(capture = trigger, hooks = AuditHooks)]
            pub struct Order {
                pub id: i32,
            }
        },
    );
    check_snapshot(
        "capture_unknown",
        quote! {
            #[derive(Queryable, HistoricalRecords)]
            #[diesel(table_name = orders)]
            #[history(capture = database, require_user = true)]
            pub struct Order {
                pub id: i32,
            }
        },
    );
}
