//! The console's part of the verification (办结核查, notice §二(四)3): the printable 不满意诉求审核反馈表, the
//! files the lead unit uploaded, and the task force's verification opinion (核查意见) the centre records.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{ConsoleState, Staff, back_to_order, field, find_order, message_page, posted_on_order};
use crate::domain::MediaType;
use crate::http::unit::{UploadView, render_sheet};
use crate::http::{AppError, required_text};
use crate::order::{Status, UnknownConclusion};
use crate::store::{EventRow, RequestRow};
use crate::verification::{self, Conclusion};
use crate::workflow::{Forms, WorkflowError};

/// What the order page shows of the verification.
#[derive(Debug, Serialize)]
pub(super) struct VerificationView {
    /// The order waits for the task force.
    pending: bool,
    /// The form can be printed (the order is or was in verification).
    printable: bool,
    /// Every upload, newest first; the one that counts is marked.
    uploads: Vec<UploadView>,
    /// The current verification has a form, so an opinion can be recorded.
    can_record_opinion: bool,
    conclusions: Vec<ConclusionChoice>,
    explanation: Option<String>,
}

#[derive(Debug, Serialize)]
struct ConclusionChoice {
    value: &'static str,
    label: &'static str,
}

/// The verification part of the order page, or `None` for an order that never went to verification.
pub(super) async fn view(
    forms: &Forms,
    row: &RequestRow,
    events: &[EventRow],
) -> Result<Option<VerificationView>, AppError> {
    if !verification::has_verification(events) {
        return Ok(None);
    }
    let stored = forms.store.verification_forms(row.id).await?;
    let current = verification::current_forms(events, &stored)
        .first()
        .map(|form| form.id);
    let pending = row.status == Status::Verification;
    Ok(Some(VerificationView {
        pending,
        printable: true,
        uploads: stored
            .iter()
            .map(|form| UploadView::of(form, Some(form.id) == current))
            .collect(),
        can_record_opinion: pending && current.is_some(),
        conclusions: Conclusion::ALL
            .iter()
            .map(|conclusion| ConclusionChoice {
                value: conclusion.code(),
                label: conclusion.label(),
            })
            .collect(),
        explanation: verification::current_explanation(events),
    }))
}

/// The printable form, for the centre and the task force.
pub(super) async fn sheet(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
) -> Response {
    let forms = state.forms();
    let result = async {
        let row = find_order(forms, &tracking_number).await?;
        let events = forms.store.events(row.id).await?;
        Ok::<_, AppError>((row, events))
    }
    .await;
    match result {
        Ok((row, events)) => render_sheet(
            forms,
            &row,
            &events,
            &format!("/console/requests/{}", row.tracking_number),
        ),
        Err(error) => message_page(forms, Some(&staff), error),
    }
}

/// RFC 5987 value of a `filename*` parameter: UTF-8, every byte but unreserved ASCII percent-encoded.
fn ext_value(name: &str) -> String {
    name.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// `attachment` with an ASCII name made of the tracking number and the form's id (for old clients), and the
/// sanitised original name as UTF-8.
fn content_disposition(
    tracking_number: &str,
    id: i64,
    file_name: &str,
    kind: Option<MediaType>,
) -> String {
    let ascii: String = tracking_number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let extension = kind.map_or("bin", MediaType::extension);
    format!(
        "attachment; filename=\"{ascii}-verification-{id}.{extension}\"; filename*=UTF-8''{}",
        ext_value(file_name)
    )
}

/// One uploaded file, as it was stored: its content type, a safe download name, never sniffed or run.
pub(super) async fn download(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path((tracking_number, form_id)): Path<(String, i64)>,
) -> Response {
    let forms = state.forms();
    let result = async {
        let row = find_order(forms, &tracking_number).await?;
        let (form, content) = forms
            .store
            .verification_form_content(row.id, form_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok::<_, AppError>((row, form, content))
    }
    .await;
    let (row, form, content) = match result {
        Ok(found) => found,
        Err(error) => return message_page(forms, Some(&staff), error),
    };
    let kind = MediaType::from_mime(&form.media_type);
    let mut response = Body::from(content).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.map_or("application/octet-stream", MediaType::mime)),
    );
    if let Ok(value) = HeaderValue::from_str(&content_disposition(
        &row.tracking_number,
        form.id,
        &form.file_name,
        kind,
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Opened in a tab anyway, the file can run nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}

/// 核查意见: the centre records the task force's opinion and conclusion on the uploaded form.
pub(super) async fn opinion(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    Path(tracking_number): Path<String>,
    body: Bytes,
) -> Response {
    let forms = state.forms();
    let result = async {
        let (pairs, row) = posted_on_order(forms, &staff, &tracking_number, &body).await?;
        let conclusion: Conclusion = field(&pairs, "conclusion")
            .unwrap_or_default()
            .parse()
            .map_err(|error: UnknownConclusion| WorkflowError::Invalid(error.to_string()))?;
        let opinion = required_text(
            field(&pairs, "opinion"),
            "工作专班的核查意见",
            verification::MAX_TEXT,
        )?;
        let row = forms
            .record_verification_opinion(
                &row,
                conclusion,
                &opinion,
                &staff.actor(),
                chrono::Utc::now(),
            )
            .await?;
        tracing::info!(
            tracking_number = %row.tracking_number,
            conclusion = conclusion.code(),
            actor = %staff.actor(),
            "记录工作专班核查意见"
        );
        Ok(row)
    }
    .await;
    back_to_order(forms, &staff, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_safe_in_a_header() {
        let value = content_disposition(
            "QH20261125-0007",
            3,
            "审核反馈表（盖章） \";x.pdf",
            Some(MediaType::Pdf),
        );
        assert!(value.starts_with(
            "attachment; filename=\"QH20261125-0007-verification-3.pdf\"; filename*=UTF-8''"
        ));
        assert!(
            !value.contains(' ') || value.matches(' ').count() == 2,
            "{value}"
        );
        assert_eq!(value.matches('"').count(), 2);
        assert!(HeaderValue::from_str(&value).is_ok());
    }
}
