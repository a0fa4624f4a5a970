::core::compile_error! {
    "unknown history attribute `unknown`\n\nhelp: expected one of `table_name`, `struct_name`, `exclude`, `include`, `user_id_type`, `history_id`, `change_reason`, `skip_unchanged`, `hooks`, `schema`, `history_schema`, `request_info`, `capture` or `require_user`"
}
::core::compile_error! {
    "`HistoricalRecords` needs the model's table\n\nhelp: add `#[diesel(table_name = your_table)]` naming the `table!` of this model"
}
::core::compile_error! {
    "cannot exclude primary key field `id`\n\nhelp: history records are matched to their row by the primary key"
}
::core::compile_error! {
    "`history_date` is a column every history table adds\n\nhelp: rename the field, or leave it out of history with `#[history(exclude(history_date))]`"
}
