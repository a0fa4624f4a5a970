//! The Diesel `table!` of the history table.

use proc_macro2::TokenStream;
use quote::quote;

use super::{private, sql_type_alias};
use crate::attr::HistoryIdKind;
use crate::model::{Model, SqlType};
use crate::types;

pub fn history_table(model: &Model) -> TokenStream {
    let private = private();
    let Model {
        history_table,
        user_id_sql,
        ..
    } = model;

    // Overrides are resolved where the user wrote them, through an alias at
    // the model's level, and imported into the table module by name.
    let mut aliases = Vec::new();
    let mut imports = Vec::new();
    let columns = model.fields.iter().map(|field| {
        let column = &field.column;
        let sql_name = field
            .sql_name
            .as_ref()
            .map(|name| quote!(#[sql_name = #name]));
        let column = quote!(#sql_name #column);
        let sql_type = match &field.sql_type {
            SqlType::Mapped(mapped) => mapped.clone(),
            SqlType::Override(ty) => {
                let alias = sql_type_alias(model, field);
                aliases.push(quote! {
                    #[doc(hidden)]
                    #[allow(non_camel_case_types)]
                    type #alias = #ty;
                });
                imports.push(quote!(use super::#alias;));
                if types::is_nullable_sql_type(ty) {
                    // Already `Nullable<...>` as written.
                    return quote!(#column -> #alias,);
                }
                quote!(#alias)
            }
        };
        if field.nullable {
            quote!(#column -> ::diesel::sql_types::Nullable<#sql_type>,)
        } else {
            quote!(#column -> #sql_type,)
        }
    });
    let columns: Vec<TokenStream> = columns.collect();

    let history_id_sql = match model.history_id {
        HistoryIdKind::Integer => quote!(::diesel::sql_types::BigInt),
        HistoryIdKind::Uuid => quote!(#private::HistoryUuid),
    };
    let request_info = model.request_info.then(|| {
        quote! {
            history_client_ip -> ::diesel::sql_types::Nullable<#private::ClientIp>,
            history_user_agent -> ::diesel::sql_types::Nullable<::diesel::sql_types::Text>,
            history_request_id -> ::diesel::sql_types::Nullable<::diesel::sql_types::Text>,
        }
    });
    let schema = model.history_schema.as_ref().map(|schema| quote!(#schema.));
    let doc = format!(
        " The history table of `{}` (`#[derive(HistoricalRecords)]` on `{}`).",
        model.table_name, model.ident
    );

    quote! {
        #(#aliases)*

        ::diesel::table! {
            #(#imports)*

            #[doc = #doc]
            #schema #history_table (history_id) {
                history_id -> #history_id_sql,
                #(#columns)*
                history_date -> ::diesel::sql_types::Timestamp,
                history_type -> ::diesel::sql_types::Text,
                history_user_id -> ::diesel::sql_types::Nullable<#user_id_sql>,
                history_change_reason -> ::diesel::sql_types::Nullable<::diesel::sql_types::Text>,
                #request_info
            }
        }
    }
}
