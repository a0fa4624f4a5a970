//! MySQL's create: which rows an `INSERT` created, so that exactly those are
//! read back and recorded.
//!
//! MySQL has no `RETURNING` (MariaDB's sends no result metadata for a
//! prepared statement, and Diesel prepares every statement), and
//! `LAST_INSERT_ID()` names only the first value `AUTO_INCREMENT` handed
//! out. So the keys come from the input where it binds them, and from
//! `AUTO_INCREMENT` where it leaves them to the database; an input whose keys
//! are neither is refused before the insert, never read back by a guess.

use std::marker::PhantomData;

use diesel::connection::LoadConnection;
use diesel::deserialize::FromSqlRow;
use diesel::dsl::AsSelect as SelectBy;
use diesel::expression::{QueryMetadata, Selectable};
use diesel::mysql::{Mysql, MysqlQueryBuilder, MysqlType};
use diesel::query_builder::bind_collector::RawBytesBindCollector;
use diesel::query_builder::{AstPass, QueryBuilder, QueryFragment, QueryId};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{BigInt, HasSqlType};
use diesel::{QueryResult, RunQueryDsl, SelectableHelper};

use super::sql::{push_table, Fixed, InsertValues, Rows};
use super::{conflict, KeySqlType, ReadBackBackend, SelectionSqlType};
use crate::{HistoricalRecords, HistoryError, HistoryTableSpec};

impl<M> ReadBackBackend<M> for Mysql
where
    M: HistoricalRecords
        + Selectable<Mysql>
        + FromSqlRow<SelectionSqlType<M, Mysql>, Mysql>
        + 'static,
    M::SelectExpression: QueryFragment<Mysql>,
    SelectionSqlType<M, Mysql>:
        diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    SelectBy<M, Mysql>: QueryFragment<Mysql>,
    Mysql: HasSqlType<KeySqlType<M>> + QueryMetadata<SelectBy<M, Mysql>>,
{
    fn insert_returning<C, V>(conn: &mut C, values: V, count: usize) -> Result<Vec<M>, HistoryError>
    where
        C: LoadConnection<Backend = Mysql>,
        V: QueryFragment<Mysql>,
    {
        let spec = &M::HISTORY_TABLE;
        let key_type = <Mysql as HasSqlType<KeySqlType<M>>>::metadata(&mut ());
        let keys = InsertedKeys::of(spec, &values, count, key_type)?;
        if let InsertedKeys::Generated(rows) = keys {
            // The reset makes an insert that generates no value (a key
            // column with a plain default) find nothing, rather than the
            // rows of an earlier insert of this session.
            let (lock_mode, _): (i64, i64) = Rows::<_, (BigInt, BigInt)>::of(Fixed(
                "SELECT CAST(@@innodb_autoinc_lock_mode AS SIGNED), CAST(LAST_INSERT_ID(0) AS SIGNED)",
            ))
            .get_result(conn)?;
            // Interleaved mode hands a multi-row insert values that are
            // consecutive only while no other insert into the table runs at
            // once; the others' rows would then sit between ours.
            if rows > 1 && lock_mode == INTERLEAVED {
                return Err(HistoryError::UnknownKeys {
                    model: spec.model,
                    detail: super::NOT_CONSECUTIVE.to_owned(),
                });
            }
        }
        InsertValues::<V, SelectBy<M, Mysql>> {
            spec,
            values,
            returning: None,
        }
        .execute(conn)
        .map_err(|err| conflict(spec, err))?;
        Ok(Rows::<_, SelectBy<M, Mysql>>::of(InsertedRows {
            spec,
            selection: M::as_select(),
            keys: &keys,
            key_type: PhantomData::<KeySqlType<M>>,
        })
        .load::<M>(conn)?)
    }
}

/// `innodb_autoinc_lock_mode` "interleaved".
const INTERLEAVED: i64 = 2;

/// Where the rows of one insert take their keys from.
#[derive(Debug)]
enum InsertedKeys {
    /// The input binds every key: these values, in row order.
    Bound(Vec<RawKey>),
    /// `AUTO_INCREMENT` gives every key: this many rows.
    Generated(usize),
}

/// A key value as the input bound it, sent again byte for byte (the key
/// column's SQL type is checked to match).
#[derive(Debug)]
struct RawKey(Vec<u8>);

