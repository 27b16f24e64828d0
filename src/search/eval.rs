//! Evaluation of search and instant answers (检索评测) against question sets written the way enterprises ask,
//! before the engine was tuned: top-1, recall@3, MRR, section@1, the false-answer and false-refusal rates and
//! the whole curve of both over the threshold.
//!
//! Every question belongs to one of two halves by a hash of its text: the **calibration** half, on which the
//! threshold is chosen, and the **held-out** half, on which the figures are reported. Nothing is tuned on the
//! half it is scored on.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::engine::{QueryContext, SearchEngine, SearchServiceError};

/// A question set file (`tests/search_eval/*.toml`).
#[derive(Debug, Clone, Deserialize)]
pub struct EvalSet {
    #[serde(default)]
    pub question: Vec<EvalQuestion>,
    #[serde(default)]
    pub unanswerable: Vec<Unanswerable>,
}

/// A question the policy base answers, and where.
#[derive(Debug, Clone, Deserialize)]
pub struct EvalQuestion {
    pub q: String,
    /// Slug (or slugs) of the policy that answers it.
    pub expect: OneOrMany,
    /// Part of the expected heading path, or the article (`第二十三条`), where it matters.
    #[serde(default)]
    pub section: Option<String>,
}

/// A question the policy base cannot answer (a specific case, an absent topic, a neighbouring rule we lack).
#[derive(Debug, Clone, Deserialize)]
pub struct Unanswerable {
    pub q: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn contains(&self, slug: &str) -> bool {
        match self {
            OneOrMany::One(one) => one == slug,
            OneOrMany::Many(many) => many.iter().any(|s| s == slug),
        }
    }
}

/// Which half of a set a question is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Calibration,
    HeldOut,
}

impl Part {
    /// The half of `question`: by the first byte of the SHA-256 of its text, so it never changes with the
    /// engine and does not depend on the order of the file.
    pub fn of(question: &str) -> Part {
        if Sha256::digest(question.as_bytes())[0] % 2 == 0 {
            Part::Calibration
        } else {
            Part::HeldOut
        }
    }
}

/// What the engine did with one question.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub q: String,
    pub part: Part,
    pub answerable: bool,
    /// Rank of the first expected policy among the first ten hits.
    pub rank: Option<usize>,
    /// Whether the first hit, being an expected policy, points at the expected section or article.
    pub section_right: Option<bool>,
    pub confidence: f64,
    /// Slug of the policy the best candidate answer comes from.
    pub answer_slug: Option<String>,
    /// Whether that policy is an expected one.
    pub answer_right: bool,
    pub first_hit: Option<String>,
    /// The first policy of each retriever alone.
    pub lexical_first: Option<String>,
    pub semantic_first: Option<String>,
    pub signals: Option<super::answer::GateSignals>,
}

/// Figures over a group of outcomes at one threshold.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Figures {
    pub questions: usize,
    pub unanswerable: usize,
    pub top1: f64,
    pub recall_at_3: f64,
    pub mrr: f64,
    /// Share of questions with a section whose first hit is right and points there.
    pub section_at_1: f64,
    /// Answerable questions answered from an expected policy.
    pub answered_correctly: f64,
    /// Answerable questions answered from a wrong policy.
    pub answered_wrongly: f64,
    /// Unanswerable questions that got `answered: true`.
    pub false_answer_rate: f64,
    /// Answerable questions that got `answered: false`.
    pub false_refusal_rate: f64,
}

/// One point of the false-answer / false-refusal curve.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CurvePoint {
    pub threshold: f64,
    pub false_answers: f64,
    pub false_refusals: f64,
    pub wrong_answers: f64,
}

/// The evaluation of one set.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub set: PathBuf,
    /// The engine's threshold, which the figures use.
    pub threshold: f64,
    pub held_out: Figures,
    pub calibration: Figures,
    /// Over the held-out half.
    pub curve: Vec<CurvePoint>,
    pub outcomes: Vec<Outcome>,
}

