//! qihu-forms: everything after a request leaves the browser — requests (诉求), work orders (工单), dispatch
//! (派单), deadlines (办结时限), supervision cards (督办亮牌), evaluation (评价) and the official ledgers.
//!
//! This crate does not depend on the policy search engine; where it needs an instant answer (即时答复) it asks
//! through a trait that the root crate implements.

pub mod answer;
pub mod calendar;
pub mod console;
pub mod dispatch;
pub mod domain;
pub mod http;
pub mod mail;
pub mod order;
pub mod reports;
pub mod settings;
pub mod sla;
pub mod store;
pub mod verification;
pub mod workflow;
