//! What the console pages show of orders and their events.

use super::*;
use crate::order::payload::RatingChannel;
use crate::order::{CardKind, Event};

pub(super) fn shanghai_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&Shanghai).format("%Y-%m-%d").to_string()
}

/// A request as the console shows it: every field the e-mails show (with Chinese labels: `kind`, `status`,
/// `submitted_at`), plus the channel, the units by name and the deadline.
#[derive(Debug, Serialize)]
pub(super) struct OrderView<'a> {
    #[serde(flatten)]
    pub(super) request: MailRequest<'a>,
    pub(super) channel_label: &'static str,
    pub(super) knowledge_gap: bool,
    pub(super) lead_unit: Option<String>,
    pub(super) co_units: Vec<String>,
    pub(super) due_label: Option<String>,
    /// The deadline has passed and the order is still open.
    pub(super) overdue: bool,
    pub(super) submitted_date: String,
    pub(super) updated_label: String,
}

pub(super) fn is_open(row: &RequestRow) -> bool {
    row.status.is_open()
}

pub(super) fn order_view<'a>(
    forms: &Forms,
    row: &'a RequestRow,
    now: DateTime<Utc>,
) -> OrderView<'a> {
    OrderView {
        request: MailRequest::of(row),
        channel_label: row.channel.parse::<Channel>().map_or("", Channel::label),
        knowledge_gap: row.knowledge_gap,
        lead_unit: row.lead_unit.as_deref().map(|id| unit_ref(forms, id).name),
        co_units: row
            .co_units
            .iter()
            .map(|id| unit_ref(forms, id).name)
            .collect(),
        due_label: row.due_at.map(shanghai),
        overdue: is_open(row) && row.due_at.is_some_and(|due| due < now),
        submitted_date: shanghai_date(row.created_at),
        updated_label: shanghai(row.updated_at),
    }
}

/// One choice of unit in the dispatch form.
#[derive(Debug, Serialize)]
pub(crate) struct UnitChoice<'a> {
    pub(super) id: &'a str,
    pub(super) name: &'a str,
}

/// The units of one kind, for an `<optgroup>` and a group of checkboxes.
#[derive(Debug, Serialize)]
pub(crate) struct UnitGroup<'a> {
    pub(super) label: &'static str,
    pub(super) units: Vec<UnitChoice<'a>>,
}

/// The directory's units of each of `kinds`, in that order, with the group's Chinese name; empty groups are left
/// out.
pub(super) fn units_by_kind(
    forms: &Forms,
    kinds: [UnitKind; 3],
) -> impl Iterator<Item = (&'static str, Vec<&Unit>)> {
    kinds.into_iter().filter_map(move |kind| {
        let label = match kind {
            UnitKind::Department => "市直部门",
            UnitKind::Town => "镇街",
            UnitKind::Zone => "开发区",
        };
        let units: Vec<&Unit> = forms
            .directory
            .units
            .iter()
            .filter(|unit| unit.kind == kind)
            .collect();
        (!units.is_empty()).then_some((label, units))
    })
}

pub(crate) fn unit_groups(forms: &Forms) -> Vec<UnitGroup<'_>> {
    units_by_kind(
        forms,
        [UnitKind::Department, UnitKind::Town, UnitKind::Zone],
    )
    .map(|(label, units)| UnitGroup {
        label,
        units: units
            .into_iter()
            .map(|unit| UnitChoice {
                id: &unit.id,
                name: &unit.name,
            })
            .collect(),
    })
    .collect()
}

/// The dispatch form of one order: what is chosen when the page opens, and what the catalogue suggests.
#[derive(Debug, Serialize)]
pub(super) struct DispatchForm {
    /// 改派: the order went to a unit already.
    pub(super) redispatch: bool,
    pub(super) lead_unit: String,
    pub(super) co_units: Vec<String>,
    pub(super) reason: String,
    pub(super) suggested_lead: String,
    pub(super) suggested_co: Vec<String>,
    pub(super) suggested_reason: String,
    /// The catalogue is sure enough that automatic dispatch would have sent it.
    pub(super) suggestion_clear: bool,
}

