//! Serializable history (feature `serde`): records read back from each
//! database serialize with their fields in natural JSON types, come back
//! equal through `Deserialize`, and a diff is `{"field": [old, new]}`.

/// Test bodies for serialization; expanded inside `backend_suite!`, next to
/// its `connect()` and `create_tables()`.
macro_rules! serialization_suite {
    () => {
        mod serialization {
            use chrono::NaiveTime;
            use history_diesel::prelude::*;
            use history_diesel::HistoryType;
            use serde_json::json;

            use super::*;

            fn stored(conn: &mut Conn, written: &[HistoricalEveryType]) -> Vec<HistoricalEveryType> {
                for record in written {
                    diesel::insert_into(historical_every_types::table)
                        .values(record.clone())
                        .execute(&mut **conn)
                        .unwrap();
                }
                historical_every_types::table
                    .order(historical_every_types::history_id.asc())
                    .select(HistoricalEveryType::as_select())
                    .load(&mut **conn)
                    .unwrap()
            }

            fn first() -> HistoricalEveryType {
                HistoricalEveryType {
                    history_id: 0,
                    id: 1,
                    small: -3,
                    big: 1 << 40,
                    ratio: 1.5,
                    amount: 12.25,
                    active: true,
                    name: "<b>naïve</b> \"quoted\"".into(),
                    payload: vec![0, 255],
                    day: date(22),
                    clock: NaiveTime::from_hms_micro_opt(13, 14, 15, 123_456).unwrap(),
                    stamp: at(22, 9, 654_321).naive_utc(),
                    note: None,
                    rank: Some(7),
                    seen_at: None,
                    label: "shown".into(),
                    history_date: at(22, 10, 1),
                    history_type: HistoryType::Created,
                    history_user_id: Some(42),
                    history_change_reason: Some("import".into()),
                }
            }

            #[test]
            fn a_stored_record_serializes_in_natural_json_types_and_round_trips() {
                let mut conn = connect();
                create_tables(&mut conn);
                let loaded = stored(&mut conn, &[first()]);
                let value = serde_json::to_value(&loaded[0]).unwrap();
                assert_eq!(
                    value,
                    json!({
                        "history_id": loaded[0].history_id,
                        "id": 1,
                        "small": -3,
                        "big": 1_i64 << 40,
                        "ratio": 1.5,
                        "amount": 12.25,
                        "active": true,
                        "name": "<b>naïve</b> \"quoted\"",
                        "payload": [0, 255],
                        "day": "2026-11-22",
                        "clock": "13:14:15.123456",
                        "stamp": "2026-11-22T09:00:00.654321",
                        "note": null,
                        "rank": 7,
                        "seen_at": null,
                        "label": "shown",
                        "history_date": "2026-11-22T10:00:00.000001Z",
                        "history_type": "+",
                        "history_user_id": 42,
                        "history_change_reason": "import",
                    })
                );
                let back: HistoricalEveryType = serde_json::from_value(value).unwrap();
                assert_eq!(back, loaded[0]);
            }

            #[test]
            fn a_diff_serializes_as_old_and_new_per_changed_field() {
                let mut conn = connect();
                create_tables(&mut conn);
                let second = HistoricalEveryType {
                    note: Some("now set".into()),
                    rank: None,
                    active: false,
                    history_date: at(22, 10, 2),
                    history_type: HistoryType::Changed,
                    ..first()
                };
                let loaded = stored(&mut conn, &[first(), second]);
                let diff = loaded[1].diff_against(&loaded[0]).unwrap();
                assert_eq!(
                    serde_json::to_string(&diff).unwrap(),
                    r#"{"active":[true,false],"note":[null,"now set"],"rank":[7,null]}"#
                );
                assert_eq!(serde_json::to_value(&diff.changes[0].new).unwrap(), json!(false));
            }

            #[test]
            fn uuid_ids_text_users_and_client_addresses_serialize_as_strings() {
                let mut conn = connect();
                create_tables(&mut conn);
                let id = uuid::Uuid::new_v4();
                let tag = TagVersion {
                    history_id: id,
                    code: "alpha".into(),
                    label: "Alpha".into(),
                    history_date: at(22, 11, 0),
                    history_type: HistoryType::Deleted,
                    history_user_id: Some("alice@example.com".into()),
                    history_change_reason: None,
                };
                diesel::insert_into(tag_history::table)
                    .values(tag.clone())
                    .execute(&mut *conn)
                    .unwrap();
                let loaded: TagVersion = tag_history::table
                    .select(TagVersion::as_select())
                    .first(&mut *conn)
                    .unwrap();
                let value = serde_json::to_value(&loaded).unwrap();
                assert_eq!(value["history_id"], json!(id.to_string()));
                assert_eq!(value["history_type"], json!("-"));
                assert_eq!(value["history_user_id"], json!("alice@example.com"));
                assert_eq!(serde_json::from_value::<TagVersion>(value).unwrap(), tag);

                let ctx = HistoryContext::new()
                    .user(5)
                    .client_ip("2001:db8::7".parse().unwrap())
                    .request_id("req-7");
                let ticket = Ticket { id: 1, title: "Printer".into() };
                diesel::insert_into(tickets::table).values(&ticket).execute(&mut *conn).unwrap();
                ticket.save_with_history(&mut *conn, &ctx).unwrap();
                let records: Vec<HistoricalTicket> = ticket.history().load(&mut *conn).unwrap();
                let value = serde_json::to_value(&records[0]).unwrap();
                assert_eq!(value["history_client_ip"], json!("2001:db8::7"));
                assert_eq!(value["history_request_id"], json!("req-7"));
                assert_eq!(value["history_user_agent"], json!(null));
                assert_eq!(value["history_type"], json!("~"));
            }
        }
    };
}

pub(crate) use serialization_suite;
