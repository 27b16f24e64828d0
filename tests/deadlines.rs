//! Deadlines counted in real Chinese working days: the `qihu deadline` contract on real holiday periods.

use qihu_forms::order::Status;
use std::process::Command;

use serde_json::Value;

fn deadline(from: &str, working_days: u32) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_qihu"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "deadline",
            "--from",
            from,
            "--working-days",
            &working_days.to_string(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_json_explains_a_deadline_across_the_spring_festival() {
    let json = deadline("2026-02-13T09:30:00+08:00", 5);
    assert_eq!(json["from"], "2026-02-13T09:30:00+08:00");
    assert_eq!(json["start_date"], "2026-02-13");
    assert_eq!(json["working_days"], 5);
    assert_eq!(json["due"], "2026-02-27T23:59:59+08:00");
    let counted: Vec<&str> = json["counted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(
        counted,
        [
            "2026-02-14",
            "2026-02-24",
            "2026-02-25",
            "2026-02-26",
            "2026-02-27"
        ]
    );
    let skipped = json["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 9);
    assert!(skipped.iter().all(|s| s["reason"] == "春节假期"));
    assert!(
        json["calendar"]
            .as_str()
            .unwrap()
            .starts_with("工作日历 2022–2026")
    );
    assert_eq!(json["fallback"], false);
}

#[test]
fn a_year_without_its_notice_says_so() {
    let json = deadline("2027-06-01T10:00:00+08:00", 3);
    assert_eq!(json["fallback"], true);
    assert_eq!(json["due"], "2027-06-04T23:59:59+08:00");
}

// ---------------------------------------------------------------------------------------------------------
// Supervision cards (督办亮牌): an order past its deadline without a result earns its unit a yellow card, two
// in a row a red card; the centre can waive a card.
// ---------------------------------------------------------------------------------------------------------

use chrono::{DateTime, Duration, Utc};
use qihu::serve::App;
use qihu_forms::domain::{Channel, NewRequest, RequestForm};
use qihu_forms::sla::cards::{self, CardKind, CardState};
use qihu_forms::store::RequestRow;

mod support;

use support::{app_settings, root};

/// A help request, dispatched to the tax bureau at `now`.
async fn dispatched_order(app: &App, description: &str, now: DateTime<Utc>) -> RequestRow {
    let forms = &app.forms.forms;
    let form = RequestForm {
        kind: Some("help".to_owned()),
        enterprise_name: Some("滕州市恒达机械制造有限公司".to_owned()),
        contact_name: Some("王经理".to_owned()),
        contact_phone: Some("13812345678".to_owned()),
        contact_email: Some("wang@hengda.example".to_owned()),
        town: Some("荆河街道".to_owned()),
        description: Some(description.to_owned()),
        ..RequestForm::default()
    };
    let request = NewRequest::parse(&form, Channel::Web).unwrap();
    let submitted = forms.submit(&request, None, now).await.unwrap();
    let row = forms
        .dispatch(&submitted.row, "tax", &[], "centre:test", "测试派单", now)
        .await
        .unwrap();
    assert_eq!(row.status, Status::Dispatched);
    row
}

/// The `(kind, subject)` of every card e-mail waiting in the outbox.
async fn card_mails(app: &App) -> Vec<(String, String)> {
    app.store
        .due_messages(Utc::now() + Duration::days(3650), 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.contains("督办通知") || m.subject.contains("红牌"))
        .map(|m| (m.recipient, m.subject))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_orders_earn_yellow_then_red_cards_once_and_cards_can_be_waived() {
    let dir = tempfile::tempdir().unwrap();
    let settings = app_settings(dir.path());
    let app = App::open(settings.clone()).await.expect("app opens");
    let forms = &app.forms.forms;
    let dispatched_at = Utc::now();
    let first = dispatched_order(&app, "厂区经常停电，请协调供电部门解决。", dispatched_at).await;
    let due = first.due_at.unwrap();

    // Before the deadline: nothing.
    let report = cards::supervise(forms, due - Duration::hours(1))
        .await
        .unwrap();
    assert!(report.issued.is_empty());

    // After it: one yellow card, with its notice to the tax bureau's handlers.
    let later = due + Duration::hours(1);
    let report = cards::supervise(forms, later).await.unwrap();
    assert_eq!(report.issued.len(), 1);
    let yellow = &report.issued[0];
    assert_eq!(yellow.kind, CardKind::YellowCard);
    assert_eq!(yellow.unit, "tax");
    assert_eq!(yellow.tracking_number, first.tracking_number);
    let events = app.store.events(first.id).await.unwrap();
    let card = events.iter().find(|e| e.kind() == "yellow_card").unwrap();
    assert_eq!(card.actor, "system:supervision");
    assert_eq!(card.payload()["unit"], "tax");
    assert_eq!(card.payload()["order"], first.tracking_number.as_str());
    assert!(card.payload()["rule"].as_str().unwrap().contains("黄牌"));
    assert!(
        card.payload()["evidence"]
            .as_str()
            .unwrap()
            .starts_with("截至")
    );
    assert_eq!(
        card_mails(&app).await,
        [(
            "tax-handler@tengzhou.example".to_owned(),
            format!(
                "【督办通知·黄牌】{}：市税务局未按期反馈办理结果",
                first.tracking_number
            )
        )]
    );

    // Re-running never issues a card twice.
    let report = cards::supervise(forms, later + Duration::hours(2))
        .await
        .unwrap();
    assert!(report.issued.is_empty());
    let all = app.store.supervision_events().await.unwrap();
    assert_eq!(
        cards::unit_card_state(&all, "tax", later),
        CardState::Yellow
    );
    assert_eq!(
        cards::unit_card_state(&all, "tax", due - Duration::hours(1)),
        CardState::Green
    );

    // A second overdue order of the same unit: a yellow card, then a red card to the task force and the deputy.
    let second =
        dispatched_order(&app, "新厂房用电报装迟迟未批，请帮助协调。", dispatched_at).await;
    let second_later = second.due_at.unwrap() + Duration::hours(3);
    let report = cards::supervise(forms, second_later).await.unwrap();
    let kinds: Vec<CardKind> = report.issued.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [CardKind::YellowCard, CardKind::RedCard]);
    let red = &report.issued[1];
    assert_eq!(red.tracking_number, second.tracking_number);
    let red_event = app
        .store
        .events(second.id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind() == "red_card")
        .unwrap();
    assert_eq!(red_event.payload()["orders"].as_array().unwrap().len(), 2);
    let mut red_recipients: Vec<String> = card_mails(&app)
        .await
        .into_iter()
        .filter(|(_, subject)| subject.starts_with("【红牌警示】"))
        .map(|(recipient, _)| recipient)
        .collect();
    red_recipients.sort();
    assert_eq!(
        red_recipients,
        ["tax-deputy@tengzhou.example", "zhuanban@tengzhou.example"]
    );
    let all = app.store.supervision_events().await.unwrap();
    assert_eq!(
        cards::unit_card_state(&all, "tax", second_later),
        CardState::Red
    );
    assert!(
        cards::supervise(forms, second_later)
            .await
            .unwrap()
            .issued
            .is_empty()
    );

    // The centre waives the red card: it no longer counts, and no new red card follows.
    assert!(
        cards::waive_card(forms, red.event_id, "centre:test", " ", second_later)
            .await
            .is_err()
    );
    let waived_at = second_later + Duration::minutes(5);
    cards::waive_card(
        forms,
        red.event_id,
        "centre:test",
        "供电公司停电检修，非单位原因",
        waived_at,
    )
    .await
    .unwrap();
    assert!(
        cards::waive_card(forms, red.event_id, "centre:test", "再次免除", waived_at)
            .await
            .is_err()
    );
    let all = app.store.supervision_events().await.unwrap();
    assert_eq!(
        cards::unit_card_state(&all, "tax", waived_at),
        CardState::Yellow
    );
    assert_eq!(
        cards::unit_card_state(&all, "tax", second_later),
        CardState::Red
    );
    assert!(
        cards::supervise(forms, waived_at + Duration::hours(1))
            .await
            .unwrap()
            .issued
            .is_empty()
    );

    // The notices go out as .eml files (no SMTP server configured).
    let drained =
        qihu_forms::mail::drain_outbox(&app.store, &app.mailer, Utc::now() + Duration::days(3650))
            .await
            .unwrap();
    assert!(drained.sent >= 3);
    assert_eq!(app.store.outbox_counts().await.unwrap().pending, 0);
    let notices = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .filter_map(|bytes| {
            mail_parser::MessageParser::default()
                .parse(&bytes[..])
                .map(|m| m.body_text(0).unwrap_or_default().into_owned())
        })
        .filter(|text| text.contains("亮“黄牌”") && text.contains("督办"))
        .count();
    assert!(notices >= 1);

    // `qihu tick` runs a pass on the same database: nothing more to issue.
    let output = Command::new(env!("CARGO_BIN_EXE_qihu"))
        .current_dir(root())
        .env("QIHU_STORAGE__DATABASE_URL", &settings.storage.database_url)
        .env("QIHU_STORAGE__SECRET_FILE", &settings.storage.secret_file)
        .env("QIHU_MAIL__OUTBOX_DIR", &settings.mail.outbox_dir)
        .env("QIHU_SEARCH__INDEX_DIR", &settings.search.index_dir)
        .args(["tick", "--now"])
        .arg((waived_at + Duration::days(1)).to_rfc3339())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("逾期未反馈工单 2 件，本次亮牌 0 张，到期提醒 0 件"),
        "{printed}"
    );
}

/// An instant in Shanghai time.
fn shanghai(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{text}+08:00"))
        .unwrap()
        .with_timezone(&Utc)
}

/// The `(recipient, subject)` of every mail waiting in the outbox whose subject starts with `prefix`.
async fn mails_starting(app: &App, prefix: &str) -> Vec<(String, String)> {
    app.store
        .due_messages(Utc::now() + Duration::days(3650), 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.starts_with(prefix))
        .map(|m| (m.recipient, m.subject))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_are_reminded_one_working_day_before_and_many_late_orders_earn_one_red_card() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(app_settings(dir.path()))
        .await
        .expect("app opens");
    let forms = &app.forms.forms;
    // Dispatched on Tuesday 29 September 2026: 5 working days skip the National Day holiday (1–7 October) and
    // count Saturday 10 October (调休上班), so the deadline is Monday 12 October.
    let dispatched_at = shanghai("2026-09-29T10:00:00");
    let mut orders = Vec::new();
    for description in [
        "厂区经常停电，请协调供电部门解决。",
        "新厂房用电报装迟迟未批，请帮助协调。",
        "增值税留抵退税申请材料被退回，请说明原因。",
    ] {
        orders.push(dispatched_order(&app, description, dispatched_at).await);
    }
    assert_eq!(orders[0].due_at, Some(shanghai("2026-10-12T23:59:59")));

    // Friday 9 October: the deadline is two working days away — no reminder yet.
    let report = cards::supervise(forms, shanghai("2026-10-09T09:00:00"))
        .await
        .unwrap();
    assert_eq!(report.reminders, 0);
    assert!(mails_starting(&app, "【到期提醒】").await.is_empty());

    // Saturday 10 October is a working day (调休) and the last one before the deadline: each order is reminded.
    let report = cards::supervise(forms, shanghai("2026-10-10T09:00:00"))
        .await
        .unwrap();
    assert_eq!(report.reminders, 3);
    assert!(report.issued.is_empty());
    // One e-mail to the unit's handler lists the three orders.
    let reminders = mails_starting(&app, "【到期提醒】").await;
    assert_eq!(
        reminders,
        [(
            "tax-handler@tengzhou.example".to_owned(),
            "【到期提醒】你单位有 3 件工单即将到期（最早2026年10月12日 23:59），请按时反馈办理结果"
                .to_owned()
        )]
    );
    let body = app
        .store
        .due_messages(Utc::now() + Duration::days(3650), 1000)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.subject.starts_with("【到期提醒】"))
        .unwrap()
        .text_body;
    for order in &orders {
        assert!(body.contains(&order.tracking_number), "{body}");
    }
    // Once per deadline.
    let report = cards::supervise(forms, shanghai("2026-10-12T08:00:00"))
        .await
        .unwrap();
    assert_eq!(report.reminders, 0);
    assert_eq!(mails_starting(&app, "【到期提醒】").await.len(), 1);

    // Tuesday 13 October: all three are overdue — three yellow cards and one red card that covers them all.
    let late = shanghai("2026-10-13T00:30:00");
    let report = cards::supervise(forms, late).await.unwrap();
    assert_eq!(report.overdue, 3);
    let kinds: Vec<CardKind> = report.issued.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CardKind::YellowCard,
            CardKind::YellowCard,
            CardKind::YellowCard,
            CardKind::RedCard
        ]
    );
    let red = &report.issued[3];
    assert!(red.evidence.starts_with("连续3次黄牌"), "{}", red.evidence);
    let all = app.store.supervision_events().await.unwrap();
    assert_eq!(cards::unit_card_state(&all, "tax", late), CardState::Red);
    assert_eq!(
        cards::unit_card_state(&all, "tax", shanghai("2026-10-12T23:00:00")),
        CardState::Green
    );
    // Nothing more on the next pass.
    let report = cards::supervise(forms, late + Duration::hours(1))
        .await
        .unwrap();
    assert!(report.issued.is_empty());
    assert_eq!(report.reminders, 0);
    assert_eq!(mails_starting(&app, "【红牌警示】").await.len(), 2);
}

