//! PostgreSQL's bulk insert values: one array bind per column.
//!
//! Diesel's multi-row `VALUES` carries one bind per value, so a batch of
//! 500 rows of ten columns is a 5,000-bind statement whose text changes with
//! the batch size; Diesel does not cache it (its `DEFAULT` may differ per
//! row), and PostgreSQL parses and plans it again for every batch.
//! `INSERT INTO t (a, b) SELECT * FROM unnest($1, $2)` carries one array per
//! column instead: the same text for every batch size, prepared once per
//! connection.
//!
//! The arrays are built from the binds Diesel serializes for the rows (its
//! own `ToSql` of each value) in PostgreSQL's binary array format, so every
//! value reaches the table exactly as a `VALUES` list would send it. Rows
//! that cannot be sent so keep Diesel's `VALUES`: a row that leaves a field
//! to `DEFAULT` (there is no per-element `DEFAULT` in an array), a value
//! given as an SQL expression, and a type whose OID is looked up at run time
//! (an enum of the database's own; the lookup needs the connection, which
//! the rows do not have when they are cut into statements).

use diesel::insertable::InsertValues;
use diesel::pg::{Pg, PgMetadataLookup, PgQueryBuilder, PgTypeMetadata};
use diesel::query_builder::bind_collector::RawBytesBindCollector;
use diesel::query_builder::{AstPass, QueryBuilder, QueryFragment, QueryId, ValuesClause};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Array, HasSqlType};
use diesel::{QueryResult, Table};

/// `(columns) SELECT * FROM unnest($1, ..)` when every row binds every
/// column as a value ([`ColumnArrays`]), else Diesel's own multi-row
/// `(columns) VALUES (..), (..)`.
pub struct PgRows<V, T> {
    rows: Vec<ValuesClause<V, T>>,
    arrays: Option<ColumnArrays>,
}

impl<V: InsertValues<Pg, T>, T: Table> PgRows<V, T> {
    pub(crate) fn new(rows: Vec<ValuesClause<V, T>>) -> Self {
        let arrays = ColumnArrays::of(&rows);
        PgRows { rows, arrays }
    }
}

impl<V: InsertValues<Pg, T>, T: Table> QueryFragment<Pg> for PgRows<V, T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let Some(arrays) = &self.arrays else {
            // Diesel's multi-row VALUES: the first row renders the column
            // list and its values, the others their values.
            for (i, row) in self.rows.iter().enumerate() {
                if i == 0 {
                    row.walk_ast(out.reborrow())?;
                } else {
                    out.push_sql(", (");
                    row.values.walk_ast(out.reborrow())?;
                    out.push_sql(")");
                }
            }
            return Ok(());
        };
        out.push_sql("(");
        self.rows[0].values.column_names(out.reborrow())?;
        out.push_sql(") SELECT * FROM unnest(");
        for (i, column) in arrays.columns.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            (column.push)(&mut out, &column.array)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

impl<V, T> QueryId for PgRows<V, T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// The rows' values, one binary array per column, in column order.
struct ColumnArrays {
    columns: Vec<ColumnArray>,
}

/// One column's array and the function that binds it as `element[]`.
struct ColumnArray {
    array: RawArray,
    push: PushArray,
}

