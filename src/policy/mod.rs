//! The policy base (政策库): one Markdown file per policy, its front matter model, loading and validation.

mod diagnostic;
pub mod front_matter;
mod load;
mod model;

pub use diagnostic::{Diagnostic, Severity};
pub use load::{Corpus, LoadError, load};
pub use model::{
    EXPIRING_WINDOW_DAYS, Faq, Policy, Validity, normalise_doc_number, parse_date, parse_policy,
};
