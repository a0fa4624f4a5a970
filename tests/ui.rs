//! Compile-fail tests for `#[derive(HistoricalRecords)]`: every mistake a
//! user can make in the derive input gets a clear message at the right token,
//! and one case that uses every option compiles.
//!
//! Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test -p history-tests --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    // One directory per kind of mistake; `ui/pass` holds the passing case.
    t.compile_fail("ui/attribute/*.rs");
    t.compile_fail("ui/shape/*.rs");
    t.compile_fail("ui/types/*.rs");
}
