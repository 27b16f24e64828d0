//! The steps around a unit's handling that the notice asks for besides the happy path: the acceptance limit and a
//! return (退单) of a wrongly dispatched order, re-dispatch (改派) of an order a unit holds, and the centre's answer to
//! a plan (approve or reject).

use super::*;

/// The unit page of `number` for the link token `token`.
async fn unit_page(app: &TestApp, number: &str, token: &str) -> String {
    app.get(&format!("/unit/{number}?token={token}"))
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_unit_returns_a_wrongly_dispatched_order_and_the_centre_sends_it_on() {
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let (number, tracking, unit_token) = dispatched_power_order(&app, &sink).await;

    // The dispatch e-mail and the unit page say by when to sign for it, and offer the return.
    let handler = sink
        .to("power-handler@tengzhou.example")
        .into_iter()
        .find(|mail| mail.subject.contains(&number))
        .unwrap();
    assert!(
        handler.text.contains("前受理（签收）工单"),
        "{}",
        handler.text
    );
    let page = unit_page(&app, &number, &unit_token).await;
    assert!(page.contains("前受理工单"), "{page}");
    assert!(page.contains("退回推进中心"));

    // A return needs its reason.
    let blank = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "return", "reason": "  " }),
        )
        .await;
    assert_eq!(blank.status(), 400);
    assert!(blank.text().await.unwrap().contains("退回理由"));
    assert_eq!(app.stored(&number).await.status, Status::Dispatched);

    let returned = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "return",
                     "reason": "厂区线路产权属企业自有，应由市场监管部门协调" }),
        )
        .await;
    assert_eq!(returned.status(), 200);
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::New, "back in the centre's queue");

    // The centre is told, the queue lists it, and the unit's link acts no more.
    app.drain().await;
    let notice = sink
        .to("tuijin@tengzhou.example")
        .into_iter()
        .find(|mail| mail.subject.starts_with("【退单】"))
        .expect("the centre hears of the return");
    assert!(notice.subject.contains(&number));
    assert!(notice.text.contains("厂区线路产权属企业自有"));
    let queue = app.console_page(&session, "/console").await;
    assert!(queue.contains(&number));
    let again = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "accept" }),
        )
        .await;
    assert_eq!(again.status(), 409);

    // The enterprise reads that its request is being re-routed.
    let track = app
        .get(&format!("/track/{number}?token={tracking}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(track.contains("已退回推进中心重新派单"), "{track}");

    // The centre dispatches it on; the new unit gets it.
    let response = app
        .dispatch(
            &session,
            &number,
            &[("lead_unit", "tax"), ("reason", "经核实由税务局协调")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.stored(&number).await.lead_unit.as_deref(), Some("tax"));
    app.drain().await;
    assert_eq!(sink.to("tax-handler@tengzhou.example").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn an_accepted_order_is_redispatched_only_with_a_reason_and_the_old_unit_loses_it()
{
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let (number, _, unit_token) = accepted_power_order(&app, &sink).await;

    // Accepted orders are not returned by the unit: only the centre moves them.
    let refused = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "return", "reason": "不归我们管" }),
        )
        .await;
    assert_eq!(refused.status(), 409);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("已受理的工单不能退回")
    );

    let page = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("改派"), "the order page offers re-dispatch");
    let without = app
        .dispatch(&session, &number, &[("lead_unit", "tax"), ("reason", "")])
        .await;
    assert_eq!(without.status(), 400);
    assert_eq!(
        app.stored(&number).await.lead_unit.as_deref(),
        Some("power")
    );
    let moved = app
        .dispatch(
            &session,
            &number,
            &[
                ("lead_unit", "tax"),
                ("reason", "涉及电价补贴，改由税务局牵头"),
            ],
        )
        .await;
    assert_eq!(moved.status(), 303);
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::Dispatched);
    assert_eq!(row.lead_unit.as_deref(), Some("tax"));
    let old = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "progress", "note": "仍在处理" }),
        )
        .await;
    assert_ne!(
        old.status(),
        200,
        "the unit that lost the order acts no more"
    );
    app.drain().await;
    assert_eq!(sink.to("tax-handler@tengzhou.example").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_rejected_plan_goes_back_to_the_unit_and_an_approved_one_tells_the_enterprise()
{
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let (number, _, unit_token) = accepted_power_order(&app, &sink).await;
    let committed = (Utc::now() + chrono::Duration::days(45)).date_naive();
    let plan = |reason: &str| {
        json!({ "token": unit_token, "action": "plan",
                "committed_date": committed.to_string(), "reason": reason })
    };
    let due_before = app.stored(&number).await.due_at;
    let planned = app
        .post_json(&format!("/unit/{number}"), &plan("等待设备"))
        .await;
    assert_eq!(planned.status(), 200);

    // Rejected without a reason: refused; with one, the unit handles on under its deadline.
    let path = format!("/console/requests/{number}/reject-plan");
    let blank = app
        .console_post(
            &session,
            &path,
            &[("csrf_token", session.csrf.as_str()), ("reason", "")],
        )
        .await;
    assert_eq!(blank.status(), 400);
    assert_eq!(app.stored(&number).await.status, Status::Planned);
    let rejected = app
        .console_post(
            &session,
            &path,
            &[
                ("csrf_token", session.csrf.as_str()),
                ("reason", "方案未写明临时供电措施，请补充"),
            ],
        )
        .await;
    assert_eq!(rejected.status(), 303);
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::Accepted);
    assert_eq!(
        row.due_at, due_before,
        "decided the same day: nothing to move"
    );
    app.drain().await;
    let told = sink
        .to("power-handler@tengzhou.example")
        .into_iter()
        .find(|mail| mail.subject.starts_with("【解决方案退回】"))
        .expect("the unit hears why");
    assert!(told.text.contains("方案未写明临时供电措施"));

    // The improved plan is approved: the deadline moves and the enterprise is told.
    let planned = app
        .post_json(
            &format!("/unit/{number}"),
            &plan("已落实临时发电车，新建专用变压器约40天"),
        )
        .await;
    assert_eq!(planned.status(), 200);
    let approved = app
        .console_post(
            &session,
            &format!("/console/requests/{number}/approve-plan"),
            &[("csrf_token", session.csrf.as_str())],
        )
        .await;
    assert_eq!(approved.status(), 303);
    app.drain().await;
    let enterprise = sink
        .to("wang@hengda.example")
        .into_iter()
        .find(|mail| mail.subject.contains("办结期限调整"))
        .expect("the enterprise hears its deadline moved");
    assert!(
        enterprise.text.contains(&format!(
            "{}年{}月",
            committed.format("%Y"),
            committed.format("%-m")
        )),
        "{}",
        enterprise.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_call_back_worklist_lists_results_waiting_for_a_rating() {
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let empty = app.console_page(&session, "/console/call-backs").await;
    assert!(empty.contains("目前没有等待评价的诉求"));
    let (number, _, unit_token) = accepted_power_order(&app, &sink).await;
    let resolved = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({
                "token": unit_token, "action": "resolve", "solved": "yes",
                "method": "已检修线路", "contact_name": "李工", "contact_phone": "0632-5512345"
            }),
        )
        .await;
    assert_eq!(resolved.status(), 200);
    let page = app.console_page(&session, "/console/call-backs").await;
    for expected in [
        number.as_str(),
        "13812345678",
        "未评价办结时间",
        "5 个工作日内",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn an_order_referred_to_the_city_government_waits_and_comes_back_with_a_fresh_deadline()
 {
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let session = app.login("zhang").await;
    let (number, tracking, unit_token) = accepted_power_order(&app, &sink).await;
    app.drain().await;

    let page = app
        .console_page(&session, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("上报市政府"));
    let refer = format!("/console/requests/{number}/refer-to-government");
    let blank = app
        .console_post(
            &session,
            &refer,
            &[("csrf_token", session.csrf.as_str()), ("reason", " ")],
        )
        .await;
    assert_eq!(blank.status(), 400);
    let referred = app
        .console_post(
            &session,
            &refer,
            &[
                ("csrf_token", session.csrf.as_str()),
                (
                    "reason",
                    "涉及供电、住建、自然资源三部门，线路迁改需市政府统筹",
                ),
            ],
        )
        .await;
    assert_eq!(referred.status(), 303);
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::Coordinating);
    app.drain().await;
    assert!(
        sink.to("power-handler@tengzhou.example")
            .iter()
            .any(|mail| mail.subject.starts_with("【上报市政府】")),
        "the unit hears its deadline stopped"
    );

    // While the government coordinates: the unit cannot act, and no card comes however late it gets.
    let progress = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "progress", "note": "等待协调" }),
        )
        .await;
    assert_eq!(progress.status(), 409);
    let later = Utc::now() + chrono::Duration::days(20);
    let pass = qihu_forms::sla::cards::supervise(&app.app.forms.forms, later)
        .await
        .unwrap();
    assert!(pass.issued.is_empty());
    let track = app
        .get(&format!("/track/{number}?token={tracking}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(track.contains("推进中心已上报市政府协调解决"), "{track}");

    // The coordination comes back: to the unit, with five working days from now.
    let coordination = format!("/console/requests/{number}/coordination");
    let recorded = app
        .console_post(
            &session,
            &coordination,
            &[
                ("csrf_token", session.csrf.as_str()),
                ("leader", "分管副市长"),
                ("note", "由供电公司牵头实施线路迁改，住建局配合办理占道手续"),
            ],
        )
        .await;
    assert_eq!(recorded.status(), 303);
    let row = app.stored(&number).await;
    assert_eq!(row.status, Status::Accepted);
    assert!(row.due_at.is_some_and(|due| due > Utc::now()));
    app.drain().await;
    let told = sink
        .to("power-handler@tengzhou.example")
        .into_iter()
        .find(|mail| mail.subject.starts_with("【市政府协调意见】"))
        .expect("the unit gets the coordination");
    assert!(told.text.contains("由供电公司牵头实施线路迁改"));
    let progress = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": unit_token, "action": "progress", "note": "已按协调意见启动迁改" }),
        )
        .await;
    assert_eq!(progress.status(), 200);
    // Recording it twice is refused.
    let again = app
        .console_post(
            &session,
            &coordination,
            &[
                ("csrf_token", session.csrf.as_str()),
                ("leader", "市长"),
                ("note", "再次"),
            ],
        )
        .await;
    assert_eq!(again.status(), 409);
}