/// In a year without its holiday notice (2027 here) the fixed-date statutory holidays still rest, and every
/// deadline counted that way — the dispatch's and the rework's — carries the warning that the notice is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_in_a_year_without_its_notice_skip_national_day_and_say_so() {
    use qihu_forms::domain::Rating;
    use qihu_forms::workflow::UnitAction;

    let dir = tempfile::tempdir().unwrap();
    let app = App::open(app_settings(dir.path()))
        .await
        .expect("app opens");
    let forms = &app.forms.forms;
    let at = |text: &str| {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    };
    // Tuesday 28 September 2027: Wednesday, Thursday, (Friday 1 October is 国庆节), Monday, Tuesday, Wednesday.
    let row = dispatched_order(
        &app,
        "厂区经常停电，请协调供电部门解决。",
        at("2027-09-28T10:00:00+08:00"),
    )
    .await;
    assert_eq!(row.due_at, Some(at("2027-10-06T23:59:59+08:00")));
    let events = app.store.events(row.id).await.unwrap();
    let dispatched = events.iter().find(|e| e.kind() == "dispatched").unwrap();
    assert_eq!(
        dispatched.payload()["calendar_warning"],
        "节假日安排未发布，按周一至周五计算"
    );

    let row = forms
        .unit_action(
            &row,
            "tax",
            &UnitAction::Accept,
            at("2027-09-29T09:00:00+08:00"),
        )
        .await
        .unwrap();
    let resolve = UnitAction::Resolve {
        solved: true,
        method: "已协调供电部门检修线路".to_owned(),
        contact_name: "李科长".to_owned(),
        contact_phone: "0632-5512345".to_owned(),
    };
    let row = forms
        .unit_action(&row, "tax", &resolve, at("2027-09-29T15:00:00+08:00"))
        .await
        .unwrap();
    // Returned on Thursday 30 September: 3 working days are 4, 5 and 6 October.
    let row = forms
        .rate(
            &row,
            Rating::Unsatisfied,
            "仍然停电",
            qihu_forms::order::payload::RatingChannel::Web,
            "enterprise",
            at("2027-09-30T10:00:00+08:00"),
        )
        .await
        .unwrap();
    assert_eq!(row.status, Status::Rework);
    assert_eq!(row.due_at, Some(at("2027-10-06T23:59:59+08:00")));
    let events = app.store.events(row.id).await.unwrap();
    let returned = events.iter().find(|e| e.kind() == "returned").unwrap();
    assert_eq!(
        returned.payload()["calendar_warning"],
        "节假日安排未发布，按周一至周五计算"
    );
}