impl ColumnArrays {
    /// The arrays of `rows`, or `None` when some value is not a plain bind
    /// of a type whose OID is known without a connection.
    fn of<V: InsertValues<Pg, T>, T: Table>(rows: &[ValuesClause<V, T>]) -> Option<Self> {
        let first = rows.first()?;
        if first.values.is_noop(&Pg).ok()? {
            return None;
        }
        // Every value of a row a plain bind: its text is `$1, $2, ..`, one
        // placeholder per bind. Rows of one type differ only in which fields
        // they leave to DEFAULT, so every row must render the first's text.
        let text = |row: &ValuesClause<V, T>| {
            let mut sql = PgQueryBuilder::default();
            row.values.to_sql(&mut sql, &Pg).ok()?;
            Some(sql.finish())
        };
        let shape = text(first)?;
        let width = shape.split(", ").count();
        let placeholders = (1..=width).map(|i| format!("${i}")).collect::<Vec<_>>();
        if shape != placeholders.join(", ") {
            return None;
        }
        let mut lookup = KnownTypesOnly { asked: false };
        let mut binds = RawBytesBindCollector::<Pg>::new();
        for row in rows {
            let before = binds.binds.len();
            row.values
                .collect_binds(&mut binds, &mut lookup, &Pg)
                .ok()?;
            if binds.binds.len() - before != width || text(row)? != shape {
                return None;
            }
        }
        if lookup.asked {
            return None;
        }
        let columns = (0..width)
            .map(|column| {
                let element = &binds.metadata[column];
                let push = push_for(element)?;
                let values = binds.binds[column..].iter().step_by(width);
                Some(ColumnArray {
                    array: RawArray::new(element.oid().ok()?, values, rows.len())?,
                    push,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ColumnArrays { columns })
    }
}

/// A metadata lookup that knows no type: it marks that one was asked for,
/// and the rows keep their `VALUES`. Diesel's built-in types carry their
/// OIDs and never ask.
struct KnownTypesOnly {
    asked: bool,
}

impl PgMetadataLookup for KnownTypesOnly {
    fn lookup_type(&mut self, _type_name: &str, _schema: Option<&str>) -> PgTypeMetadata {
        self.asked = true;
        PgTypeMetadata::new(0, 0)
    }
}

/// Binds one array as `element[]`.
type PushArray = for<'a, 'b> fn(&mut AstPass<'a, 'b, Pg>, &'b RawArray) -> QueryResult<()>;

fn push_array<'b, E: 'static>(out: &mut AstPass<'_, 'b, Pg>, array: &'b RawArray) -> QueryResult<()>
where
    Pg: HasSqlType<E>,
{
    out.push_bind_param::<Array<E>, RawArray>(array)
}

/// The element types an array may hold: Diesel's PostgreSQL types with an
/// OID of their own, matched by the metadata their binds carry. The
/// statement's parameter types are then Diesel's `Array<element>`.
macro_rules! element_types {
    ($($ty:path),* $(,)?) => {
        fn push_for(element: &PgTypeMetadata) -> Option<PushArray> {
            let mut lookup = KnownTypesOnly { asked: false };
            $(
                if <Pg as HasSqlType<$ty>>::metadata(&mut lookup) == *element {
                    return Some(push_array::<$ty>);
                }
            )*
            None
        }
    };
}

element_types!(
    diesel::sql_types::Bool,
    diesel::sql_types::SmallInt,
    diesel::sql_types::Integer,
    diesel::sql_types::BigInt,
    diesel::sql_types::Float,
    diesel::sql_types::Double,
    diesel::sql_types::Numeric,
    diesel::sql_types::Text,
    diesel::sql_types::Binary,
    diesel::sql_types::Date,
    diesel::sql_types::Time,
    diesel::sql_types::Timestamp,
    diesel::sql_types::Interval,
    diesel::sql_types::Json,
    diesel::sql_types::Jsonb,
    diesel::pg::sql_types::Timestamptz,
    diesel::pg::sql_types::Uuid,
    diesel::pg::sql_types::Money,
    diesel::pg::sql_types::MacAddr,
    diesel::pg::sql_types::Inet,
    diesel::pg::sql_types::Cidr,
    diesel::pg::sql_types::Oid,
    diesel::pg::sql_types::CChar,
);

/// A one-dimensional array in PostgreSQL's binary format (`array_recv`):
/// dimensions, a has-NULL flag, the element OID, the length and lower bound
/// (1), then each element as its length and bytes, or length -1 for NULL.
pub struct RawArray(Vec<u8>);

impl RawArray {
    fn new<'v>(
        element: u32,
        values: impl Iterator<Item = &'v Option<Vec<u8>>> + Clone,
        len: usize,
    ) -> Option<Self> {
        let has_null = values.clone().any(Option::is_none);
        let bytes: usize = values.clone().flatten().map(Vec::len).sum();
        let mut out = Vec::with_capacity(20 + 4 * len + bytes);
        out.extend_from_slice(&1_i32.to_be_bytes());
        out.extend_from_slice(&i32::from(has_null).to_be_bytes());
        out.extend_from_slice(&element.to_be_bytes());
        out.extend_from_slice(&i32::try_from(len).ok()?.to_be_bytes());
        out.extend_from_slice(&1_i32.to_be_bytes());
        for value in values {
            match value {
                Some(value) => {
                    out.extend_from_slice(&i32::try_from(value.len()).ok()?.to_be_bytes());
                    out.extend_from_slice(value);
                }
                None => out.extend_from_slice(&(-1_i32).to_be_bytes()),
            }
        }
        Some(RawArray(out))
    }
}

impl<E> ToSql<Array<E>, Pg> for RawArray {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        std::io::Write::write_all(out, &self.0)?;
        Ok(IsNull::No)
    }
}

impl std::fmt::Debug for RawArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawArray({} bytes)", self.0.len())
    }
}
