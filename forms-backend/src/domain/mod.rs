//! Domain types of the forms backend: values that parse from user input and cannot be invalid afterwards.

mod request_kind;

pub use request_kind::{RequestKind, UnknownRequestKind};