impl<ST> ToSql<ST, Mysql> for RawKey {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Mysql>) -> serialize::Result {
        std::io::Write::write_all(out, &self.0)?;
        Ok(IsNull::No)
    }
}

impl InsertedKeys {
    /// The keys of the `rows` rows `values` inserts into `spec`'s table,
    /// whose key column has the type `key_type`: Diesel's rendering of the
    /// values names the key column's position in its column list, and each
    /// row's entry there is a bind, `DEFAULT`, or an expression.
    fn of<V: QueryFragment<Mysql>>(
        spec: &HistoryTableSpec,
        values: &V,
        rows: usize,
        key_type: MysqlType,
    ) -> Result<Self, HistoryError> {
        let unknown = |detail: String| HistoryError::UnknownKeys {
            model: spec.model,
            detail,
        };
        let backend = Mysql;
        let mut sql = MysqlQueryBuilder::new();
        values.to_sql(&mut sql, &backend)?;
        let mut binds = RawBytesBindCollector::<Mysql>::new();
        values.collect_binds(&mut binds, &mut (), &backend)?;
        let sources = key_sources(&sql.finish(), spec.primary_key[0]).map_err(unknown)?;
        if sources.len() != rows {
            return Err(unknown(format!(
                "the insert renders {} rows, not {rows}",
                sources.len()
            )));
        }
        let mut bound = Vec::with_capacity(rows);
        let mut generated = 0;
        for (row, source) in sources.into_iter().enumerate() {
            let index = match source {
                KeySource::Generated => {
                    generated += 1;
                    continue;
                }
                KeySource::Expression => {
                    return Err(unknown(format!(
                        "row {row} gives its key as an SQL expression; bind it, or leave it to AUTO_INCREMENT"
                    )))
                }
                KeySource::Bound(index) => index,
            };
            let ty = binds.metadata[index];
            match binds.binds[index].take() {
                // NULL, and 0 in an integer key, ask AUTO_INCREMENT for a value.
                None => generated += 1,
                Some(bytes) if is_integer(ty) && bytes.iter().all(|b| *b == 0) => generated += 1,
                Some(bytes) if ty == key_type => bound.push(RawKey(bytes)),
                Some(_) => {
                    return Err(unknown(format!(
                        "row {row} binds its key as {ty:?}, the key column is {key_type:?}"
                    )))
                }
            }
        }
        match (bound.len(), generated) {
            (_, 0) => Ok(InsertedKeys::Bound(bound)),
            (0, _) => Ok(InsertedKeys::Generated(generated)),
            // In such a "mixed-mode" insert, the values AUTO_INCREMENT gives
            // need not be consecutive, even in its consecutive lock mode.
            _ => Err(unknown(
                "the rows mix bound keys with keys left to AUTO_INCREMENT; create them in separate calls"
                    .to_owned(),
            )),
        }
    }
}

fn is_integer(ty: MysqlType) -> bool {
    use MysqlType::*;
    matches!(
        ty,
        Tiny | UnsignedTiny
            | Short
            | UnsignedShort
            | Long
            | UnsignedLong
            | LongLong
            | UnsignedLongLong
    )
}

/// `SELECT selection FROM source ..`: the rows one insert created, in the
/// order it inserted them. By bound keys, each sent once (a batch may carry
/// as many keys as a statement carries binds): `INNER JOIN (SELECT ? AS key,
/// 0 AS position UNION ALL SELECT ?, 1 ..) ON .. ORDER BY position`. By
/// generated ones: the
/// values `AUTO_INCREMENT` handed out from `LAST_INSERT_ID()` on, one step of
/// `@@auto_increment_increment` apart, which are consecutive for a simple
/// insert outside the interleaved lock mode; never 0, which means this insert
/// generated none.
struct InsertedRows<'q, S, ST> {
    spec: &'static HistoryTableSpec,
    selection: S,
    keys: &'q InsertedKeys,
    key_type: PhantomData<ST>,
}

