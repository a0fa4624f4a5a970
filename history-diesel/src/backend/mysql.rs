//! MySQL's sequences.
//!
//! MySQL has no `RETURNING` (MariaDB's sends no result metadata for a
//! prepared statement, and Diesel prepares every statement), so a write
//! learns its rows another way:
//! - an update or delete by filter locks the rows and reads their keys first
//!   (`SELECT key .. FOR UPDATE`), then writes by key, then records;
//! - a create reads its rows back by the keys the insert binds, or by the
//!   values `AUTO_INCREMENT` hands out (`LAST_INSERT_ID()` names only the
//!   first): the keys come from the input where it binds them, and from
//!   `AUTO_INCREMENT` where it leaves them to the database; an input whose
//!   keys are neither is refused before the insert, never read back by a
//!   guess.

use chrono::{DateTime, Utc};
use diesel::mysql::{Mysql, MysqlQueryBuilder, MysqlType};
use diesel::query_builder::bind_collector::RawBytesBindCollector;
use diesel::query_builder::{QueryBuilder, QueryFragment};
use diesel::sql_types::{BigInt, HasSqlType};
use diesel::QueryResult;

use super::captured::{self, ContextBackend};
use super::shared;
use super::{InsertBatches, ModelStatements, Returning, WholeRows, WriteBackend, KEY_CHUNK};
use crate::context::{HistoryContext, RowContexts};
use crate::error::HistoryError;
use crate::exec::{atomic, Executor};
use crate::query::{Fixed, InsertedKeys, InsertedRows, RawKey, Rows, SetContextResettingInsertId};
use crate::HistoryBackend;
use crate::{Dialect, HistoricalRecords, HistoryTableSpec, HistoryType, KeySqlType, UserIdOf};

impl HistoryBackend for Mysql {
    const DIALECT: Dialect = Dialect::Mysql;

    fn bind_count<T: QueryFragment<Self>>(fragment: &T) -> QueryResult<usize> {
        crate::dialect::rendered_bind_count(fragment)
    }
}

super::multi_row_insert!(Mysql);

