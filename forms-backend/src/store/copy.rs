//! Moving a city (迁移数据库): [`copy_database`] copies everything a store keeps — orders, events, the outbox
//! and its state, console users and sessions, the verification scans, the per-day numbering, the server secret
//! — from one database into an empty one, of either backend (SQLite → PostgreSQL when a city outgrows one
//! machine, and back).
//!
//! Rules:
//! - the target must be empty; nothing is written into a database that holds any row;
//! - the source is read in one snapshot, so a copy is consistent even if something writes meanwhile (stop the
//!   old instances anyway: what they write after the snapshot is not copied);
//! - the whole copy is one transaction on the target, checked table by table (rows on both sides) before it
//!   commits: a failed or mismatched copy leaves the target empty;
//! - ids are kept as they are (links, mails and exports refer to them), and the target's id sequences are moved
//!   past them;
//! - what belongs to the old processes and not to the data is left behind: leases, and the outbox claims of
//!   their mail workers (a message claimed but not yet sent is due again at once on the target);
//! - on PostgreSQL the target is vacuumed and analysed afterwards, so the planner has statistics and index-only
//!   scans from the first request.

use serde::Serialize;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, Row};

use super::write::{WriteTx, placeholders};
use super::{Backend, Store, StoreError};

/// The tables a copy carries, in the order their references allow, each with the key it is read in.
const TABLES: [(&str, &str); 9] = [
    ("users", "id"),
    ("requests", "id"),
    ("events", "id"),
    ("outbox", "id"),
    ("unit_tokens", "id"),
    ("sessions", "token_hash"),
    ("verification_forms", "id"),
    ("daily_sequence", "day"),
    ("secrets", "name"),
];

/// Tables of running processes rather than of the city's data: not copied.
const LEFT_BEHIND: [&str; 1] = ["leases"];

/// Columns cleared on the way: they name a process of the old installation.
const CLEARED: [(&str, &str); 2] = [("outbox", "claimed_by"), ("outbox", "claimed_until")];

/// Rows read and written per statement (kept under both backends' limits on bound parameters).
const PARAMETERS_PER_STATEMENT: usize = 8_000;

/// What one table's copy did: the rows in the source and the rows in the target after the copy.
#[derive(Debug, Clone, Serialize)]
pub struct TableCopy {
    pub table: String,
    pub source_rows: i64,
    pub target_rows: i64,
}

/// What a copy did, table by table.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub tables: Vec<TableCopy>,
}

impl CopyReport {
    pub fn rows(&self) -> i64 {
        self.tables.iter().map(|table| table.target_rows).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Integer,
    Text,
    Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    kind: ColumnKind,
}

/// One value as read from the source and bound into the target.
enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// Copies everything `source` keeps into `target`, which must be empty (see the module's rules). Both are
/// opened with [`Store::connect`], so both carry this version's tables.
pub async fn copy_database(source: &Store, target: &Store) -> Result<CopyReport, StoreError> {
    copy_database_with(source, target, |_, _| {}).await
}

/// [`copy_database`], telling `starting` each table and its rows in the source before it is copied (a city's
/// database copies for minutes: the operator sees where it is).
pub async fn copy_database_with(
    source: &Store,
    target: &Store,
    mut starting: impl FnMut(&str, i64),
) -> Result<CopyReport, StoreError> {
    let source_tables = source.table_names().await?;
    check_tables_known(&source_tables)?;
    check_tables_known(&target.table_names().await?)?;
    for (table, _) in TABLES {
        let rows = target.count_rows(table).await?;
        if rows > 0 {
            return Err(StoreError::Other(format!(
                "目标数据库不是空的（表 {table} 已有 {rows} 行），没有写入任何数据。请指定一个新建的空数据库"
            )));
        }
    }

    let mut snapshot = Snapshot::begin(source).await?;
    let mut tx = WriteTx::begin(target).await?;
    let mut report = CopyReport { tables: Vec::new() };
    for (table, key) in TABLES {
        let columns = source.columns(table).await?;
        if !same_columns(&columns, &target.columns(table).await?) {
            return Err(StoreError::Other(format!(
                "两个数据库中表 {table} 的列不一致：两边应当由同一版本的 qihu 创建"
            )));
        }
        let source_rows = count_in(snapshot.connection(), table).await?;
        starting(table, source_rows);
        let copied = copy_table(&mut snapshot, &mut tx, table, key, &columns).await?;
        let target_rows = count_in(tx.connection(), table).await?;
        if copied != source_rows || target_rows != source_rows {
            return Err(StoreError::Other(format!(
                "表 {table} 核对不一致：源库 {source_rows} 行，复制 {copied} 行，目标库 {target_rows} 行；目标库未改动"
            )));
        }
        report.tables.push(TableCopy {
            table: table.to_owned(),
            source_rows,
            target_rows,
        });
    }
    if target.backend == Backend::Postgres {
        for (table, key) in TABLES.iter().filter(|(_, key)| *key == "id") {
            let statement = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', '{key}'), COALESCE(MAX({key}), 0) + 1, false) \
                 FROM {table}"
            );
            sqlx::query(&statement).execute(tx.connection()).await?;
        }
    }
    tx.commit().await?;
    drop(snapshot);
    if target.backend == Backend::Postgres {
        // A bulk load leaves the planner without statistics and the visibility map empty (no index-only
        // scans) until autovacuum comes by.
        sqlx::query("VACUUM (ANALYZE)")
            .execute(&target.writer)
            .await?;
    }
    Ok(report)
}

