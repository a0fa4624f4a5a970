//! The `#[derive(HistoricalRecords)]` macro.
//!
//! Use it through `history-diesel`, which re-exports it and documents the
//! generated items and the `#[history(...)]` attributes. This crate's own
//! layout follows the usual derive shape: `attr` turns tokens into typed
//! options, `model` applies defaults and validates them into a plain
//! `model::Model`, and `expand` turns a valid model into code.
#![forbid(unsafe_code)]

mod attr;
mod ctxt;
mod expand;
mod model;
mod symbol;
mod types;

use proc_macro::TokenStream;

/// Generates `Historical<Model>`, its Diesel `table!` and the trait impls that
/// link the model to its history. See the `history-diesel` documentation.
// `diesel` is registered too, so the derive also works beside Diesel derives
// that are not `Queryable` (or alone), the way Diesel's derives share it.
#[proc_macro_derive(HistoricalRecords, attributes(history, diesel))]
pub fn derive_historical_records(input: TokenStream) -> TokenStream {
    derive_historical_records_inner(input.into()).into()
}

/// The derive on `proc_macro2` tokens, so tests can expand it without a compiler run.
fn derive_historical_records_inner(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    match model::Model::from_input(&input) {
        Ok(model) => expand::expand(&model),
        Err(err) => expand::fallback(&input, err),
    }
}

#[cfg(test)]
mod tests;
