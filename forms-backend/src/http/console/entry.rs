//! Entering a request for an enterprise (登记诉求: 电话, 征询专员).

use super::*;

/// What the entry form sends besides the request's own fields (those are a [`RequestForm`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct EntryExtras {
    /// 受理渠道: `phone` or `collector`.
    pub(super) channel: Option<String>,
    /// 备注, e.g. the reporting unit (提报单位) of a collector's entry.
    pub(super) note: Option<String>,
    /// One-time token of the page: a double-clicked form enters one request.
    pub(super) form_token: Option<String>,
}

/// A checked entry: the request with its channel, and the note.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) request: NewRequest,
    pub(super) note: Option<EntryNote>,
}

/// Checks the entry form: the request's fields exactly as the public form checks them, plus the channel and the
/// note. Every problem is reported at once, keyed by field name.
pub(super) fn read_entry(form: &RequestForm, extras: &EntryExtras) -> Result<Entry, FieldErrors> {
    let mut errors = FieldErrors::new();
    let channel = match extras.channel.as_deref().map(str::trim) {
        None | Some("") => {
            errors.insert("channel", "请选择受理渠道（电话或征询专员）");
            None
        }
        Some(input) => match input.parse::<Channel>() {
            Ok(channel) if Channel::ENTERED.contains(&channel) => Some(channel),
            // A web request comes only from the enterprise's own form.
            _ => {
                errors.insert("channel", "受理渠道应为电话或征询专员");
                None
            }
        },
    };
    let note = extras
        .note
        .as_deref()
        .map(str::trim)
        .filter(|note| !note.is_empty())
        .map(EntryNote::parse)
        .transpose();
    let note = errors.check("note", note);
    // The request's fields are checked even when the channel is wrong, so every problem shows at once; the
    // stand-in channel never leaves this function, because a wrong channel is an error.
    let request = match NewRequest::parse(form, channel.unwrap_or(Channel::Phone)) {
        Ok(request) => Some(request),
        Err(found) => {
            for (field, message) in found.iter() {
                errors.insert(field, message);
            }
            None
        }
    };
    match (request, channel, note) {
        (Some(request), Some(_), Some(note)) => Ok(Entry { request, note }),
        _ => Err(errors),
    }
}

/// What the entry form shows in its fields: the public form's fields, the channel and the note.
pub(super) fn entry_values(form: &RequestForm, extras: &EntryExtras) -> serde_json::Value {
    let mut values = form_values(form);
    values["channel"] = json!(extras.channel.as_deref().unwrap_or_default().trim());
    values["note"] = json!(extras.note.as_deref().unwrap_or_default());
    values
}

/// The entry form with the typed values and, after a failed attempt, each error beside its field.
pub(super) fn entry_form(
    forms: &Forms,
    staff: &Staff,
    values: &serde_json::Value,
    errors: Option<&FieldErrors>,
    status: StatusCode,
) -> Response {
    let title = if errors.is_some() {
        "请修改后重新登记"
    } else {
        "登记诉求"
    };
    let channels: Vec<Choice> = Channel::ENTERED
        .iter()
        .map(|channel| Choice {
            value: channel.code().to_owned(),
            label: channel.label().to_owned(),
        })
        .collect();
    let mut context = page_context(forms, Some(staff), title);
    context.insert("form", values);
    context.insert("errors", &errors);
    context.insert("channels", &channels);
    context.insert("towns", &forms.directory.town_names());
    context.insert("form_token", AccessToken::generate().as_str());
    render_page(forms, "console/new_request.html", &context, status)
}

/// 登记诉求: the form for a request that came by phone or from a town's collector.
pub(super) async fn new_request_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
) -> Response {
    let values = entry_values(&RequestForm::default(), &EntryExtras::default());
    entry_form(state.forms(), &staff, &values, None, StatusCode::OK)
}

/// The outcome of posting the entry form.
pub(super) enum Entered {
    Created(Box<RequestRow>),
    Invalid {
        values: serde_json::Value,
        errors: FieldErrors,
    },
}

/// Enters the request through the workflow, exactly like the enterprise's own submission (instant answer,
/// automatic dispatch, receipt e-mail), with the centre user as the first event's actor; then shows the order.
pub(super) async fn enter_request(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let pairs = form_pairs(&body)?;
        staff.may_act(field(&pairs, "csrf_token"))?;
        let unreadable = |_| AppError::BadRequest("无法识别提交的表单".to_owned());
        let form: RequestForm = serde_urlencoded::from_bytes(&body).map_err(unreadable)?;
        let extras: EntryExtras = serde_urlencoded::from_bytes(&body).map_err(unreadable)?;
        let entry = match read_entry(&form, &extras) {
            Ok(entry) => entry,
            Err(errors) => {
                return Ok(Entered::Invalid {
                    values: entry_values(&form, &extras),
                    errors,
                });
            }
        };
        let idempotency_key = idempotency_key(extras.form_token.as_deref());
        let submitted = forms
            .submit_entered(
                &entry.request,
                &staff.actor(),
                entry.note.as_ref().map(EntryNote::as_str),
                idempotency_key.as_deref(),
                Utc::now(),
            )
            .await?;
        tracing::info!(
            tracking_number = %submitted.row.tracking_number,
            channel = entry.request.channel.code(),
            actor = %staff.actor(),
            "推进中心登记诉求"
        );
        Ok::<_, AppError>(Entered::Created(Box::new(submitted.row)))
    }
    .await;
    match result {
        Ok(Entered::Created(row)) => Redirect::to(&format!(
            "/console/requests/{}?entered=1",
            row.tracking_number
        ))
        .into_response(),
        Ok(Entered::Invalid { values, errors }) => entry_form(
            forms,
            &staff,
            &values,
            Some(&errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(error) => message_page(forms, Some(&staff), error),
    }
}