impl<S, ST> QueryFragment<Mysql> for InsertedRows<'_, S, ST>
where
    S: QueryFragment<Mysql>,
    Mysql: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Mysql>) -> QueryResult<()> {
        let spec = self.spec;
        let key = |out: &mut AstPass<'_, 'b, Mysql>| -> QueryResult<()> {
            out.push_identifier(spec.source_table)?;
            out.push_sql(".");
            out.push_identifier(spec.primary_key[0])
        };
        out.push_sql("SELECT ");
        self.selection.walk_ast(out.reborrow())?;
        out.push_sql(" FROM ");
        push_table(&mut out, spec.source());
        match self.keys {
            InsertedKeys::Bound(ids) => {
                // Each key bound once, with its position in the input: a
                // join on the key, ordered by the position.
                out.push_sql(" INNER JOIN (");
                for (position, id) in ids.iter().enumerate() {
                    if position > 0 {
                        out.push_sql(" UNION ALL ");
                    }
                    out.push_sql("SELECT ");
                    out.push_bind_param::<ST, RawKey>(id)?;
                    if position == 0 {
                        out.push_sql(" AS ");
                        out.push_identifier(INPUT_KEY)?;
                        out.push_sql(", 0 AS ");
                        out.push_identifier(INPUT_POSITION)?;
                    } else {
                        out.push_sql(", ");
                        out.push_sql(&position.to_string());
                    }
                }
                out.push_sql(") AS ");
                out.push_identifier(INPUT)?;
                out.push_sql(" ON ");
                key(&mut out)?;
                out.push_sql(" = ");
                out.push_identifier(INPUT)?;
                out.push_sql(".");
                out.push_identifier(INPUT_KEY)?;
                out.push_sql(" ORDER BY ");
                out.push_identifier(INPUT)?;
                out.push_sql(".");
                out.push_identifier(INPUT_POSITION)?;
            }
            InsertedKeys::Generated(rows) => {
                out.push_sql(" WHERE ");
                key(&mut out)?;
                out.push_sql(" IN (LAST_INSERT_ID()");
                for step in 1..*rows {
                    out.push_sql(", LAST_INSERT_ID() + ");
                    out.push_sql(&step.to_string());
                    out.push_sql(" * @@auto_increment_increment");
                }
                out.push_sql(") AND LAST_INSERT_ID() <> 0 ORDER BY ");
                key(&mut out)?;
            }
        }
        Ok(())
    }
}

/// The derived table of bound keys and its columns.
const INPUT: &str = "history_inserted";
const INPUT_KEY: &str = "history_key";
const INPUT_POSITION: &str = "history_position";

impl<S, ST> QueryId for InsertedRows<'_, S, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<S, ST, Conn> RunQueryDsl<Conn> for InsertedRows<'_, S, ST> {}

/// Where one row of an insert takes its key from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeySource {
    /// The bind parameter with this index (among all of the statement's).
    Bound(usize),
    /// The column default: `DEFAULT`, or the column left out.
    Generated,
    /// An SQL expression, whose value only the database knows.
    Expression,
}

