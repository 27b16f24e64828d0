//! Knowledge gaps (知识缺口).

use super::*;

/// A knowledge gap: the consultation, and the instant answer it got when the enterprise escalated it anyway.
#[derive(Serialize)]
pub(super) struct GapView<'a> {
    #[serde(flatten)]
    pub(super) order: OrderView<'a>,
    pub(super) answer: Option<GivenAnswer>,
}

/// The instant answer a consultation got (即时答复), as the enterprise saw it.
#[derive(Serialize)]
pub(super) struct GivenAnswer {
    pub(super) title: String,
    pub(super) text: String,
    pub(super) url: String,
}

/// Consultations the policy base could not answer, and those whose instant answer did not solve the problem,
/// newest first: what the centre adds to or corrects in the policy base next.
pub(super) async fn knowledge_gaps_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let rows = match forms.store.knowledge_gaps(KNOWLEDGE_GAP_LIMIT).await {
        Ok(rows) => rows,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let gaps: Vec<GapView<'_>> = rows
        .iter()
        .map(|row| GapView {
            order: order_view(forms, row, now),
            answer: row
                .instant_answer
                .as_deref()
                .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
                .filter(|answer| answer["answered"] == serde_json::Value::Bool(true))
                .map(|answer| GivenAnswer {
                    title: answer["answer"]["title"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    text: answer["answer"]["text"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    url: answer["answer"]["url"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                }),
        })
        .collect();
    let mut context = page_context(forms, Some(&staff), "知识缺口");
    context.insert("gaps", &gaps);
    context.insert("limit", &KNOWLEDGE_GAP_LIMIT);
    render_page(
        forms,
        "console/knowledge_gaps.html",
        &context,
        StatusCode::OK,
    )
}
