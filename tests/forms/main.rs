//! The forms backend end to end on SQLite, the embedded default: the story suite (`stories/`) and order
//! integrity (`integrity.rs`: races, roles, idempotency), which `tests/forms_postgres` runs on PostgreSQL too,
//! and the faults of an SQLite file (`sqlite_faults.rs`: a full disk, kill -9).

#[path = "../support/mod.rs"]
mod support;

mod integrity;
mod sqlite_faults;
mod stories;

/// The backend the story suite runs on in this binary.
const BACKEND: support::Backend = support::Backend::Sqlite;
