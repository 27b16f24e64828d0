//! Evaluation of search and instant answers (检索评测) against a question set written the way enterprises ask:
//! top-1 accuracy, recall@3, MRR and the false-answer rate on questions the policy base cannot answer.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::engine::{QueryContext, SearchEngine, SearchServiceError};

/// The question set file (`tests/search_eval/questions.toml`).
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
    /// Part of the expected section heading or FAQ question, where it matters.
    #[serde(default)]
    pub section: Option<String>,
}

/// A question the policy base cannot answer (a wage dispute, a road repair, a topic we do not have).
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

/// The measured quality.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub questions: usize,
    pub unanswerable: usize,
    /// Share of questions whose first hit is an expected policy.
    pub top1: f64,
    /// Share with an expected policy among the first three hits.
    pub recall_at_3: f64,
    /// Mean reciprocal rank of the first expected policy in the first ten hits.
    pub mrr: f64,
    /// Share of questions with a `section` whose first expected hit points at that section.
    pub section_accuracy: f64,
    /// Share of answerable questions given an instant answer from an expected policy.
    pub answered_correctly: f64,
    /// Share of answerable questions given an instant answer from a wrong policy.
    pub answered_wrongly: f64,
    /// Share of unanswerable questions that got `answered: true`.
    pub false_answer_rate: f64,
    /// Every question that missed, for reading.
    pub misses: Vec<Miss>,
}

/// A question the engine got wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub q: String,
    pub problem: String,
}

/// Instant-answer outcomes at one confidence threshold.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdRow {
    pub threshold: f64,
    /// Share of answerable questions answered from an expected policy.
    pub correct: f64,
    /// Share of answerable questions answered from a wrong policy.
    pub wrong: f64,
    /// Share of unanswerable questions answered.
    pub false_answers: f64,
}

impl EvalSet {
    /// Answer outcomes for thresholds from 0.30 to 0.95: how the threshold in `engine.rs` is chosen (the highest
    /// share of correct answers with at most 2% wrong and 5% false answers).
    pub fn calibrate(
        &self,
        engine: &SearchEngine,
        context: &QueryContext,
    ) -> Result<Vec<ThresholdRow>, SearchServiceError> {
        let mut answerable = Vec::with_capacity(self.question.len());
        for question in &self.question {
            let assessment = engine.assess(&question.q, context)?;
            let right = assessment
                .best
                .as_ref()
                .is_some_and(|answer| question.expect.contains(&answer.slug));
            answerable.push((assessment.confidence, right));
        }
        let mut unanswerable = Vec::with_capacity(self.unanswerable.len());
        for question in &self.unanswerable {
            unanswerable.push(engine.assess(&question.q, context)?.confidence);
        }
        let share = |count: usize, total: usize| count as f64 / total.max(1) as f64;
        Ok((6..=19)
            .map(|step| {
                let threshold = f64::from(step) * 0.05;
                let answered = |c: &f64| *c >= threshold;
                ThresholdRow {
                    threshold,
                    correct: share(
                        answerable
                            .iter()
                            .filter(|(c, right)| answered(c) && *right)
                            .count(),
                        answerable.len(),
                    ),
                    wrong: share(
                        answerable
                            .iter()
                            .filter(|(c, right)| answered(c) && !*right)
                            .count(),
                        answerable.len(),
                    ),
                    false_answers: share(
                        unanswerable.iter().filter(|c| answered(c)).count(),
                        unanswerable.len(),
                    ),
                }
            })
            .collect())
    }

    pub fn load(path: &Path) -> Result<EvalSet, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("读取评测集 {} 失败：{error}", path.display()))?;
        toml::from_str(&text)
            .map_err(|error| format!("评测集 {} 格式有误：{error}", path.display()))
    }

    pub fn run(
        &self,
        engine: &SearchEngine,
        context: &QueryContext,
    ) -> Result<EvalReport, SearchServiceError> {
        let mut top1 = 0;
        let mut recall3 = 0;
        let mut reciprocal = 0.0;
        let mut with_section = 0;
        let mut section_right = 0;
        let mut answered_correctly = 0;
        let mut answered_wrongly = 0;
        let mut misses = Vec::new();
        for question in &self.question {
            let hits = engine.search(&question.q, 10, context)?.hits;
            let rank = hits
                .iter()
                .position(|hit| question.expect.contains(&hit.slug));
            match rank {
                Some(0) => top1 += 1,
                Some(place) => misses.push(Miss {
                    q: question.q.clone(),
                    problem: format!(
                        "期望的政策排在第 {} 位（第 1 位是 {}）",
                        place + 1,
                        hits[0].slug
                    ),
                }),
                None => misses.push(Miss {
                    q: question.q.clone(),
                    problem: format!(
                        "前 10 条中没有期望的政策（第 1 位是 {}）",
                        hits.first().map_or("无结果", |hit| hit.slug.as_str())
                    ),
                }),
            }
            if rank.is_some_and(|place| place < 3) {
                recall3 += 1;
            }
            if let Some(place) = rank {
                reciprocal += 1.0 / (place as f64 + 1.0);
            }
            if let Some(section) = &question.section {
                with_section += 1;
                let right = rank.is_some_and(|place| {
                    hits[place]
                        .section
                        .as_deref()
                        .is_some_and(|found| found.contains(section.as_str()))
                });
                if right {
                    section_right += 1;
                }
            }
            let answer = engine.answer(&question.q, context)?;
            if let Some(given) = answer.answer.filter(|_| answer.answered) {
                if question.expect.contains(&given.slug) {
                    answered_correctly += 1;
                } else {
                    answered_wrongly += 1;
                    misses.push(Miss {
                        q: question.q.clone(),
                        problem: format!(
                            "即时答复来自错误的政策 {}（置信度 {}）",
                            given.slug, answer.confidence
                        ),
                    });
                }
            }
        }
        let mut false_answers = 0;
        for question in &self.unanswerable {
            let answer = engine.answer(&question.q, context)?;
            if answer.answered {
                false_answers += 1;
                misses.push(Miss {
                    q: question.q.clone(),
                    problem: format!(
                        "不应即时答复，却给出了 {} 的答复（置信度 {}）",
                        answer.answer.map(|a| a.slug).unwrap_or_default(),
                        answer.confidence
                    ),
                });
            }
        }
        let share = |count: usize, total: usize| {
            if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            }
        };
        let questions = self.question.len();
        Ok(EvalReport {
            questions,
            unanswerable: self.unanswerable.len(),
            top1: share(top1, questions),
            recall_at_3: share(recall3, questions),
            mrr: if questions == 0 {
                0.0
            } else {
                reciprocal / questions as f64
            },
            section_accuracy: share(section_right, with_section),
            answered_correctly: share(answered_correctly, questions),
            answered_wrongly: share(answered_wrongly, questions),
            false_answer_rate: share(false_answers, self.unanswerable.len()),
            misses,
        })
    }
}
