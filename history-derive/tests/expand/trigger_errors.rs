::core::compile_error! {
    "`hooks` cannot run with `capture = trigger`\n\nhelp: in trigger capture the database writes each record; set the user and reason in the `HistoryContext`, or keep `capture = client`"
}