/// Copies one table in key order, a batch at a time; returns the rows written.
async fn copy_table(
    snapshot: &mut Snapshot,
    tx: &mut WriteTx,
    table: &str,
    key: &str,
    columns: &[Column],
) -> Result<i64, StoreError> {
    let key_index = columns
        .iter()
        .position(|column| column.name == key)
        .ok_or_else(|| StoreError::Other(format!("表 {table} 没有列 {key}")))?;
    let key_kind = columns[key_index].kind;
    let names: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
    let select_list = columns
        .iter()
        .map(|column| {
            if CLEARED.contains(&(table, column.name.as_str())) {
                format!("NULL AS {}", column.name)
            } else {
                column.name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let batch = (PARAMETERS_PER_STATEMENT / columns.len()).max(1);
    let first = format!("SELECT {select_list} FROM {table} ORDER BY {key} LIMIT {batch}");
    let next =
        format!("SELECT {select_list} FROM {table} WHERE {key} > $1 ORDER BY {key} LIMIT {batch}");
    let mut last: Option<Value> = None;
    let mut copied = 0;
    loop {
        let query = match &last {
            None => sqlx::query(&first),
            Some(value) => bind(sqlx::query(&next), value),
        };
        let rows = query.fetch_all(snapshot.connection()).await?;
        if rows.is_empty() {
            break;
        }
        let mut values = Vec::with_capacity(rows.len() * columns.len());
        for row in &rows {
            for (index, column) in columns.iter().enumerate() {
                values.push(read(row, index, column.kind)?);
            }
        }
        let statement = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            names.join(", "),
            placeholders(rows.len(), columns.len())
        );
        let mut insert = sqlx::query(&statement);
        for value in &values {
            insert = bind(insert, value);
        }
        insert.execute(tx.connection()).await?;
        copied += rows.len() as i64;
        let last_row = rows
            .last()
            .expect("a batch that is not empty has a last row");
        last = Some(read(last_row, key_index, key_kind)?);
        if rows.len() < batch {
            break;
        }
    }
    Ok(copied)
}

/// Whether two tables have the same columns holding the same kinds of value (in any order: a column added by
/// a later migration comes last on SQLite and may stand elsewhere on PostgreSQL).
fn same_columns(one: &[Column], other: &[Column]) -> bool {
    let sorted = |columns: &[Column]| {
        let mut columns = columns.to_vec();
        columns.sort_by(|a, b| a.name.cmp(&b.name));
        columns
    };
    sorted(one) == sorted(other)
}

fn read(row: &sqlx::any::AnyRow, index: usize, kind: ColumnKind) -> Result<Value, StoreError> {
    Ok(match kind {
        ColumnKind::Integer => Value::Integer(row.try_get(index)?),
        ColumnKind::Text => Value::Text(row.try_get(index)?),
        ColumnKind::Bytes => Value::Bytes(row.try_get(index)?),
    })
}

fn bind<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    value: &Value,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match value {
        Value::Integer(value) => query.bind(*value),
        Value::Text(value) => query.bind(value.clone()),
        Value::Bytes(value) => query.bind(value.clone()),
    }
}

async fn count_in(connection: &mut AnyConnection, table: &str) -> Result<i64, StoreError> {
    let statement = format!("SELECT COUNT(*) FROM {table}");
    Ok(sqlx::query_scalar(&statement).fetch_one(connection).await?)
}

/// Every table of the schema must be either copied or knowingly left behind: a table added by a later
/// migration and forgotten here would otherwise be lost in a move.
fn check_tables_known(tables: &[String]) -> Result<(), StoreError> {
    let unknown: Vec<&str> = tables
        .iter()
        .map(String::as_str)
        .filter(|table| {
            !TABLES.iter().any(|(known, _)| known == table) && !LEFT_BEHIND.contains(table)
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Other(format!(
            "数据库中有本版本不认识的表：{}；未复制",
            unknown.join("、")
        )))
    }
}

/// A read-only view of the source as of one instant, on one connection.
struct Snapshot {
    connection: PoolConnection<sqlx::Any>,
}

impl Snapshot {
    async fn begin(store: &Store) -> Result<Snapshot, StoreError> {
        let mut connection = store.pool.acquire().await?;
        let begin = store
            .backend
            .pick("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        sqlx::query(begin).execute(&mut *connection).await?;
        Ok(Snapshot { connection })
    }

    fn connection(&mut self) -> &mut AnyConnection {
        &mut self.connection
    }
}

/// The connection is closed rather than returned to the pool, which ends the read: no transaction outlives the
/// copy.
impl Drop for Snapshot {
    fn drop(&mut self) {
        self.connection.close_on_drop();
    }
}

impl Store {
    /// The tables of this database's schema, without the migrations' own bookkeeping.
    async fn table_names(&self) -> Result<Vec<String>, StoreError> {
        let statement = self.backend.pick(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY table_name",
        );
        Ok(sqlx::query_scalar(statement).fetch_all(&self.pool).await?)
    }

    /// A table's columns in their declared order, with the kind of value each holds.
    async fn columns(&self, table: &str) -> Result<Vec<Column>, StoreError> {
        let statement = self.backend.pick(
            "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        );
        let rows = sqlx::query(statement)
            .bind(table)
            .fetch_all(&self.pool)
            .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get(0)?;
            let declared: String = row.try_get(1)?;
            let declared = declared.to_ascii_uppercase();
            let kind = if declared.contains("INT") {
                ColumnKind::Integer
            } else if declared.contains("BLOB") || declared.contains("BYTEA") {
                ColumnKind::Bytes
            } else {
                ColumnKind::Text
            };
            columns.push(Column { name, kind });
        }
        Ok(columns)
    }

    async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        count_in(&mut *self.pool.acquire().await?, table).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_table_of_the_schema_is_copied_or_knowingly_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("qihu.db").display());
        let store = Store::connect(&url).await.unwrap();
        let tables = store.table_names().await.unwrap();
        assert!(tables.contains(&"requests".to_owned()), "{tables:?}");
        check_tables_known(&tables).unwrap();
        for (table, _) in TABLES {
            assert!(
                tables.contains(&table.to_owned()),
                "{table} not in {tables:?}"
            );
        }
    }

    #[test]
    fn a_table_nobody_told_the_copy_about_stops_it() {
        let error = check_tables_known(&["requests".to_owned(), "attachments".to_owned()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("attachments"), "{error}");
    }
}
