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
    fn cuts_to_microseconds_and_converts_back_to_utc() {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let stored = UtcTimestamp::from(at);
        let back: DateTime<Utc> = stored.into();
        assert_eq!(back.nanosecond(), 123_456_000);
        assert_eq!(back.timestamp(), at.timestamp());
    }
}