/// Most false answers (unanswerable questions answered) and wrong answers (answered from a wrong policy) the
/// calibration allows, as shares of their questions.
pub const MAX_FALSE_ANSWERS: f64 = 0.05;
pub const MAX_WRONG_ANSWERS: f64 = 0.05;

fn share(count: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

/// The figures of `outcomes` when questions are answered from `threshold` up.
pub fn figures(outcomes: &[&Outcome], threshold: f64) -> Figures {
    let answerable: Vec<&&Outcome> = outcomes.iter().filter(|o| o.answerable).collect();
    let unanswerable = outcomes.len() - answerable.len();
    let answered = |o: &Outcome| o.answer_slug.is_some() && o.confidence >= threshold;
    let with_section: Vec<&&&Outcome> = answerable
        .iter()
        .filter(|o| o.section_right.is_some())
        .collect();
    Figures {
        questions: answerable.len(),
        unanswerable,
        top1: share(
            answerable.iter().filter(|o| o.rank == Some(0)).count(),
            answerable.len(),
        ),
        recall_at_3: share(
            answerable
                .iter()
                .filter(|o| o.rank.is_some_and(|r| r < 3))
                .count(),
            answerable.len(),
        ),
        mrr: if answerable.is_empty() {
            0.0
        } else {
            answerable
                .iter()
                .filter_map(|o| o.rank)
                .map(|r| 1.0 / (r as f64 + 1.0))
                .sum::<f64>()
                / answerable.len() as f64
        },
        section_at_1: share(
            with_section
                .iter()
                .filter(|o| o.section_right == Some(true))
                .count(),
            with_section.len(),
        ),
        answered_correctly: share(
            answerable
                .iter()
                .filter(|o| answered(o) && o.answer_right)
                .count(),
            answerable.len(),
        ),
        answered_wrongly: share(
            answerable
                .iter()
                .filter(|o| answered(o) && !o.answer_right)
                .count(),
            answerable.len(),
        ),
        false_answer_rate: share(
            outcomes
                .iter()
                .filter(|o| !o.answerable && answered(o))
                .count(),
            unanswerable,
        ),
        false_refusal_rate: share(
            answerable.iter().filter(|o| !answered(o)).count(),
            answerable.len(),
        ),
    }
}

/// Thresholds the curve and the calibration look at.
fn thresholds() -> impl Iterator<Item = f64> {
    (0..=60).map(|step| 0.30 + f64::from(step) * 0.0125)
}

/// The lowest threshold (most answers) at which `outcomes` stay within [`MAX_FALSE_ANSWERS`] and
/// [`MAX_WRONG_ANSWERS`]: how the threshold in `answer.rs` is chosen, on the calibration half.
pub fn calibrate(outcomes: &[&Outcome]) -> Option<f64> {
    thresholds().find(|&threshold| {
        let figures = figures(outcomes, threshold);
        figures.false_answer_rate <= MAX_FALSE_ANSWERS
            && figures.answered_wrongly <= MAX_WRONG_ANSWERS
    })
}

impl EvalSet {
    pub fn load(path: &Path) -> Result<EvalSet, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("读取评测集 {} 失败：{error}", path.display()))?;
        toml::from_str(&text)
            .map_err(|error| format!("评测集 {} 格式有误：{error}", path.display()))
    }

    /// Asks every question once (search and answer, as `/search` and `/api/answer` do).
    pub fn outcomes(
        &self,
        engine: &SearchEngine,
        context: &QueryContext,
    ) -> Result<Vec<Outcome>, SearchServiceError> {
        let mut outcomes = Vec::with_capacity(self.question.len() + self.unanswerable.len());
        let asked = self
            .question
            .iter()
            .map(|q| (q.q.as_str(), Some(q)))
            .chain(self.unanswerable.iter().map(|u| (u.q.as_str(), None)));
        for (text, question) in asked {
            let hits = engine.search_hybrid(text, 10, context)?.hits;
            let assessment = engine.assess(text, context)?;
            let expects = |slug: &str| question.is_some_and(|q| q.expect.contains(slug));
            let rank = hits.iter().position(|hit| expects(&hit.slug));
            let section_right = question.and_then(|q| q.section.as_ref()).map(|wanted| {
                hits.first().is_some_and(|hit| {
                    expects(&hit.slug)
                        && (hit
                            .section
                            .as_deref()
                            .is_some_and(|found| found.contains(wanted.as_str()))
                            || hit.article.as_deref() == Some(wanted.as_str()))
                })
            });
            let answer_slug = assessment.best.as_ref().map(|answer| answer.slug.clone());
            let (lexical_first, semantic_first) = engine.retriever_tops(text, context)?;
            outcomes.push(Outcome {
                q: text.to_owned(),
                part: Part::of(text),
                answerable: question.is_some(),
                rank,
                section_right,
                confidence: assessment.confidence,
                answer_right: answer_slug.as_deref().is_some_and(expects),
                answer_slug,
                first_hit: hits.first().map(|hit| hit.slug.clone()),
                lexical_first,
                semantic_first,
                signals: assessment.signals,
            });
        }
        Ok(outcomes)
    }

    /// The whole evaluation of the set at the engine's threshold.
    pub fn run(
        &self,
        path: &Path,
        engine: &SearchEngine,
        context: &QueryContext,
    ) -> Result<EvalReport, SearchServiceError> {
        let outcomes = self.outcomes(engine, context)?;
        Ok(report(path, engine.answer_threshold(), outcomes))
    }
}

