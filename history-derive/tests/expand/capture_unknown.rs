::core::compile_error! {
    "malformed history attribute `capture`: unknown capture `database`: expected `client` or `trigger`\n\nhelp: write it as `capture = trigger`"
}
::core::compile_error! {
    "malformed history attribute `require_user`\n\nhelp: write it as `require_user`"
}
