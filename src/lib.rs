//! qihu (企呼政应·接诉即办): the policy supermarket (政策超市) and the glue that serves it together with the
//! forms backend (`qihu-forms`). See `docs/architecture.md` for how the pieces fit.

pub mod build;
pub mod cli;
pub mod commands;
pub mod config;
pub mod database;
pub mod forms_commands;
pub mod markdown;
pub mod model;
pub mod policy;
pub mod publish;
pub mod search;
pub mod serve;
pub mod site;
pub mod synthetic;
