//! The instant-answer port (即时答复接口): the forms backend asks the policy base through this trait, which the
//! root crate implements with its search engine, so this crate does not depend on tantivy.

/// What the policy base says about a question.
#[derive(Debug, Clone)]
pub struct InstantAnswer {
    /// True only when the policy base really answers the question.
    pub answered: bool,
    /// The `/api/answer` object, shown to the enterprise and stored with the request.
    pub json: serde_json::Value,
}

/// Answers consultations from the policy base (notice §二(二)2: 即时答复).
pub trait InstantAnswerer: Send + Sync + 'static {
    /// `None` when the policy base cannot be asked right now (the request then goes to a person).
    fn answer(&self, question: &str) -> Option<InstantAnswer>;
}

/// A policy base that never answers: every consultation goes to a person.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAnswers;

impl InstantAnswerer for NoAnswers {
    fn answer(&self, _question: &str) -> Option<InstantAnswer> {
        None
    }
}
