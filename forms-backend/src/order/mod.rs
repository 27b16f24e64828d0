//! The typed order model (工单模型): its status, the kinds of event in its history, who acts, which links
//! grant what, and the one function that decides every step ([`rules::decide`]). Nothing here touches the
//! database or the clock.

mod actor;
mod event;
pub mod link;
mod outcome;
pub mod payload;
pub mod rules;
mod status;

pub use actor::{Actor, UnknownActor};
pub use event::{EventKind, UnknownEventKind};
pub use link::{Link, LinkRole};
pub use outcome::{CardKind, Conclusion, UnknownConclusion};
pub use payload::Event;
pub use rules::{OrderState, Outcome, Refusal, Step, decide};
pub use status::{Status, UnknownStatus};
