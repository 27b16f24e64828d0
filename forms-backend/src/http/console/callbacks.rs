//! 待回访评价 (the call-back worklist, notice §二(五)1 电话回访): every reported result still waiting for the
//! enterprise's rating, the oldest report first, with the day it will be closed as 未评价 if nobody rates it.

use super::*;

#[derive(Serialize)]
pub(super) struct AwaitingRating<'a> {
    #[serde(flatten)]
    pub(super) order: OrderView<'a>,
    pub(super) contact_name: &'a str,
    pub(super) contact_phone: &'a str,
    pub(super) resolved_label: String,
    pub(super) lapses_label: String,
    /// Within one working day of being closed as 未评价.
    pub(super) urgent: bool,
}

pub(super) async fn call_backs_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let waiting = match forms.store.awaiting_rating().await {
        Ok(waiting) => waiting,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let calendar = forms.calendar.current();
    let days = forms.dispatch.rating_working_days;
    let soon = calendar.due(now, 1);
    let items: Vec<AwaitingRating<'_>> = waiting
        .iter()
        .map(|(row, resolved_at)| {
            let lapses = crate::sla::rating_lapses_at(&calendar, *resolved_at, days);
            AwaitingRating {
                order: order_view(forms, row, now),
                contact_name: &row.contact_name,
                contact_phone: &row.contact_phone,
                resolved_label: crate::calendar::minute_label(*resolved_at),
                lapses_label: crate::calendar::minute_label(lapses),
                urgent: lapses <= soon,
            }
        })
        .collect();
    let mut context = page_context(forms, Some(&staff), "待回访评价");
    context.insert("items", &items);
    context.insert("rating_working_days", &days);
    render_page(forms, "console/call_backs.html", &context, StatusCode::OK)
}
