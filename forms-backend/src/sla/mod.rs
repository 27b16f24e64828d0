//! Time limits (办结时限). Notice §二(三): a unit solves and reports within 5 working days of receiving the
//! work order; working days come from [`crate::calendar::Calendar`].

pub mod cards;
pub mod order_supervision;
mod pass;
mod reminders;

/// Notice §二(三): solve and report within 5 working days.
pub const RESOLUTION_WORKING_DAYS: u32 = 5;
