//! The forms backend end to end on PostgreSQL: the same story suite as on SQLite (`tests/forms/stories/`),
//! each test on a database of its own on the server the project's machines run (`QIHU_TEST_POSTGRES`), and
//! several instances on one database (`instances.rs`).

#[path = "../support/mod.rs"]
mod support;

#[path = "../forms/stories/mod.rs"]
mod stories;

#[path = "../forms/integrity.rs"]
mod integrity;

mod copy;
mod instances;

/// The backend the story suite runs on in this binary.
const BACKEND: support::Backend = support::Backend::Postgres;
