//! Reports (报表): the official tables of the notice (附件2–5), bulletins and rankings.

pub mod ledger;
