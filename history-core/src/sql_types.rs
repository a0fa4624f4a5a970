//! Bridges between history columns and the Rust types users see.
//!
//! `history_date` is a `chrono::DateTime<Utc>` in Rust on every backend, and a
//! column without time zone in SQL (`TIMESTAMP`, `DATETIME(6)` on MySQL) that
//! always holds UTC, so its Diesel SQL type is plain `Timestamp`. Diesel maps
//! `DateTime<Utc>` only to zone-aware types, which differ per backend, and a
//! foreign type cannot get Diesel's `AsExpression` from outside Diesel; so the
//! generated struct converts through [`UtcTimestamp`] with
//! `#[diesel(deserialize_as, serialize_as)]`. Filters on the column take a
//! `NaiveDateTime` in UTC: `history_date.le(t.naive_utc())`.
//!
//! Values are cut to whole microseconds on the way in, the precision every
//! backend stores, so what is read back equals what was written.
//!
//! `history_client_ip` (`#[history(request_info)]`) is a
//! `std::net::IpAddr` in Rust on every backend, stored as PostgreSQL's
//! `INET` and as text elsewhere: its SQL type is [`ClientIp`].

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Timestamp;

/// A UTC instant at microsecond precision, stored as a `Timestamp`.
///
/// Used by the generated code for `history_date`; convert with `From`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Timestamp)]
pub struct UtcTimestamp(pub NaiveDateTime);

impl UtcTimestamp {
    /// The instant, cut to whole microseconds.
    pub fn new(at: DateTime<Utc>) -> Self {
        let naive = at.naive_utc();
        let micros = naive.nanosecond() / 1_000 * 1_000;
        UtcTimestamp(naive.with_nanosecond(micros).unwrap_or(naive))
    }
}

impl From<DateTime<Utc>> for UtcTimestamp {
    fn from(at: DateTime<Utc>) -> Self {
        UtcTimestamp::new(at)
    }
}

impl From<UtcTimestamp> for DateTime<Utc> {
    fn from(stored: UtcTimestamp) -> Self {
        stored.0.and_utc()
    }
}

impl<DB> ToSql<Timestamp, DB> for UtcTimestamp
where
    DB: Backend,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.0.to_sql(out)
    }
}

impl<DB> FromSql<Timestamp, DB> for UtcTimestamp
where
    DB: Backend,
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        NaiveDateTime::from_sql(bytes).map(UtcTimestamp)
    }
}

/// The SQL type this crate's own statements bind `history_date` values as:
/// `Timestamp` on SQLite and PostgreSQL, `Datetime` on MySQL.
///
/// The column is `DATETIME(6)` on MySQL, but Diesel sends a `Timestamp` as
/// MySQL's `TIMESTAMP`, and MariaDB applies that type's range (1970 to 2038)
/// to the value: a date outside it arrives as NULL, so a write fails with
/// "cannot be null" and a read compares with NULL and finds nothing. Sent as
/// `DATETIME`, every date of the column's range goes through.
#[derive(
    Debug, Clone, Copy, Default, diesel::query_builder::QueryId, diesel::sql_types::SqlType,
)]
pub struct HistoryDate;

#[allow(unused_macros)] // unused without a backend feature
macro_rules! history_date_as {
    ($backend:ty, $sql_type:ty) => {
        impl diesel::sql_types::HasSqlType<HistoryDate> for $backend {
            fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                <$backend as diesel::sql_types::HasSqlType<$sql_type>>::metadata(lookup)
            }
        }

        impl ToSql<HistoryDate, $backend> for UtcTimestamp {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, $backend>) -> serialize::Result {
                <NaiveDateTime as ToSql<$sql_type, $backend>>::to_sql(&self.0, out)
            }
        }
    };
}

#[cfg(feature = "sqlite")]
history_date_as!(diesel::sqlite::Sqlite, Timestamp);
#[cfg(feature = "postgres")]
history_date_as!(diesel::pg::Pg, Timestamp);
#[cfg(feature = "mysql")]
history_date_as!(diesel::mysql::Mysql, diesel::mysql::sql_types::Datetime);

pub use self::client_ip::{ClientIp, ClientIpValue};

mod client_ip {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use diesel::backend::Backend;
    use diesel::expression::AsExpression;
    use diesel::query_builder::QueryId;
    use diesel::serialize::{self, IsNull, Output, ToSql};
    use diesel::sql_types::SqlType;

