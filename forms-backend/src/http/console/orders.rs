//! One order: its page, dispatch (派单), plan approval and the call-back (电话回访).

use super::*;

pub(super) async fn find_order(
    forms: &Forms,
    tracking_number: &str,
) -> Result<RequestRow, AppError> {
    forms
        .store
        .request_by_tracking_number(tracking_number.trim())
        .await?
        .ok_or(AppError::NotFound)
}

/// A step the centre posts on one order: the form's fields once the staff member may act (the session's CSRF
/// token checked), and the order.
pub(super) async fn posted_on_order(
    forms: &Forms,
    staff: &Staff,
    tracking_number: &str,
    body: &Bytes,
) -> Result<(Vec<(String, String)>, RequestRow), AppError> {
    let pairs = form_pairs(body)?;
    staff.may_act(field(&pairs, "csrf_token"))?;
    let row = find_order(forms, tracking_number).await?;
    Ok((pairs, row))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct OrderQuery {
    pub(super) dispatched: Option<String>,
    /// Just entered by the centre (登记诉求).
    pub(super) entered: Option<String>,
}

/// The whole order: every field, status, units, deadline, the policy base's answer, the complete history with
/// who acted and every detail, and the dispatch or re-dispatch form while that is still possible.
pub(super) async fn order_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    query: Result<Query<OrderQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let query = query.ok().map(|Query(query)| query).unwrap_or_default();
    let row = match find_order(forms, &tracking_number).await {
        Ok(row) => row,
        Err(error) => return message_page(forms, Some(&staff), error),
    };
    let events = match forms.store.events(row.id).await {
        Ok(events) => events,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let timeline: Vec<ConsoleEvent> = events
        .iter()
        .map(|event| console_event(forms, event))
        .collect();
    let centre = Actor::centre(&staff.0.user.username);
    let can = |step| decide(&row.state(), &centre, step).is_ok();
    let can_dispatch = can(Step::Dispatch);
    let mut context = page_context(
        forms,
        Some(&staff),
        &format!("诉求详情 {}", row.tracking_number),
    );
    context.insert("request", &order_view(forms, &row, Utc::now()));
    context.insert(
        "instant_answer",
        &row.instant_answer
            .as_deref()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .map(|answer| instant_answer_summary(&answer)),
    );
    context.insert("timeline", &timeline);
    context.insert("can_dispatch", &can_dispatch);
    context.insert("can_call_back", &can(Step::Rate { satisfied: true }));
    // The lead unit's supervision card (督办亮牌) today, computed from the card events.
    if let Some(unit) = row.lead_unit.as_deref() {
        match forms.store.supervision_events().await {
            Ok(events) => {
                let card = crate::sla::cards::unit_card_state(&events, unit, Utc::now());
                context.insert("unit_card", &json!({ "code": card, "label": card.label() }));
            }
            Err(error) => tracing::error!("读取督办亮牌记录失败：{error}"),
        }
    }
    context.insert("can_approve_plan", &can(Step::ApprovePlan));
    context.insert("can_refer", &can(Step::ReferToGovernment));
    context.insert(
        "can_coordinate",
        &can(Step::RecordCoordination { assigned: false }),
    );
    context.insert("cards", &supervision::order_cards(forms, &events));
    match verification::view(forms, &row, &events).await {
        Ok(view) => context.insert("verification", &view),
        Err(error) => return message_page(forms, Some(&staff), error),
    }
    if can_dispatch {
        context.insert("form", &dispatch_form(forms, &row));
        context.insert("unit_groups", &unit_groups(forms));
    }
    context.insert("dispatched", &query.dispatched.is_some());
    context.insert("entered", &query.entered.is_some());
    render_page(forms, "console/order.html", &context, StatusCode::OK)
}

/// What the dispatch form sends.
pub(super) struct DispatchChoice {
    pub(super) lead_unit: String,
    pub(super) co_units: Vec<String>,
    pub(super) reason: String,
    pub(super) back_to_queue: bool,
}

pub(super) fn read_dispatch(
    pairs: &[(String, String)],
    redispatch: bool,
) -> Result<DispatchChoice, AppError> {
    let lead_unit = field(pairs, "lead_unit")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if lead_unit.is_empty() {
        return Err(AppError::BadRequest("请选择首接单位".to_owned()));
    }
    let mut seen = HashSet::new();
    let co_units: Vec<String> = pairs
        .iter()
        .filter(|(key, _)| key == "co_units")
        .map(|(_, value)| value.trim().to_owned())
        .filter(|unit| !unit.is_empty() && *unit != lead_unit && seen.insert(unit.clone()))
        .collect();
    let reason: String = field(pairs, "reason")
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if reason.chars().count() > 500 {
        return Err(AppError::BadRequest("派单说明不能超过500个字".to_owned()));
    }
    let reason = match (reason.is_empty(), redispatch) {
        (true, true) => return Err(AppError::BadRequest("改派请填写改派原因".to_owned())),
        (true, false) => "推进中心研判派单".to_owned(),
        (false, _) => reason,
    };
    Ok(DispatchChoice {
        lead_unit,
        co_units,
        reason,
        back_to_queue: field(pairs, "return_to") == Some("queue"),
    })
}

/// 派单 / 改派: sends the order to the chosen units (e-mails go out through the outbox).
pub(super) async fn dispatch(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let (pairs, row) = posted_on_order(forms, &staff, &tracking_number, &body).await?;
        let choice = read_dispatch(&pairs, row.status != Status::New)?;
        let row = forms
            .dispatch(
                &row,
                &choice.lead_unit,
                &choice.co_units,
                &staff.actor(),
                &choice.reason,
                Utc::now(),
            )
            .await?;
        tracing::info!(
            tracking_number = %row.tracking_number,
            lead_unit = %choice.lead_unit,
            actor = %staff.actor(),
            "推进中心派单"
        );
        Ok::<_, AppError>((row, choice.back_to_queue))
    }
    .await;
    match result {
        Ok((row, true)) => Redirect::to(&format!(
            "/console?{}",
            serde_urlencoded::to_string([("dispatched", row.tracking_number.as_str())])
                .unwrap_or_default()
        ))
        .into_response(),
        Ok((row, false)) => Redirect::to(&format!(
            "/console/requests/{}?dispatched=1",
            row.tracking_number
        ))
        .into_response(),
        Err(error) => message_page(forms, Some(&staff), error),
    }
}

