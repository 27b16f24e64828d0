//! Several `qihu serve` instances on one PostgreSQL database.
