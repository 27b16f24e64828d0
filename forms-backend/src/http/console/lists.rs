//! The queue (待派单) and the list of every order (全部诉求).

use super::*;

#[derive(Debug, Serialize)]
pub(super) struct QueueItem<'a> {
    pub(super) request: OrderView<'a>,
    pub(super) form: DispatchForm,
    /// 转办时限 (`sla::dispatch_due`) and whether it has passed.
    pub(super) dispatch_due: String,
    pub(super) dispatch_overdue: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct QueueQuery {
    pub(super) dispatched: Option<String>,
}

/// Requests waiting for the centre, oldest first, each with the catalogue's suggestion and a dispatch form.
pub(super) async fn queue_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let waiting = RequestFilter {
        status: Some(Status::New.code().to_owned()),
        ..RequestFilter::default()
    };
    let (rows, total) = match tokio::try_join!(
        forms.store.requests_with_status(Status::New, QUEUE_LIMIT),
        forms.store.count_requests(&waiting),
    ) {
        Ok(found) => found,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let calendar = forms.calendar.current();
    let items: Vec<QueueItem<'_>> = rows
        .iter()
        .map(|row| {
            // A waiting order last changed when it began to wait: its submission, escalation, forwarding or
            // return (退单), so the limit counts from then.
            let due = crate::sla::dispatch_due(
                &calendar,
                row.updated_at,
                forms.dispatch.dispatch_working_days,
            );
            QueueItem {
                request: order_view(forms, row, now),
                form: dispatch_form(forms, row),
                dispatch_due: crate::http::tracking::shanghai(due),
                dispatch_overdue: due < now,
            }
        })
        .collect();
    let mut context = page_context(forms, Some(&staff), "待派单");
    context.insert("items", &items);
    context.insert("total", &total);
    context.insert(
        "dispatch_working_days",
        &forms.dispatch.dispatch_working_days,
    );
    context.insert("unit_groups", &unit_groups(forms));
    context.insert(
        "dispatched",
        &query
            .ok()
            .and_then(|Query(query)| query.dispatched)
            .filter(|number| !number.is_empty()),
    );
    render_page(forms, "console/queue.html", &context, StatusCode::OK)
}

// ---------------------------------------------------------------------------------------------------------------
// Every order (全部诉求)
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub(super) struct ListQuery {
    pub(super) status: Option<String>,
    pub(super) unit: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) q: Option<String>,
    pub(super) page: Option<String>,
}

/// A choice in a filter's `<select>`.
#[derive(Debug, Serialize)]
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
}

#[derive(Serialize)]
pub(super) struct Pagination {
    pub(super) current: i64,
    pub(super) total: i64,
    pub(super) prev_url: Option<String>,
    pub(super) next_url: Option<String>,
    pub(super) pages: Vec<PageLink>,
}

#[derive(Serialize)]
pub(super) struct PageLink {
    pub(super) number: i64,
    pub(super) url: String,
    pub(super) current: bool,
}

/// The list URL with the same filters on another page.
pub(super) fn list_url(query: &ListQuery, page: i64) -> String {
    let mut pairs: Vec<(&str, String)> = [
        ("status", &query.status),
        ("unit", &query.unit),
        ("kind", &query.kind),
        ("q", &query.q),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(|value| (name, value.to_owned()))
    })
    .collect();
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        "/console/requests".to_owned()
    } else {
        format!("/console/requests?{query}")
    }
}

/// Every order, newest first, with search (受理编号、企业名称、诉求描述) and filters, 50 to a page.
pub(super) async fn requests_page(
    State(state): State<Arc<ConsoleState>>,
    staff: Staff,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let forms = state.forms();
    let now = Utc::now();
    let Ok(Query(query)) = query else {
        return message_page(
            forms,
            Some(&staff),
            AppError::BadRequest("查询条件无法识别，请重新选择".to_owned()),
        );
    };
    let query = ListQuery {
        q: query.q.map(|q| q.trim().chars().take(100).collect()),
        ..query
    };
    let filter = RequestFilter {
        status: query.status.clone(),
        unit: query.unit.clone(),
        query: query.q.clone(),
        kind: query.kind.clone(),
    };
    let total = match forms.store.count_requests(&filter).await {
        Ok(total) => total,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let current = query
        .page
        .as_deref()
        .and_then(|page| page.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let rows = match forms
        .store
        .requests_page(&filter, PAGE_SIZE, (current - 1) * PAGE_SIZE)
        .await
    {
        Ok(rows) => rows,
        Err(error) => return message_page(forms, Some(&staff), error.into()),
    };
    let orders: Vec<OrderView<'_>> = rows.iter().map(|row| order_view(forms, row, now)).collect();
    let pagination = Pagination {
        current,
        total: pages,
        prev_url: (current > 1).then(|| list_url(&query, current - 1)),
        next_url: (current < pages).then(|| list_url(&query, current + 1)),
        pages: (1..=pages)
            .map(|number| PageLink {
                number,
                url: list_url(&query, number),
                current: number == current,
            })
            .collect(),
    };
    let statuses: Vec<Choice> = Status::ALL
        .iter()
        .map(|status| Choice {
            value: status.code().to_owned(),
            label: status.label().to_owned(),
        })
        .collect();
    let kinds: Vec<Choice> = RequestKind::ALL
        .iter()
        .map(|kind| Choice {
            value: kind.code().to_owned(),
            label: kind.label().to_owned(),
        })
        .collect();
    let mut context = page_context(forms, Some(&staff), "全部诉求");
    context.insert("orders", &orders);
    context.insert("count", &total);
    context.insert("pagination", &pagination);
    context.insert("filter", &query);
    context.insert("statuses", &statuses);
    context.insert("kinds", &kinds);
    context.insert("unit_groups", &unit_groups(forms));
    render_page(forms, "console/requests.html", &context, StatusCode::OK)
}