/// After a step on an order: back to its page, or the error explained.
pub(super) fn back_to_order(
    forms: &Forms,
    staff: &Staff,
    result: Result<RequestRow, AppError>,
) -> Response {
    match result {
        Ok(row) => {
            Redirect::to(&format!("/console/requests/{}", row.tracking_number)).into_response()
        }
        Err(error) => message_page(forms, Some(staff), error),
    }
}

/// The centre approves a unit's plan; the order's deadline becomes the committed date.
pub(super) async fn approve_plan(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let (_, row) = posted_on_order(forms, &staff, &tracking_number, &body).await?;
        forms
            .approve_plan(&row, &staff.actor(), Utc::now())
            .await
            .map_err(AppError::from)
    }
    .await;
    back_to_order(forms, &staff, result)
}

/// The centre rejects a unit's plan with its reason (退回方案); the unit handles on, its deadline moved by the working
/// days the plan waited.
pub(super) async fn reject_plan(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let (pairs, row) = posted_on_order(forms, &staff, &tracking_number, &body).await?;
        let reason =
            crate::http::required_text(field(&pairs, "reason"), "退回解决方案的理由", 1000)?;
        forms
            .reject_plan(&row, &reason, &staff.actor(), Utc::now())
            .await
            .map_err(AppError::from)
    }
    .await;
    back_to_order(forms, &staff, result)
}

/// 上报市政府 (notice §二(二)): the centre refers the order to the city government, with its reason.
pub(super) async fn refer_to_government(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let (pairs, row) = posted_on_order(forms, &staff, &tracking_number, &body).await?;
        let reason = crate::http::required_text(field(&pairs, "reason"), "上报理由", 1000)?;
        forms
            .refer_to_government(&row, &reason, &staff.actor(), Utc::now())
            .await
            .map_err(AppError::from)
    }
    .await;
    back_to_order(forms, &staff, result)
}

/// 市政府协调意见: the centre records the government's coordination; the order goes back to its unit.
pub(super) async fn record_coordination(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let (pairs, row) = posted_on_order(forms, &staff, &tracking_number, &body).await?;
        let leader = crate::http::required_text(field(&pairs, "leader"), "协调的市政府领导", 100)?;
        let note = crate::http::required_text(field(&pairs, "note"), "协调意见", 2000)?;
        forms
            .record_coordination(&row, &leader, &note, &staff.actor(), Utc::now())
            .await
            .map_err(AppError::from)
    }
    .await;
    back_to_order(forms, &staff, result)
}

/// 电话回访 (notice §二(五)1): the centre calls the enterprise back and records its rating; it can also record that
/// the enterprise says the unit never contacted it (虚假反馈, notice §二(五)3), which the reports count.
pub(super) async fn call_back(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let (pairs, row) = posted_on_order(forms, &staff, &tracking_number, &body).await?;
        let (rating, comment) =
            crate::http::read_rating(field(&pairs, "rating"), field(&pairs, "comment"))?;
        let false_feedback = field(&pairs, "false_feedback").is_some_and(|value| !value.is_empty());
        forms
            .record_call_back(
                &row,
                rating,
                &comment,
                false_feedback,
                &staff.actor(),
                Utc::now(),
            )
            .await
            .map_err(AppError::from)
    }
    .await;
    back_to_order(forms, &staff, result)
}
