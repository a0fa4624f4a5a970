//! Turns a valid [`Model`] into code. Never reports user errors: those were
//! all found while building the model.
//!
//! Runtime items are named through `::history_diesel::__private`, std items
//! by full path, and impls sit in `const _: () = { ... };`. The named items
//! (the record struct, the `table!` module) live at the top level, where the
//! user's code can reach them.

mod impls;
mod record;
mod table;
mod value;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{Field, Model};

pub fn expand(model: &Model) -> TokenStream {
    let record = record::record_struct(model);
    let table = table::history_table(model);
    let value = value::value_enum(model);
    let impls = impls::trait_impls(model);
    quote! {
        #record
        #value
        #table
        #impls
    }
}

/// What the derive emits when the input has errors: the errors alone. The
/// user's later uses of the generated names then fail too, but every message
/// about the attributes themselves comes first and all at once.
pub fn fallback(_input: &syn::DeriveInput, errors: syn::Error) -> TokenStream {
    errors.to_compile_error()
}

/// The name of the hidden alias that carries a `sql_type` override into the
/// `table!` module, where the user's relative paths would not resolve.
fn sql_type_alias(model: &Model, field: &Field) -> syn::Ident {
    format_ident!("__{}_{}_SqlType", model.history_struct, field.ident)
}

/// `::history_diesel::__private`
fn private() -> TokenStream {
    quote!(::history_diesel::__private)
}

#[cfg(not(test))]
fn serde_enabled() -> bool {
    cfg!(feature = "serde")
}

// The snapshots choose, so that they do not depend on which features the
// workspace build unifies.
#[cfg(test)]
thread_local! {
    pub(crate) static SERDE_IN_SNAPSHOTS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn serde_enabled() -> bool {
    SERDE_IN_SNAPSHOTS.with(std::cell::Cell::get)
}

/// With history-diesel's `serde` feature: the derives of `traits` (serde's
/// derive macros, through the private door) and the attribute that points
/// their output at the same door, so the user's crate needs no `serde` of
/// its own. Nothing without the feature.
fn serde_derives(traits: &[&str], extra: TokenStream) -> TokenStream {
    if !serde_enabled() {
        return TokenStream::new();
    }
    let private = private();
    let traits = traits.iter().map(|name| format_ident!("{name}"));
    // serde names its crate by a string path.
    let path = format!("{}::serde", private.to_string().replace(' ', ""));
    quote! {
        #[derive(#(#private::serde::#traits),*)]
        #[serde(crate = #path #extra)]
    }
}
