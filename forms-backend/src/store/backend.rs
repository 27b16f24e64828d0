//! The two database backends (数据库后端) behind the store: SQLite, embedded, for a city on one machine, and
//! PostgreSQL for several instances on one database. Everything that differs between them is here: how a
//! connection is opened and set up, the migrations, how a write transaction begins, which errors mean "cannot
//! write now", and the few statements whose dialects differ ([`Backend::pick`]). The rest of the store is one
//! SQL text for both (`$1`-style parameters, which both accept), so a rule is never written twice.

use std::path::Path;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{ConnectOptions, Executor};

use super::StoreError;

/// Which database the store talks to, chosen by the scheme of `[storage] database_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connections of a store: a pool for reads and the pool writes go through.
pub(super) struct Pools {
    pub(super) read: AnyPool,
    pub(super) write: AnyPool,
}

/// SQLite's primary result codes that mean "cannot write now" rather than "this statement is wrong".
const SQLITE_UNAVAILABLE: [i64; 7] = [
    5,  // SQLITE_BUSY
    6,  // SQLITE_LOCKED
    8,  // SQLITE_READONLY
    10, // SQLITE_IOERR
    13, // SQLITE_FULL
    14, // SQLITE_CANTOPEN
    15, // SQLITE_PROTOCOL
];

/// PostgreSQL's SQLSTATE classes and codes that mean "cannot write now": connection exceptions (08), a
/// serialization failure or deadlock (40001, 40P01), insufficient resources such as a full disk (53), operator
/// intervention such as a shutdown (57), system errors (58), a read-only transaction on a standby (25006) and a
/// lock not available (55P03).
fn postgres_unavailable(code: &str) -> bool {
    ["08", "53", "57", "58"]
        .iter()
        .any(|class| code.starts_with(class))
        || ["40001", "40P01", "25006", "55P03"].contains(&code)
}

impl Backend {
    /// The backend a database URL names: `postgres://` or `postgresql://`, else SQLite (`sqlite://…` or a path).
    pub fn of(database_url: &str) -> Backend {
        if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// The statement for this backend, where the two dialects differ.
    pub(super) fn pick<'a>(self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// How a write transaction begins. SQLite takes the write lock at once, so two writers never both read and
    /// then fail to upgrade; PostgreSQL locks rows as they are written (a version-checked `UPDATE` waits for the
    /// other writer and then finds the version moved).
    pub(super) fn begin(self) -> &'static str {
        self.pick("BEGIN IMMEDIATE", "BEGIN")
    }

    /// Whether a database error means the database cannot take the write now (a 503, retried later) rather
    /// than that the statement is wrong.
    pub(super) fn unavailable(error: &dyn sqlx::error::DatabaseError) -> bool {
        let Some(code) = error.code() else {
            return false;
        };
        if error
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some()
        {
            return postgres_unavailable(&code);
        }
        code.parse::<i64>()
            .is_ok_and(|code| SQLITE_UNAVAILABLE.contains(&(code & 0xff)))
    }

    /// Opens the pools for `database_url` and runs this backend's migrations.
    pub(super) async fn connect(self, database_url: &str) -> Result<Pools, StoreError> {
        sqlx::any::install_default_drivers();
        match self {
            Backend::Sqlite => connect_sqlite(database_url).await,
            Backend::Postgres => connect_postgres(database_url).await,
        }
    }
}

/// The file and the query of a SQLite URL (`sqlite://data/qihu.db?max_page_count=…` or a plain path).
fn sqlite_path(database_url: &str) -> (&str, &str) {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .unwrap_or(database_url);
    path.split_once('?').unwrap_or((path, ""))
}

/// The database file a URL names, when it names a SQLite database.
pub fn sqlite_file(database_url: &str) -> Option<&Path> {
    (Backend::of(database_url) == Backend::Sqlite).then(|| Path::new(sqlite_path(database_url).0))
}

