//! The derive's output compiles without warnings where the user's module
//! shadows std names the generated code could otherwise pick up.
#![deny(warnings)]

use diesel::prelude::*;
use history_diesel::HistoricalRecords;

pub struct Result;
pub struct Option;
pub struct Some;
pub struct None;
pub struct Ok;
pub struct Err;
pub struct IpAddr;
pub struct String;

diesel::table! {
    widgets (id) {
        id -> Integer,
        name -> Text,
        size -> Nullable<Integer>,
    }
}

// With `request_info`, the record struct's address and text fields too.
#[derive(Queryable, Selectable, HistoricalRecords)]
#[diesel(table_name = widgets)]
#[history(request_info)]
pub struct Widget {
    pub id: i32,
    pub name: std::string::String,
    pub size: ::core::option::Option<i32>,
}

#[test]
fn expands_cleanly_with_std_names_shadowed() {
    let _shadows = (Result, Option, Some, None, Ok, Err, IpAddr, String);
    let widget = Widget {
        id: 1,
        name: "w".into(),
        size: ::core::option::Option::None,
    };
    assert_eq!(
        (widget.id, widget.name.as_str(), widget.size),
        (1, "w", ::core::option::Option::None)
    );
    let record = HistoricalWidget {
        history_id: 1,
        id: 1,
        name: "w".into(),
        size: ::core::option::Option::None,
        history_date: history_diesel::chrono::Utc::now(),
        history_type: history_diesel::HistoryType::Created,
        history_user_id: ::core::option::Option::None,
        history_change_reason: ::core::option::Option::None,
        history_client_ip: ::core::option::Option::Some(std::net::Ipv6Addr::LOCALHOST.into()),
        history_user_agent: ::core::option::Option::None,
        history_request_id: ::core::option::Option::Some("req".into()),
    };
    assert_eq!(record.clone(), record);
    assert_eq!(Widget::HISTORY_TABLE.history_table, "historical_widgets");

    let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
    let up = Widget::history_migration(history_diesel::Dialect::Sqlite).up;
    diesel::connection::SimpleConnection::batch_execute(&mut conn, &up).unwrap();
    diesel::insert_into(historical_widgets::table)
        .values(record.clone())
        .execute(&mut conn)
        .unwrap();
    let loaded: HistoricalWidget = historical_widgets::table
        .select(HistoricalWidget::as_select())
        .first(&mut conn)
        .unwrap();
    assert_eq!(loaded.name, record.name);
    assert_eq!(
        (loaded.history_client_ip, loaded.history_request_id),
        (record.history_client_ip, record.history_request_id)
    );
}