/// `qihu calendar check`: the shipped years pass; a hand-copied file missing National Day's first day is refused
/// with the clause, and the exit status says so.
#[test]
fn a_new_years_calendar_file_is_checked_before_it_goes_live() {
    let check = |files: &[&std::path::Path]| {
        Command::new(env!("CARGO_BIN_EXE_qihu"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["calendar", "check"])
            .args(files)
            .output()
            .unwrap()
    };
    let shipped = check(&[]);
    assert!(shipped.status.success());
    let text = String::from_utf8_lossy(&shipped.stdout);
    assert!(
        text.contains("2026年：节假日 33 天，调休上班 6 天，全年工作日 248 天——通过"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("2026.toml");
    let shipped_2026 =
        std::fs::read_to_string(support::root().join("config/calendar/2026.toml")).unwrap();
    std::fs::write(&wrong, shipped_2026.replace("\"2026-10-01\", ", "")).unwrap();
    let refused = check(&[&wrong]);
    assert_eq!(refused.status.code(), Some(1));
    let text = String::from_utf8_lossy(&refused.stdout);
    assert!(text.contains("有错误"), "{text}");
    assert!(text.contains("缺少法定节假日 2026-10-01（国庆节"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_needs_the_acceptance_limit_and_a_rejected_plan_gives_its_waiting_days_back() {
    use qihu_forms::workflow::{UnitAction, WorkflowError};

    let dir = tempfile::tempdir().unwrap();
    let app = App::open(app_settings(dir.path()))
        .await
        .expect("app opens");
    let forms = &app.forms.forms;
    let store = &app.store;
    let reload = |row: &RequestRow| {
        let id = row.id;
        async move { store.request_by_id(id).await.unwrap().unwrap() }
    };
    let give_back = UnitAction::Return {
        reason: "经核实属供电部门职责".to_owned(),
    };

    // Dispatched Wednesday 25 November 2026 at 10:00: the tax bureau signs for it or returns it by Thursday's end.
    let row = dispatched_order(
        &app,
        "厂区线路老化经常停电。",
        shanghai("2026-11-25T10:00:00"),
    )
    .await;
    assert_eq!(
        forms.acceptance_due(&row).await.unwrap(),
        Some(shanghai("2026-11-26T23:59:59"))
    );
    let row = forms
        .unit_action(&row, "tax", &give_back, shanghai("2026-11-26T20:00:00"))
        .await
        .unwrap();
    assert_eq!(row.status, Status::New);

    // Sent again on Friday 27 November: the limit is Monday's end, so a return on Tuesday is refused.
    let row = forms
        .dispatch(
            &row,
            "tax",
            &[],
            "centre:test",
            "复核后仍由税务局办理",
            shanghai("2026-11-27T09:00:00"),
        )
        .await
        .unwrap();
    let late = forms
        .unit_action(&row, "tax", &give_back, shanghai("2026-12-01T09:00:00"))
        .await;
    assert!(
        matches!(&late, Err(WorkflowError::NotAllowed(reason)) if reason.contains("已超过签收时限")),
        "{late:?}"
    );
    assert_eq!(reload(&row).await.status, Status::Dispatched);

    // Accepted, then a plan on Wednesday 2 December; the deadline (Friday 4 December) passes while it waits.
    let row = forms
        .unit_action(
            &row,
            "tax",
            &UnitAction::Accept,
            shanghai("2026-12-01T09:30:00"),
        )
        .await
        .unwrap();
    assert_eq!(row.due_at, Some(shanghai("2026-12-04T23:59:59")));
    let plan = UnitAction::Plan {
        committed_date: chrono::NaiveDate::from_ymd_opt(2027, 1, 15).unwrap(),
        reason: "需更换变压器".to_owned(),
    };
    let row = forms
        .unit_action(&row, "tax", &plan, shanghai("2026-12-02T09:00:00"))
        .await
        .unwrap();
    let pass = cards::supervise(forms, shanghai("2026-12-07T00:05:00"))
        .await
        .unwrap();
    assert!(pass.issued.is_empty(), "a waiting plan earns no card");

    // Rejected on Tuesday 8 December: Thursday 3 to Tuesday 8 December, 4 working days, are given back.
    let row = forms
        .reject_plan(
            &row,
            "方案缺少临时供电措施",
            "centre:test",
            shanghai("2026-12-08T10:00:00"),
        )
        .await
        .unwrap();
    assert_eq!(row.status, Status::Accepted);
    assert_eq!(row.due_at, Some(shanghai("2026-12-10T23:59:59")));
    let pass = cards::supervise(forms, shanghai("2026-12-09T00:05:00"))
        .await
        .unwrap();
    assert!(pass.issued.is_empty(), "still within the moved deadline");
    let pass = cards::supervise(forms, shanghai("2026-12-11T00:05:00"))
        .await
        .unwrap();
    assert_eq!(pass.issued.len(), 1, "past it, the card comes");
    let moved = mails_starting(&app, "【企业诉求】").await;
    assert!(
        moved
            .iter()
            .any(|(to, subject)| to == "wang@hengda.example" && subject.contains("办结期限调整")),
        "{moved:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_nobody_rates_is_closed_as_unrated_after_five_working_days() {
    use qihu_forms::domain::Rating;
    use qihu_forms::order::payload::RatingChannel;
    use qihu_forms::workflow::UnitAction;

    let dir = tempfile::tempdir().unwrap();
    let app = App::open(app_settings(dir.path()))
        .await
        .expect("app opens");
    let forms = &app.forms.forms;
    let row = dispatched_order(
        &app,
        "厂区门前道路积水，货车无法进出。",
        shanghai("2026-11-23T09:00:00"),
    )
    .await;
    let row = forms
        .unit_action(
            &row,
            "tax",
            &UnitAction::Accept,
            shanghai("2026-11-23T10:00:00"),
        )
        .await
        .unwrap();
    let resolve = UnitAction::Resolve {
        solved: true,
        method: "已协调疏通排水管道".to_owned(),
        contact_name: "李科长".to_owned(),
        contact_phone: "0632-5512345".to_owned(),
    };
    // Reported on Wednesday 25 November 2026: five working days end on Wednesday 2 December.
    let row = forms
        .unit_action(&row, "tax", &resolve, shanghai("2026-11-25T15:00:00"))
        .await
        .unwrap();
    assert_eq!(row.status, Status::Resolved);
    let waiting = app.store.awaiting_rating().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].1, shanghai("2026-11-25T15:00:00"));

    let pass = cards::supervise(forms, shanghai("2026-12-02T23:00:00"))
        .await
        .unwrap();
    assert_eq!(pass.unrated_closed, 0, "still within the limit");
    let pass = cards::supervise(forms, shanghai("2026-12-03T00:05:00"))
        .await
        .unwrap();
    assert_eq!(pass.unrated_closed, 1);
    let closed = app.store.request_by_id(row.id).await.unwrap().unwrap();
    assert_eq!(closed.status, Status::Closed);
    let events = app.store.events(row.id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind(), "rating_lapsed");
    assert!(
        last.event
            .closure_reason()
            .is_some_and(|reason| reason.contains("5 个工作日内") && reason.contains("未评价办结")),
        "{last:?}"
    );
    assert!(app.store.awaiting_rating().await.unwrap().is_empty());
    // A late rating finds the order closed; a second pass closes nothing more.
    let late = forms
        .rate(
            &closed,
            Rating::VerySatisfied,
            "",
            RatingChannel::Web,
            "enterprise",
            shanghai("2026-12-03T09:00:00"),
        )
        .await;
    assert!(late.is_err());
    let pass = cards::supervise(forms, shanghai("2026-12-04T00:05:00"))
        .await
        .unwrap();
    assert_eq!(pass.unrated_closed, 0);

    // The month's figures count it as closed, apart from the satisfaction rate.
    let period =
        qihu_forms::reports::Period::parse(qihu_forms::reports::ReportKind::Monthly, "2026-12")
            .unwrap();
    let december = qihu_forms::reports::figures(forms, period, shanghai("2026-12-05T00:00:00"))
        .await
        .unwrap();
    let tax = december
        .units
        .iter()
        .find(|unit| unit.unit_id == "tax")
        .unwrap();
    assert_eq!((tax.tally.closed, tax.tally.unrated), (1, 1));
    assert_eq!(tax.tally.satisfaction.label(), "—");
}