/// The report of a set's outcomes at `threshold`.
pub fn report(path: &Path, threshold: f64, outcomes: Vec<Outcome>) -> EvalReport {
    let part =
        |wanted: Part| -> Vec<&Outcome> { outcomes.iter().filter(|o| o.part == wanted).collect() };
    let held_out = part(Part::HeldOut);
    let calibration = part(Part::Calibration);
    let curve = thresholds()
        .map(|threshold| {
            let figures = figures(&held_out, threshold);
            CurvePoint {
                threshold,
                false_answers: figures.false_answer_rate,
                false_refusals: figures.false_refusal_rate,
                wrong_answers: figures.answered_wrongly,
            }
        })
        .collect();
    EvalReport {
        set: path.to_owned(),
        threshold,
        held_out: figures(&held_out, threshold),
        calibration: figures(&calibration, threshold),
        curve,
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(answerable: bool, confidence: f64, right: bool) -> Outcome {
        Outcome {
            q: String::new(),
            part: Part::HeldOut,
            answerable,
            rank: Some(if right { 0 } else { 1 }),
            section_right: None,
            confidence,
            answer_slug: Some("a".to_owned()),
            answer_right: right,
            first_hit: None,
            lexical_first: None,
            semantic_first: None,
            signals: None,
        }
    }

    #[test]
    fn figures_count_false_answers_refusals_and_wrong_answers_at_a_threshold() {
        let outcomes = [
            outcome(true, 0.9, true),
            outcome(true, 0.5, true),
            outcome(true, 0.8, false),
            outcome(false, 0.7, false),
            outcome(false, 0.2, false),
        ];
        let refs: Vec<&Outcome> = outcomes.iter().collect();
        let at = figures(&refs, 0.6);
        assert_eq!(at.questions, 3);
        assert!((at.false_refusal_rate - 1.0 / 3.0).abs() < 1e-9);
        assert!((at.answered_wrongly - 1.0 / 3.0).abs() < 1e-9);
        assert!((at.false_answer_rate - 0.5).abs() < 1e-9);
        assert!((at.top1 - 2.0 / 3.0).abs() < 1e-9);
        // The lowest threshold with at most 5% wrong and false answers is above 0.8.
        let chosen = calibrate(&refs).unwrap();
        assert!(chosen > 0.8 && chosen <= 0.9, "{chosen}");
    }

    #[test]
    fn the_halves_do_not_depend_on_the_engine_or_the_order() {
        assert_eq!(
            Part::of("小微企业有哪些税收优惠"),
            Part::of("小微企业有哪些税收优惠")
        );
        let halves: Vec<Part> = (0..200).map(|i| Part::of(&format!("问题{i}"))).collect();
        let held_out = halves.iter().filter(|p| **p == Part::HeldOut).count();
        assert!((70..=130).contains(&held_out), "{held_out}");
    }
}