/// A first dispatch starts from the catalogue's suggestion; a re-dispatch from the current units, with the
/// reason left for the centre to write.
pub(super) fn dispatch_form(forms: &Forms, row: &RequestRow) -> DispatchForm {
    let suggestion = forms.suggest(row);
    let name = |id: &str| unit_ref(forms, id).name;
    let redispatch = row.status != Status::New;
    let (lead_unit, co_units, reason) = match &row.lead_unit {
        Some(lead) if redispatch => (lead.clone(), row.co_units.clone(), String::new()),
        _ => (
            suggestion.lead_unit.clone(),
            suggestion.co_units.clone(),
            suggestion.reason.clone(),
        ),
    };
    DispatchForm {
        redispatch,
        lead_unit,
        co_units,
        reason,
        suggested_lead: name(&suggestion.lead_unit),
        suggested_co: suggestion.co_units.iter().map(|id| name(id)).collect(),
        suggested_reason: suggestion.reason,
        suggestion_clear: suggestion.clear,
    }
}

/// A line of the history as the centre sees it: the enterprise's wording plus who did it and every detail.
#[derive(Debug, Serialize)]
pub(super) struct ConsoleEvent {
    #[serde(flatten)]
    pub(super) entry: TimelineEntry,
    pub(super) actor: String,
    pub(super) details: Vec<EventDetail>,
}

#[derive(Debug, Serialize)]
pub(super) struct EventDetail {
    pub(super) name: String,
    pub(super) value: String,
}

/// Who acted, in Chinese: `centre:zhang` → 推进中心（zhang）, `unit:power` → the unit's name.
pub(super) fn actor_label(forms: &Forms, actor: &str) -> String {
    match actor.split_once(':') {
        Some(("centre", username)) => format!("推进中心（{username}）"),
        Some(("unit", id)) => unit_ref(forms, id).name,
        Some(("enterprise", channel)) => match channel.parse::<Channel>() {
            Ok(channel) => format!("企业（{}）", channel.label()),
            Err(_) => "企业".to_owned(),
        },
        Some(("system", "auto-dispatch")) => "系统（按派单目录自动派单）".to_owned(),
        Some(("system", _)) => "系统".to_owned(),
        _ if actor == "enterprise" => "企业".to_owned(),
        _ => actor.to_owned(),
    }
}

/// The order in which an event's details are shown; fields not listed follow, by name.
pub(super) const DETAIL_ORDER: [&str; 17] = [
    "lead_unit",
    "co_units",
    "due_at",
    "deadline_rule",
    "counted",
    "calendar",
    "calendar_warning",
    "reason",
    "kind",
    "channel",
    "instant_answer",
    "note",
    "solved",
    "method",
    "contact_name",
    "contact_phone",
    "committed_date",
];

/// Payload fields that only serve the program (markers, codes shown by their label instead).
pub(super) const HIDDEN_DETAILS: [&str; 4] = ["closed", "verification", "conclusion", "cards"];