impl<M> WriteBackend<M> for Mysql
where
    M: HistoricalRecords,
    Mysql: ModelStatements<M> + HasSqlType<KeySqlType<M>>,
{
    /// Under `innodb_autoinc_lock_mode = 2` a multi-row insert of generated
    /// keys is refused before anything is written ([`NOT_CONSECUTIVE`]),
    /// and the rows are inserted again one per statement.
    async fn bulk_create<Out, E, S, R>(
        exec: &mut E,
        statements: S,
        batch: usize,
        contexts: &R,
        now: DateTime<Utc>,
    ) -> Result<Vec<Out::Row>, HistoryError>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        S: InsertBatches<Values: QueryFragment<Self>>,
        R: RowContexts<UserIdOf<M>> + ?Sized,
    {
        let batches = statements.batches(batch, batch);
        match Self::create::<Out, _, _, _>(exec, batches, contexts, now).await {
            // Refused before anything was written, and rolled back whole.
            Err(err) if batch > 1 && is_not_consecutive(&err) => {
                let batches = statements.batches(batch, 1);
                Self::create::<Out, _, _, _>(exec, batches, contexts, now).await
            }
            other => other,
        }
    }

    async fn insert_returning<Out, E, V>(
        exec: &mut E,
        values: V,
        count: usize,
    ) -> Result<Vec<Out::Row>, HistoryError>
    where
        Out: Returning<M, Self>,
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
    {
        let spec = &M::HISTORY_TABLE;
        let key_type = <Mysql as HasSqlType<KeySqlType<M>>>::metadata(&mut ());
        let keys = inserted_keys(spec, &values, count, key_type)?;
        if let InsertedKeys::Generated(rows) = keys {
            // The reset makes an insert that generates no value (a key
            // column with a plain default) find nothing, rather than the
            // rows of an earlier insert of this session.
            let lock_mode = reset_and_read_lock_mode(exec).await?;
            // Interleaved mode hands a multi-row insert values that are
            // consecutive only while no other insert into the table runs at
            // once; the others' rows would then sit between ours.
            if rows > 1 && lock_mode == INTERLEAVED {
                return Err(HistoryError::UnknownKeys {
                    model: spec.model,
                    detail: NOT_CONSECUTIVE.to_owned(),
                });
            }
        }
        insert_then_read::<M, Out, E, V>(exec, values, &keys).await
    }

    /// A row whose key `AUTO_INCREMENT` gives: the context's `SET` resets
    /// `LAST_INSERT_ID()` too ([`SetContextResettingInsertId`]), so the
    /// create is four round trips (context, insert, read-back, clear)
    /// rather than five.
    async fn create_in_context<E, V>(
        exec: &mut E,
        values: V,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<M, HistoryError>
    where
        E: Executor<Backend = Self>,
        V: QueryFragment<Self>,
    {
        let spec = &M::HISTORY_TABLE;
        let key_type = <Mysql as HasSqlType<KeySqlType<M>>>::metadata(&mut ());
        let keys = inserted_keys(spec, &values, 1, key_type)?;
        let context = captured::values_of(shared::meta::<M, Mysql>(ctx)?.as_ref());
        let generated = matches!(keys, InsertedKeys::Generated(_));
        let set = async |exec: &mut E| {
            if generated {
                exec.execute(SetContextResettingInsertId(&context)).await?;
                Ok(())
            } else {
                Mysql::set_context(exec, &context).await
            }
        };
        let body =
            async |exec: &mut E| insert_then_read::<M, WholeRows, E, V>(exec, values, &keys).await;
        let rows = captured::in_context_set(exec, set, false, body).await?;
        captured::one_row::<M>(rows)
    }

    async fn update<E, W, Ch>(
        exec: &mut E,
        filter: W,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
        Ch: QueryFragment<Self>,
    {
        let meta = shared::meta::<M, Mysql>(ctx)?;
        atomic(exec, async move |exec: &mut E| {
            // Lock the rows first: no other writer changes them before their
            // history is read.
            let ids = Mysql::select_keys(exec, filter, true).await?;
            for chunk in ids.chunks(KEY_CHUNK) {
                Mysql::update_where(exec, Mysql::keys(chunk), &changes).await?;
            }
            if let Some(meta) = &meta {
                shared::record::<M, Mysql, E>(exec, &ids, HistoryType::Changed, meta).await?;
            }
            Ok(ids.len())
        })
        .await
    }

    /// One known key: the UPDATE itself locks the row until commit, and
    /// Diesel's connections count matched rows (CLIENT_FOUND_ROWS), so no
    /// `SELECT .. FOR UPDATE` is needed to learn which rows it touched.
    async fn update_key<E, Ch>(
        exec: &mut E,
        key: M::Id,
        changes: Ch,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        Ch: QueryFragment<Self>,
    {
        let meta = shared::meta::<M, Mysql>(ctx)?;
        let keys = [key];
        atomic(exec, async |exec: &mut E| {
            let matched = Mysql::update_where(exec, Mysql::keys(&keys), changes).await?;
            if let (1.., Some(meta)) = (matched, &meta) {
                shared::record::<M, Mysql, E>(exec, &keys, HistoryType::Changed, meta).await?;
            }
            Ok(matched)
        })
        .await
    }

    async fn delete<E, W>(
        exec: &mut E,
        filter: W,
        ctx: &HistoryContext<UserIdOf<M>>,
    ) -> Result<usize, HistoryError>
    where
        E: Executor<Backend = Self>,
        W: QueryFragment<Self>,
    {
        let meta = shared::meta::<M, Mysql>(ctx)?;
        shared::delete_locked::<M, Mysql, E, W>(exec, filter, meta).await
    }
}

/// Sends one insert and reads its rows back by `keys`.
async fn insert_then_read<M, Out, E, V>(
    exec: &mut E,
    values: V,
    keys: &InsertedKeys,
) -> Result<Vec<Out::Row>, HistoryError>
where
    M: HistoricalRecords,
    Mysql: ModelStatements<M> + HasSqlType<KeySqlType<M>>,
    Out: Returning<M, Mysql>,
    E: Executor<Backend = Mysql>,
    V: QueryFragment<Mysql>,
{
    let spec = &M::HISTORY_TABLE;
    Mysql::insert_values(exec, values)
        .await
        .map_err(|err| shared::conflict(spec, err))?;
    let inserted = InsertedRows {
        spec,
        selection: Out::selection(),
        keys,
        key_type: std::marker::PhantomData::<KeySqlType<M>>,
    };
    Ok(Out::load(exec, inserted).await?)
}

/// `SELECT @@innodb_autoinc_lock_mode, LAST_INSERT_ID(0)`: the lock mode,
/// and `LAST_INSERT_ID()` reset to 0. (A function of its own: inside the
/// model's bounds the row type would be inferred from them.)
async fn reset_and_read_lock_mode<E: Executor<Backend = Mysql>>(exec: &mut E) -> QueryResult<i64> {
    let row = exec
        .load::<_, (i64, i64)>(Rows::<_, (BigInt, BigInt)>::of(Fixed(
            "SELECT CAST(@@innodb_autoinc_lock_mode AS SIGNED), CAST(LAST_INSERT_ID(0) AS SIGNED)",
        )))
        .await?
        .pop();
    Ok(row.ok_or(diesel::result::Error::NotFound)?.0)
}

/// `innodb_autoinc_lock_mode` "interleaved".
const INTERLEAVED: i64 = 2;

/// Why MySQL refuses a multi-row insert of generated keys under the
/// interleaved `innodb_autoinc_lock_mode`: bulk create then sends one row
/// per statement.
const NOT_CONSECUTIVE: &str = "with innodb_autoinc_lock_mode = 2 the AUTO_INCREMENT \
    values of one multi-row INSERT need not be consecutive; bind the keys, or insert one row \
    per statement";

fn is_not_consecutive(err: &HistoryError) -> bool {
    matches!(err, HistoryError::UnknownKeys { detail, .. } if detail == NOT_CONSECUTIVE)
}

/// The keys of the `rows` rows `values` inserts into `spec`'s table,
/// whose key column has the type `key_type`: Diesel's rendering of the
/// values names the key column's position in its column list, and each
/// row's entry there is a bind, `DEFAULT`, or an expression.
fn inserted_keys<V: QueryFragment<Mysql>>(
    spec: &HistoryTableSpec,
    values: &V,
    rows: usize,
    key_type: MysqlType,
) -> Result<InsertedKeys, HistoryError> {
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