    /// The SQL type of `history_client_ip` (`#[history(request_info)]`):
    /// `INET` on PostgreSQL, the address as text (`VARCHAR(45)`, `TEXT`) on
    /// MySQL and SQLite. Its Rust type is [`std::net::IpAddr`] on every
    /// backend. The column is nullable, so filters compare with an `Option`:
    /// `history_client_ip.eq(Some(ip))`.
    #[derive(Debug, Clone, Copy, Default, QueryId, SqlType)]
    pub struct ClientIp;

    /// A `history_client_ip` as the record struct inserts it
    /// (`#[diesel(serialize_as)]`); `None` binds NULL.
    ///
    /// Diesel's `Insertable` binds the value of an `Option<T>` field as a
    /// `T`, which needs `T: AsExpression<Nullable<ClientIp>>`: for `IpAddr`
    /// only Diesel or std could write that impl (Rust's orphan rule). So the
    /// record struct converts its `Option<IpAddr>` into this, which can have
    /// it. Filters need none of it: `history_client_ip.eq(Some(ip))` binds
    /// the `Option` itself.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression)]
    #[diesel(sql_type = ClientIp)]
    pub struct ClientIpValue(pub Option<IpAddr>);

    impl From<Option<IpAddr>> for ClientIpValue {
        fn from(ip: Option<IpAddr>) -> Self {
            ClientIpValue(ip)
        }
    }

    impl From<ClientIpValue> for Option<IpAddr> {
        fn from(value: ClientIpValue) -> Self {
            value.0
        }
    }

    /// Only ever bound to the nullable column (Diesel's derive binds
    /// `Nullable<ClientIp>` through this), so `None` may say NULL here.
    impl<DB> ToSql<ClientIp, DB> for ClientIpValue
    where
        DB: Backend,
        IpAddr: ToSql<ClientIp, DB>,
    {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
            match &self.0 {
                Some(ip) => ip.to_sql(out),
                None => Ok(IsNull::Yes),
            }
        }
    }

    /// PostgreSQL's address families in its binary `inet` format (its own
    /// numbering, `AF_INET` and `AF_INET` + 1, whatever the platform's).
    const PGSQL_AF_INET: u8 = 2;
    const PGSQL_AF_INET6: u8 = 3;

    /// PostgreSQL's binary `inet` value of one host address: family, prefix
    /// bits (the whole address), 0 (not `cidr`), address length, the bytes.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(super) fn inet_bytes(ip: &IpAddr) -> Vec<u8> {
        let (family, bits, octets) = match ip {
            IpAddr::V4(v4) => (PGSQL_AF_INET, 32, v4.octets().to_vec()),
            IpAddr::V6(v6) => (PGSQL_AF_INET6, 128, v6.octets().to_vec()),
        };
        let mut bytes = vec![family, bits, 0, octets.len() as u8];
        bytes.extend(octets);
        bytes
    }

    /// The address of a binary `inet` value. A netmask is dropped (an
    /// `inet` with one, `10.0.0.7/24`, still names the host `10.0.0.7`); a
    /// `cidr` value names a network, not an address, and is refused.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(super) fn inet_from_bytes(bytes: &[u8]) -> Result<IpAddr, String> {
        match bytes {
            [_, _, cidr, ..] if *cidr != 0 => Err(format!(
                "history_client_ip: a network (cidr), not an address: {bytes:?}"
            )),
            [PGSQL_AF_INET, bits, _, 4, a, b, c, d] if *bits <= 32 => {
                Ok(IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d)))
            }
            [PGSQL_AF_INET6, bits, _, 16, octets @ ..] if *bits <= 128 => {
                let octets: [u8; 16] = octets
                    .try_into()
                    .map_err(|_| format!("history_client_ip: not an inet value: {bytes:?}"))?;
                Ok(IpAddr::V6(Ipv6Addr::from(octets)))
            }
            _ => Err(format!("history_client_ip: not an inet value: {bytes:?}")),
        }
    }

    /// The address of the text form MySQL and SQLite store.
    #[cfg_attr(not(any(feature = "sqlite", feature = "mysql")), allow(dead_code))]
    pub(super) fn ip_from_text(text: &str) -> Result<IpAddr, String> {
        text.parse::<IpAddr>()
            .map_err(|err| format!("history_client_ip: {text:?} is not an IP address: {err}"))
    }

    #[cfg(feature = "postgres")]
    mod pg {
        use std::io::Write as _;
        use std::net::IpAddr;

        use diesel::deserialize::{self, FromSql};
        use diesel::pg::{Pg, PgTypeMetadata, PgValue};
        use diesel::serialize::{self, IsNull, Output, ToSql};
        use diesel::sql_types::{HasSqlType, Inet};

        use super::ClientIp;

        impl HasSqlType<ClientIp> for Pg {
            fn metadata(lookup: &mut Self::MetadataLookup) -> PgTypeMetadata {
                <Pg as HasSqlType<Inet>>::metadata(lookup)
            }
        }

        impl ToSql<ClientIp, Pg> for IpAddr {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(&super::inet_bytes(self))?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<ClientIp, Pg> for IpAddr {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                Ok(super::inet_from_bytes(value.as_bytes())?)
            }
        }
    }

    #[cfg(feature = "mysql")]
    mod mysql {
        use std::io::Write as _;
        use std::net::IpAddr;

        use diesel::deserialize::{self, FromSql};
        use diesel::mysql::{Mysql, MysqlType, MysqlValue};
        use diesel::serialize::{self, IsNull, Output, ToSql};
        use diesel::sql_types::{HasSqlType, Text};

        use super::ClientIp;

        impl HasSqlType<ClientIp> for Mysql {
            fn metadata(lookup: &mut ()) -> MysqlType {
                <Mysql as HasSqlType<Text>>::metadata(lookup)
            }
        }

        impl ToSql<ClientIp, Mysql> for IpAddr {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
                write!(out, "{self}")?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<ClientIp, Mysql> for IpAddr {
            fn from_sql(value: MysqlValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Mysql>>::from_sql(value)?;
                Ok(super::ip_from_text(&text)?)
            }
        }
    }

    #[cfg(feature = "sqlite")]
    mod sqlite {
        use std::net::IpAddr;

        use diesel::deserialize::{self, FromSql};
        use diesel::serialize::{self, IsNull, Output, ToSql};
        use diesel::sql_types::{HasSqlType, Text};
        use diesel::sqlite::{Sqlite, SqliteType, SqliteValue};

        use super::ClientIp;

        impl HasSqlType<ClientIp> for Sqlite {
            fn metadata(lookup: &mut ()) -> SqliteType {
                <Sqlite as HasSqlType<Text>>::metadata(lookup)
            }
        }

        impl ToSql<ClientIp, Sqlite> for IpAddr {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.to_string());
                Ok(IsNull::No)
            }
        }

        impl FromSql<ClientIp, Sqlite> for IpAddr {
            fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
                Ok(super::ip_from_text(&text)?)
            }
        }
    }
}