/// Every field an event records, with Chinese names and unit names in place of ids.
pub(super) fn event_details(forms: &Forms, event: &Event) -> Vec<EventDetail> {
    use serde_json::Value;
    let payload = event.payload();
    let Some(fields) = payload.as_object() else {
        return Vec::new();
    };
    let entered_note = matches!(event, Event::Submitted(_) | Event::Answered(_));
    // Nothing closes without a reason (销号理由), and it is what the centre reads first on a closing event.
    let closing = event.closes();
    let mut fields: Vec<(&String, &Value)> = fields
        .iter()
        .filter(|(key, _)| !HIDDEN_DETAILS.contains(&key.as_str()))
        .collect();
    fields.sort_by_key(|(key, _)| {
        if closing && key.as_str() == "reason" {
            return 0;
        }
        1 + DETAIL_ORDER
            .iter()
            .position(|known| known == key)
            .unwrap_or(DETAIL_ORDER.len())
    });
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "是".to_owned(),
        Value::Bool(false) => "否".to_owned(),
        other => other.to_string(),
    };
    fields
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| {
            let (name, value) = match key.as_str() {
                "lead_unit" => ("首接单位", unit_ref(forms, &text(value)).name),
                "co_units" => (
                    "协办单位",
                    value
                        .as_array()
                        .map(|units| {
                            units
                                .iter()
                                .map(|unit| unit_ref(forms, &text(unit)).name)
                                .collect::<Vec<_>>()
                                .join("、")
                        })
                        .filter(|names| !names.is_empty())
                        .unwrap_or_else(|| "无".to_owned()),
                ),
                "due_at" => (
                    "办理期限",
                    DateTime::parse_from_rfc3339(&text(value))
                        .map(|due| shanghai(due.with_timezone(&Utc)))
                        .unwrap_or_else(|_| text(value)),
                ),
                "reason" if closing => ("销号理由", text(value)),
                "reason" => ("理由", text(value)),
                "explanation" => ("承办单位说明", text(value)),
                "file_name" => ("文件名", text(value)),
                "media_type" => (
                    "文件类型",
                    crate::domain::MediaType::from_mime(&text(value))
                        .map_or_else(|| text(value), |kind| kind.label().to_owned()),
                ),
                "size" => (
                    "文件大小",
                    value
                        .as_u64()
                        .map_or_else(|| text(value), crate::domain::human_size),
                ),
                "sha256" => ("SHA-256", text(value)),
                "conclusion_label" => ("核查结论", text(value)),
                "opinion" => ("核查意见", text(value)),
                "form_id" => ("依据的审核反馈表", format!("第 {} 号上传文件", text(value))),
                "form_sha256" => ("审核反馈表 SHA-256", text(value)),
                "evidence" => ("事实", text(value)),
                "order" => ("工单", text(value)),
                "orders" => (
                    "涉及工单",
                    value
                        .as_array()
                        .map(|orders| orders.iter().map(&text).collect::<Vec<_>>().join("、"))
                        .unwrap_or_default(),
                ),
                "card" => (
                    "亮牌类别",
                    CardKind::of(&text(value))
                        .map_or_else(|| text(value), |card| card.label().to_owned()),
                ),
                "card_event_id" => ("亮牌记录编号", text(value)),
                "deadline_rule" => ("期限规则", text(value)),
                "rating" => (
                    "满意度评价",
                    [
                        value.get("rating_label").map(&text),
                        value
                            .get("channel")
                            .and_then(|channel| {
                                serde_json::from_value::<RatingChannel>(channel.clone()).ok()
                            })
                            .map(|channel| channel.label().to_owned()),
                        value
                            .get("comment")
                            .map(&text)
                            .filter(|c| !c.is_empty())
                            .map(|c| format!("意见建议：{c}")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("；"),
                ),
                "closure" => ("销号", text(value)),
                "next" => ("下一步", text(value)),
                "statement" => ("企业陈述", text(value)),
                "rule" => ("依据", text(value)),
                "unit" => ("单位", unit_ref(forms, &text(value)).name),
                "calendar" => ("工作日历", text(value)),
                "calendar_warning" => ("提示", text(value)),
                "counted" => (
                    "计入的工作日",
                    value
                        .as_array()
                        .map(|days| days.iter().map(&text).collect::<Vec<_>>().join("、"))
                        .unwrap_or_default(),
                ),
                // On the first event, the note the centre wrote when it entered the request (代录).
                "note" if entered_note => ("备注", text(value)),
                "note" => ("情况说明", text(value)),
                "solved" => ("是否解决", text(value)),
                "method" => ("解决方式", text(value)),
                "contact_name" => ("联系人", text(value)),
                "contact_phone" => ("联系电话", text(value)),
                "committed_date" => ("承诺办结日期", text(value)),
                "kind" => (
                    "诉求类型",
                    text(value)
                        .parse::<RequestKind>()
                        .map_or_else(|_| text(value), |kind| kind.label().to_owned()),
                ),
                "channel" => (
                    "受理渠道",
                    text(value)
                        .parse::<Channel>()
                        .map_or_else(|_| text(value), |channel| channel.label().to_owned()),
                ),
                "instant_answer" => ("政策库答复", instant_answer_summary(value)),
                other => return (other.to_owned(), text(value)),
            };
            (name.to_owned(), value)
        })
        .map(|(name, value)| EventDetail { name, value })
        .collect()
}

/// 《title》（置信度 0.82） for an answer the policy base gave, or why it did not answer.
pub(super) fn instant_answer_summary(answer: &serde_json::Value) -> String {
    let confidence = answer
        .get("confidence")
        .and_then(serde_json::Value::as_f64)
        .map(|confidence| format!("（置信度 {confidence:.2}）"))
        .unwrap_or_default();
    let answered = answer.get("answered").and_then(serde_json::Value::as_bool) == Some(true);
    match answer
        .get("answer")
        .and_then(|answer| answer.get("title"))
        .and_then(serde_json::Value::as_str)
    {
        Some(title) if answered => format!("已依据《{title}》即时答复{confidence}"),
        _ => format!("政策库未能答复{confidence}"),
    }
}

pub(super) fn console_event(forms: &Forms, event: &EventRow) -> ConsoleEvent {
    ConsoleEvent {
        entry: timeline_entry(forms, event),
        actor: actor_label(forms, &event.actor),
        details: event_details(forms, &event.event),
    }
}
