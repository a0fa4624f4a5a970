//! The trait impls that link the model to its history, the static table
//! description, and the compile-time check of every column's SQL type.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;

use super::private;
use crate::attr::{Capture, ChangeReason, HistoryIdKind};
use crate::model::{ColumnType, Model};

pub fn trait_impls(model: &Model) -> TokenStream {
    let private = private();
    let Model {
        ident,
        history_struct,
        history_table,
        table_path,
        user_id_type,
        ..
    } = model;

    let key_fields: Vec<&crate::model::Field> = model
        .primary_key
        .iter()
        .filter_map(|column| model.fields.iter().find(|field| &field.column == column))
        .collect();
    let (id_type, key_value) = match key_fields.as_slice() {
        [field] => {
            let (ty, name) = (&field.ty, &field.ident);
            (
                quote!(#ty),
                quote!(::core::clone::Clone::clone(&self.#name)),
            )
        }
        fields => {
            let types = fields.iter().map(|field| &field.ty);
            let names = fields.iter().map(|field| &field.ident);
            (
                quote!((#(#types,)*)),
                quote!((#(::core::clone::Clone::clone(&self.#names),)*)),
            )
        }
    };
    let user_id_sql = &model.user_id_sql;
    let hooks = &model.hooks;
    let spec = table_spec(model);
    let history_id_type = match model.history_id {
        HistoryIdKind::Integer => quote!(i64),
        HistoryIdKind::Uuid => quote!(#private::Uuid),
    };

    // One call per column, spanned on the field, so a mismatch between the
    // model, its `table!` and the history table points at the field.
    let checks = model.fields.iter().map(|field| {
        let span = field.type_span();
        let column = respan(field.column.to_token_stream(), span);
        let history_table = respan(history_table.to_token_stream(), span);
        let table_path = respan(table_path.to_token_stream(), span);
        quote_spanned! {span=>
            #private::assert_same_sql_type::<#history_table::#column, #table_path::#column>();
        }
    });

    // Diesel's `table!` owns each column's SQL name (`#[sql_name]`, `r#`
    // dropped); the history column must have its source column's.
    let name_checks = model.fields.iter().map(|field| {
        let span = field.column.span();
        let column = respan(field.column.to_token_stream(), span);
        let history_table = respan(history_table.to_token_stream(), span);
        let table_path = respan(table_path.to_token_stream(), span);
        let message = format!(
            "the column of field `{}` has another SQL name in its `table!` (`#[sql_name = \"...\"]`): \
             give the history column the same with `#[history(sql_name = \"...\")]` on the field",
            field.ident
        );
        quote_spanned! {span=>
            const _: () = if !#private::same_name(
                <#history_table::#column as ::diesel::Column>::NAME,
                <#table_path::#column as ::diesel::Column>::NAME,
            ) {
                ::core::panic!(#message)
            };
        }
    });

    let schema_check = schema_check(model);
    let row_values = row_values(model);
    let value_enum = super::value::value_enum_ident(model);
    let field_names = model.fields.iter().map(|field| field.ident.to_string());
    let value_arms = model.fields.iter().enumerate().map(|(i, field)| {
        let (name, variant) = (&field.ident, super::value::variant_ident(field));
        quote! {
            #i => ::core::option::Option::Some(
                #value_enum::#variant(::core::clone::Clone::clone(&self.#name)),
            ),
        }
    });
    // The record holds the key fields under the model's names.
    let record_key = key_value.clone();
    let to_model = to_model(model);

    let same_query = table_path.get_ident().map(
        |source| quote!(::diesel::allow_tables_to_appear_in_same_query!(#source, #history_table);),
    );

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #private::HistoricalRecords for #ident {
                type Record = #history_struct;
                type Table = #table_path::table;
                type HistoryTable = #history_table::table;
                type Id = #id_type;
                type UserIdSqlType = #user_id_sql;
                type Hooks = #hooks;

                const HISTORY_TABLE: #private::HistoryTableSpec = #spec;

                fn history_key(&self) -> Self::Id {
                    #key_value
                }
            }

            #[automatically_derived]
            impl #private::HistoryRecord for #history_struct {
                type Model = #ident;
                type Id = #history_id_type;
                type UserId = #user_id_type;

                fn history_id(&self) -> &#history_id_type {
                    &self.history_id
                }

                fn history_date(&self) -> #private::DateTime<#private::Utc> {
                    self.history_date
                }

                fn history_type(&self) -> #private::HistoryType {
                    self.history_type
                }

                fn history_user_id(&self) -> ::core::option::Option<&#user_id_type> {
                    ::core::option::Option::as_ref(&self.history_user_id)
                }

                fn history_change_reason(&self) -> ::core::option::Option<&str> {
                    ::core::option::Option::as_deref(&self.history_change_reason)
                }

                type Value = #value_enum;

                const FIELDS: &'static [&'static str] = &[#(#field_names),*];

                fn field_value(&self, index: usize) -> ::core::option::Option<#value_enum> {
                    match index {
                        #(#value_arms)*
                        _ => ::core::option::Option::None,
                    }
                }

                fn object_id(&self) -> <#ident as #private::HistoricalRecords>::Id {
                    #record_key
                }

                fn to_model(&self, live: ::core::option::Option<&#ident>) -> #ident {
                    #to_model
                }
            }

            #row_values

            #[allow(dead_code)]
            fn __assert_history_columns_match_source_columns() {
                #(#checks)*
            }

            #(#name_checks)*
            #schema_check

            #same_query
        };
    }
}