/// The key source of each row of Diesel's MySQL rendering of insert values:
/// `(`a`, `b`) VALUES (?, DEFAULT), (?, ?)`, or `() VALUES ()` when every
/// column takes its default.
fn key_sources(sql: &str, key: &str) -> Result<Vec<KeySource>, String> {
    let tokens = tokenize(sql);
    let unexpected =
        |at: usize| format!("unexpected SQL at token {at} of the insert values: {sql}");
    let mut at = 0;
    let expect = |token: &Token<'_>, at: &mut usize| -> Result<(), String> {
        if tokens.get(*at) == Some(token) {
            *at += 1;
            Ok(())
        } else {
            Err(unexpected(*at))
        }
    };
    expect(&Token::Open, &mut at)?;
    let mut columns = Vec::new();
    while let Some(Token::Ident(name)) = tokens.get(at) {
        columns.push(name.as_str());
        at += 1;
        if tokens.get(at) == Some(&Token::Comma) {
            at += 1;
        }
    }
    expect(&Token::Close, &mut at)?;
    match tokens.get(at) {
        Some(Token::Word(word)) if word.eq_ignore_ascii_case("VALUES") => at += 1,
        _ => return Err(unexpected(at)),
    }
    let position = columns.iter().position(|column| *column == key);
    let mut binds_before = tokens[..at].iter().filter(|t| **t == Token::Bind).count();
    let mut sources = Vec::new();
    loop {
        expect(&Token::Open, &mut at)?;
        // The entries of one row: tokens split at its top-level commas.
        let mut entries: Vec<&[Token<'_>]> = Vec::new();
        let (mut start, mut depth) = (at, 0usize);
        loop {
            match tokens.get(at) {
                Some(Token::Open) => depth += 1,
                Some(Token::Close) if depth == 0 => break,
                Some(Token::Close) => depth -= 1,
                Some(Token::Comma) if depth == 0 => {
                    entries.push(&tokens[start..at]);
                    start = at + 1;
                }
                Some(_) => {}
                None => return Err(unexpected(at)),
            }
            at += 1;
        }
        if at > start || !entries.is_empty() {
            entries.push(&tokens[start..at]);
        }
        at += 1;
        if entries.len() != columns.len() {
            return Err(unexpected(at));
        }
        let source = match position.map(|p| (p, entries[p])) {
            None => KeySource::Generated,
            Some((p, [Token::Bind])) => {
                let before: usize = entries[..p]
                    .iter()
                    .map(|entry| entry.iter().filter(|t| **t == Token::Bind).count())
                    .sum();
                KeySource::Bound(binds_before + before)
            }
            Some((_, [Token::Word(word)])) if word.eq_ignore_ascii_case("DEFAULT") => {
                KeySource::Generated
            }
            Some(_) => KeySource::Expression,
        };
        sources.push(source);
        binds_before += entries
            .iter()
            .map(|entry| entry.iter().filter(|t| **t == Token::Bind).count())
            .sum::<usize>();
        match tokens.get(at) {
            None => return Ok(sources),
            Some(Token::Comma) => at += 1,
            Some(_) => return Err(unexpected(at)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'s> {
    Open,
    Close,
    Comma,
    /// `?`.
    Bind,
    /// A backquoted identifier, unquoted.
    Ident(String),
    /// A keyword, name or number.
    Word(&'s str),
    /// A string literal or any other character.
    Other,
}

fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut chars = sql.char_indices().peekable();
    while let Some((start, ch)) = chars.next() {
        let token = match ch {
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            '?' => Token::Bind,
            c if c.is_whitespace() => continue,
            '`' => {
                let mut name = String::new();
                while let Some((_, c)) = chars.next() {
                    if c == '`' {
                        // A doubled backquote is one inside the name.
                        if chars.next_if(|(_, next)| *next == '`').is_none() {
                            break;
                        }
                    }
                    name.push(c);
                }
                Token::Ident(name)
            }
            quote @ ('\'' | '"') => {
                while let Some((_, c)) = chars.next() {
                    if c == '\\' {
                        chars.next();
                    } else if c == quote && chars.next_if(|(_, next)| *next == quote).is_none() {
                        break;
                    }
                }
                Token::Other
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut end = start + c.len_utf8();
                while let Some((at, c)) = chars.next_if(|(_, c)| c.is_alphanumeric() || *c == '_') {
                    end = at + c.len_utf8();
                }
                Token::Word(&sql[start..end])
            }
            _ => Token::Other,
        };
        tokens.push(token);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::KeySource::*;
    use super::*;

    #[test]
    fn finds_each_rows_key_among_binds_defaults_and_expressions() {
        let sql = "(`status`, `id`, `total`) VALUES (?, ?, ?), (?, DEFAULT, ?), (CONCAT(?, '?,)'), 40 + 2, ?)";
        assert_eq!(
            key_sources(sql, "id").unwrap(),
            [Bound(1), Generated, Expression]
        );
        assert_eq!(
            key_sources(sql, "total").unwrap(),
            [Bound(2), Bound(4), Bound(6)]
        );
    }

    #[test]
    fn a_key_left_out_is_generated() {
        assert_eq!(
            key_sources("(`status`) VALUES (?), (?)", "id").unwrap(),
            [Generated, Generated]
        );
        assert_eq!(
            key_sources("() VALUES (), ()", "id").unwrap(),
            [Generated, Generated]
        );
    }

    #[test]
    fn quoted_names_and_unexpected_text() {
        assert_eq!(
            key_sources("(`a``b`, `id`) VALUES (?, ?)", "a`b").unwrap(),
            [Bound(0)]
        );
        assert!(key_sources("DEFAULT VALUES", "id").is_err());
        assert!(key_sources("(`id`) VALUES (?, ?)", "id").is_err());
    }
}