/// SQLite: one writer connection, so concurrent submissions queue in order instead of retrying on SQLite's
/// lock (which makes for long tail latencies), and a pool of readers; WAL mode; every commit synced.
///
/// `?max_page_count=N` caps the database at N pages (of 4 KiB): a quota for a shared disk, and how the tests
/// make "disk full" happen. Writes past it fail as [`StoreError::Unavailable`] like a full disk.
async fn connect_sqlite(database_url: &str) -> Result<Pools, StoreError> {
    let (path, query) = sqlite_path(database_url);
    let max_pages = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "max_page_count")
        .and_then(|(_, value)| value.parse::<u64>().ok());
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|source| {
            StoreError::Unavailable(format!("无法创建数据库目录 {}：{source}", parent.display()))
        })?;
    }
    let mut setup = vec![
        // FULL: every commit is on disk before the response, so what got a 201 survives even a power cut.
        "PRAGMA synchronous = FULL".to_owned(),
        "PRAGMA foreign_keys = ON".to_owned(),
        // Reads through the OS page cache instead of a read() per page: the supervision pass and reports scan
        // indexes over millions of rows.
        "PRAGMA mmap_size = 268435456".to_owned(),
        "PRAGMA busy_timeout = 10000".to_owned(),
    ];
    if let Some(pages) = max_pages {
        setup.push(format!("PRAGMA max_page_count = {pages}"));
    }
    let url = format!("sqlite://{}?mode=rwc", path);
    let options: sqlx::any::AnyConnectOptions = url.parse()?;
    let options = options.disable_statement_logging();
    let pool = |connections: u32, setup: Vec<String>| {
        AnyPoolOptions::new()
            .max_connections(connections)
            .after_connect(move |connection, _| {
                let setup = setup.clone();
                Box::pin(async move {
                    for statement in &setup {
                        connection.execute(statement.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options.clone())
    };
    let write = pool(1, setup.clone()).await?;
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&write)
        .await?;
    sqlx::migrate!("src/store/migrations/sqlite")
        .run(&write)
        .await?;
    let read = pool(8, setup).await?;
    Ok(Pools { read, write })
}

/// PostgreSQL: one pool for reads and writes (the server orders concurrent writers itself); its size is
/// `max_connections` in the URL's query, 16 by default, and a connection waits at most 10 s for the pool.
async fn connect_postgres(database_url: &str) -> Result<Pools, StoreError> {
    let (base, query) = database_url.split_once('?').unwrap_or((database_url, ""));
    let mut connections = 16;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("max_connections", value)) => {
                connections = value.parse().map_err(|_| {
                    StoreError::Other(format!("max_connections 应为正整数，而不是“{value}”"))
                })?;
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let options: sqlx::any::AnyConnectOptions = url.parse()?;
    let options = options.disable_statement_logging();
    let pool = AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|connection, _| {
            Box::pin(async move {
                // The store's statements are short or run once (a report); compiling them to machine code
                // cost more than it saved (0.5 s of the monthly report over 1,000,000 orders).
                connection.execute("SET jit = off").await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    sqlx::migrate!("src/store/migrations/postgres")
        .run(&pool)
        .await?;
    Ok(Pools {
        read: pool.clone(),
        write: pool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_names_the_backend() {
        assert_eq!(
            Backend::of("postgres://postgres@127.0.0.1/qihu"),
            Backend::Postgres
        );
        assert_eq!(Backend::of("postgresql://db/qihu"), Backend::Postgres);
        assert_eq!(Backend::of("sqlite://data/qihu.db"), Backend::Sqlite);
        assert_eq!(Backend::of("data/qihu.db"), Backend::Sqlite);
    }

    #[test]
    fn a_sqlite_url_names_its_file() {
        assert_eq!(
            sqlite_file("sqlite://data/qihu.db?max_page_count=10"),
            Some(Path::new("data/qihu.db"))
        );
        assert_eq!(
            sqlite_file("/var/lib/qihu/qihu.db"),
            Some(Path::new("/var/lib/qihu/qihu.db"))
        );
        assert_eq!(sqlite_file("postgres://db/qihu"), None);
    }

    #[test]
    fn a_full_disk_and_a_shutdown_are_temporary_on_postgres_a_syntax_error_is_not() {
        assert!(postgres_unavailable("53100")); // disk_full
        assert!(postgres_unavailable("57P01")); // admin_shutdown
        assert!(postgres_unavailable("08006")); // connection_failure
        assert!(postgres_unavailable("40001")); // serialization_failure
        assert!(!postgres_unavailable("42601")); // syntax_error
        assert!(!postgres_unavailable("23505")); // unique_violation
    }
}