#[cfg(feature = "uuid")]
pub use self::uuid_id::{HistoryUuid, UuidValue};

#[cfg(feature = "uuid")]
mod uuid_id {
    use diesel::deserialize::FromSqlRow;
    use diesel::expression::AsExpression;
    use diesel::query_builder::QueryId;
    use diesel::sql_types::SqlType;

    /// The SQL type of a UUID `history_id` (`#[history(history_id = uuid)]`):
    /// `UUID` on PostgreSQL, 16 bytes (`BLOB`, `BINARY(16)`) on SQLite and MySQL,
    /// where Diesel has no UUID type of its own.
    #[derive(Debug, Clone, Copy, Default, QueryId, SqlType)]
    pub struct HistoryUuid;

    /// A `uuid::Uuid` bound as [`HistoryUuid`]; filters on a UUID `history_id`
    /// take one: `history_id.eq(UuidValue(id))` (a `Uuid` binds as
    /// `HistoryUuid` too, but Diesel's `eq` needs an `AsExpression` type).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
    #[diesel(sql_type = HistoryUuid)]
    pub struct UuidValue(pub uuid::Uuid);

    impl From<uuid::Uuid> for UuidValue {
        fn from(id: uuid::Uuid) -> Self {
            UuidValue(id)
        }
    }

    impl From<UuidValue> for uuid::Uuid {
        fn from(value: UuidValue) -> Self {
            value.0
        }
    }

    /// SQLite and MySQL: the 16 bytes, through Diesel's `Binary`.
    macro_rules! uuid_as_bytes {
        ($backend:ty) => {
            impl diesel::sql_types::HasSqlType<HistoryUuid> for $backend {
                fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
                    <$backend as diesel::sql_types::HasSqlType<diesel::sql_types::Binary>>::metadata(lookup)
                }
            }

            impl diesel::serialize::ToSql<HistoryUuid, $backend> for uuid::Uuid {
                fn to_sql<'b>(
                    &'b self,
                    out: &mut diesel::serialize::Output<'b, '_, $backend>,
                ) -> diesel::serialize::Result {
                    <[u8] as diesel::serialize::ToSql<diesel::sql_types::Binary, $backend>>::to_sql(
                        self.as_bytes().as_slice(),
                        out,
                    )
                }
            }