fn table_spec(model: &Model) -> TokenStream {
    let private = private();
    let model_name = model.ident.to_string();
    let (table_path, history_table) = (&model.table_path, &model.history_table);
    // SQL names come from Diesel's `table!`s, which know `#[sql_name]`.
    let column_name =
        |table: TokenStream, column: &Ident| quote!(<#table::#column as ::diesel::Column>::NAME);
    let source_table = {
        let fallback = &model.table_name;
        quote!(#private::name_or(
            <#table_path::table as #private::TableSqlName>::NAME,
            #fallback,
        ))
    };
    let primary_key = model
        .primary_key
        .iter()
        .map(|key| column_name(quote!(#history_table), key));
    let history_table_name = model.history_table.unraw().to_string();
    let schema_name = |schema: &Option<Ident>| match schema {
        Some(schema) => {
            let schema = schema.unraw().to_string();
            quote!(::core::option::Option::Some(#schema))
        }
        None => quote!(::core::option::Option::None),
    };
    let (source_schema, history_schema) = (
        schema_name(&model.schema),
        schema_name(&model.history_schema),
    );
    let columns = model.fields.iter().map(|field| {
        let name = column_name(quote!(#history_table), &field.column);
        let ty = match &field.column_type {
            ColumnType::Kind(kind) => {
                let kind = Ident::new(kind, proc_macro2::Span::call_site());
                quote!(#private::ColumnType::Kind(#private::SqlKind::#kind))
            }
            ColumnType::Raw(raw) => quote!(#private::ColumnType::Raw(#raw)),
        };
        let nullable = field.nullable;
        let field_name = field.ident.unraw().to_string();
        let default = match &field.default {
            Some(default) => quote!(::core::option::Option::Some(#default)),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            #private::ColumnSpec {
                name: #name,
                ty: #ty,
                nullable: #nullable,
                field: #field_name,
                default: #default,
            }
        }
    });
    let history_id = match model.history_id {
        HistoryIdKind::Integer => quote!(Integer),
        HistoryIdKind::Uuid => quote!(Uuid),
    };
    let user_id = Ident::new(model.user_id_kind, proc_macro2::Span::call_site());
    let model_columns = model
        .model_fields
        .iter()
        .map(|field| column_name(quote!(#table_path), &field.column));
    let (skip_unchanged, request_info) = (model.skip_unchanged, model.request_info);
    let capture = match model.capture {
        Capture::Client => quote!(Client),
        Capture::Trigger => quote!(Trigger),
    };
    let require_user = model.require_user;
    let change_reason = match model.change_reason {
        ChangeReason::Varchar(len) => quote!(#private::ChangeReasonColumn::Varchar(#len)),
        ChangeReason::Text => quote!(#private::ChangeReasonColumn::Text),
    };
    quote! {
        #private::HistoryTableSpec {
            model: #model_name,
            source_table: #source_table,
            source_schema: #source_schema,
            history_table: #history_table_name,
            history_schema: #history_schema,
            primary_key: &[#(#primary_key),*],
            columns: &[#(#columns),*],
            history_id: #private::HistoryIdKind::#history_id,
            user_id: #private::SqlKind::#user_id,
            change_reason: #change_reason,
            model_columns: &[#(#model_columns),*],
            skip_unchanged: #skip_unchanged,
            request_info: #request_info,
            capture: #private::Capture::#capture,
            require_user: #require_user,
        }
    }
}

/// Diesel keeps a table's schema where a constant cannot read it, so the
/// model names it with `schema = ...`; this checks at compile time that it
/// does exactly when the `table!` is `schema.table`, so no statement can
/// reach a same-named table of the default schema.
fn schema_check(model: &Model) -> TokenStream {
    let private = private();
    let (ident, table_path) = (&model.ident, &model.table_path);
    let given = model.schema.is_some();
    let message = if given {
        format!("`#[history(schema = ...)]` names a schema, but the `table!` of `{ident}` has none")
    } else {
        format!(
            "the `table!` of `{ident}` is in a database schema (`schema.table`): \
             name it with `#[history(schema = ...)]` so its history statements reach that table"
        )
    };
    quote_spanned! {ident.span()=>
        const _: () = if <#table_path::table as #private::TableSchema>::QUALIFIED != #given {
            ::core::panic!(#message)
        };
    }
}

/// The same tokens, all pointing at `span`: a failed check then points at the
/// field's type rather than at wherever each name was written.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// `RowValues`: every model field's column name and its bind, with the
/// source column's SQL type, so a whole-row write (a bulk update's multi-row
/// upsert, a restore's insert) sends many rows in one statement on every
/// backend. Names and binds come out of one loop over the fields, so their
/// orders cannot drift apart.
fn row_values(model: &Model) -> TokenStream {
    let private = private();
    let Model {
        ident, table_path, ..
    } = model;
    let mut bounds = Vec::new();
    let mut names = Vec::new();
    let mut binds = Vec::new();
    for (i, field) in model.model_fields.iter().enumerate() {
        let (name, ty, column) = (&field.ident, &field.ty, &field.column);
        let sql = quote!(<#table_path::#column as ::diesel::Expression>::SqlType);
        bounds.push(quote! {
            __DB: ::diesel::sql_types::HasSqlType<#sql>,
            #ty: ::diesel::serialize::ToSql<#sql, __DB>,
        });
        let comma = (i > 0).then(|| quote!(__out.push_sql(", ");));
        names.push(quote! {
            #comma
            __out.push_identifier(<#table_path::#column as ::diesel::Column>::NAME)?;
        });
        binds.push(quote! {
            #comma
            __out.push_bind_param::<#sql, #ty>(&self.#name)?;
        });
    }
    quote! {
        #[automatically_derived]
        impl<__DB> #private::RowValues<__DB> for #ident
        where
            __DB: ::diesel::backend::Backend,
            #(#bounds)*
        {
            fn push_row_names(
                __out: &mut ::diesel::query_builder::AstPass<'_, '_, __DB>,
            ) -> ::diesel::QueryResult<()> {
                #(#names)*
                ::core::result::Result::Ok(())
            }

            fn push_row_values<'__b>(
                &'__b self,
                __out: &mut ::diesel::query_builder::AstPass<'_, '__b, __DB>,
            ) -> ::diesel::QueryResult<()> {
                #(#binds)*
                ::core::result::Result::Ok(())
            }
        }
    }
}

/// `to_model`: tracked fields from the record; left-out fields from the live
/// row when there is one, else their type's `Default` (spanned on the field,
/// so a type without `Default` is reported there).
fn to_model(model: &Model) -> TokenStream {
    let ident = &model.ident;
    let fields = model.model_fields.iter().map(|field| {
        let name = &field.ident;
        let tracked = model.fields.iter().any(|tracked| &tracked.ident == name);
        if tracked {
            quote!(#name: ::core::clone::Clone::clone(&self.#name),)
        } else {
            let ty = &field.ty;
            let default = quote_spanned! {syn::spanned::Spanned::span(&field.ty)=>
                <#ty as ::core::default::Default>::default()
            };
            quote! {
                #name: match live {
                    ::core::option::Option::Some(live) => ::core::clone::Clone::clone(&live.#name),
                    ::core::option::Option::None => #default,
                },
            }
        }
    });
    quote!(#ident { #(#fields)* })
}