            impl diesel::serialize::ToSql<HistoryUuid, $backend> for UuidValue {
                fn to_sql<'b>(
                    &'b self,
                    out: &mut diesel::serialize::Output<'b, '_, $backend>,
                ) -> diesel::serialize::Result {
                    <uuid::Uuid as diesel::serialize::ToSql<HistoryUuid, $backend>>::to_sql(&self.0, out)
                }
            }

            impl diesel::deserialize::FromSql<HistoryUuid, $backend> for UuidValue {
                fn from_sql(
                    bytes: <$backend as diesel::backend::Backend>::RawValue<'_>,
                ) -> diesel::deserialize::Result<Self> {
                    let bytes = <Vec<u8> as diesel::deserialize::FromSql<
                        diesel::sql_types::Binary,
                        $backend,
                    >>::from_sql(bytes)?;
                    Ok(UuidValue(uuid::Uuid::from_slice(&bytes)?))
                }
            }
        };
    }

    #[cfg(feature = "sqlite")]
    uuid_as_bytes!(diesel::sqlite::Sqlite);
    #[cfg(feature = "mysql")]
    uuid_as_bytes!(diesel::mysql::Mysql);

    #[cfg(feature = "postgres")]
    mod pg {
        use super::{HistoryUuid, UuidValue};
        use diesel::deserialize::{self, FromSql};
        use diesel::pg::{Pg, PgTypeMetadata, PgValue};
        use diesel::serialize::{self, Output, ToSql};
        use diesel::sql_types::{HasSqlType, Uuid};

        impl HasSqlType<HistoryUuid> for Pg {
            fn metadata(lookup: &mut Self::MetadataLookup) -> PgTypeMetadata {
                <Pg as HasSqlType<Uuid>>::metadata(lookup)
            }
        }

        impl ToSql<HistoryUuid, Pg> for uuid::Uuid {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <uuid::Uuid as ToSql<Uuid, Pg>>::to_sql(self, out)
            }
        }

        impl ToSql<HistoryUuid, Pg> for UuidValue {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <uuid::Uuid as ToSql<Uuid, Pg>>::to_sql(&self.0, out)
            }
        }

        impl FromSql<HistoryUuid, Pg> for UuidValue {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                <uuid::Uuid as FromSql<Uuid, Pg>>::from_sql(value).map(UuidValue)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn client_ips_take_postgres_binary_inet_format_and_back() {
        use std::net::IpAddr;
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_ip::inet_bytes(&v4), [2, 32, 0, 4, 192, 0, 2, 7]);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let bytes = client_ip::inet_bytes(&v6);
        assert_eq!(bytes[..4], [3, 128, 0, 16]);
        assert_eq!(bytes.len(), 20);
        for ip in [v4, v6] {
            assert_eq!(
                client_ip::inet_from_bytes(&client_ip::inet_bytes(&ip)),
                Ok(ip)
            );
        }
        // An inet with a netmask names its host; a cidr and odd lengths are refused.
        assert_eq!(
            client_ip::inet_from_bytes(&[2, 24, 0, 4, 10, 0, 0, 7]),
            Ok("10.0.0.7".parse().unwrap())
        );
        assert!(client_ip::inet_from_bytes(&[2, 24, 1, 4, 10, 0, 0, 0]).is_err());
        assert!(client_ip::inet_from_bytes(&[2, 32, 0, 4, 10, 0, 0]).is_err());
        assert!(client_ip::inet_from_bytes(&[3, 128, 0, 16, 1]).is_err());
        assert!(client_ip::inet_from_bytes(&[]).is_err());
    }

    #[test]
    fn client_ips_read_from_text_or_say_what_they_found() {
        assert_eq!(client_ip::ip_from_text("::1"), Ok("::1".parse().unwrap()));
        let err = client_ip::ip_from_text("not an ip").unwrap_err();
        assert!(err.contains("\"not an ip\" is not an IP address"), "{err}");
    }

    #[test]
    fn cuts_to_microseconds_and_converts_back_to_utc() {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let stored = UtcTimestamp::from(at);
        let back: DateTime<Utc> = stored.into();
        assert_eq!(back.nanosecond(), 123_456_000);
        assert_eq!(back.timestamp(), at.timestamp());
    }
}
