//! Stories of verification (办结核查, notice §二(四)3), closure reasons and supervision cards in the console.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// Verification (办结核查, notice §二(四)3), closure reasons, supervision cards in the console
// ---------------------------------------------------------------------------------------------------------------

/// The task force's mailbox in `config/units.toml`.
pub(crate) const TASK_FORCE: &str = "zhuanban@tengzhou.example";
pub(crate) const POWER_HANDLER: &str = "power-handler@tengzhou.example";

/// A small but complete PDF of `len` bytes (signature, padding, end marker).
pub(crate) fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n% scanned verification form\n".to_vec();
    let end = b"\n%%EOF\n";
    bytes.resize(len.saturating_sub(end.len()).max(bytes.len()), b' ');
    bytes.extend_from_slice(end);
    bytes
}

/// A small but complete PNG (signature, IHDR, IEND).
pub(crate) fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&[
        0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xDE,
    ]);
    bytes.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// A unit page opened in a browser: its CSRF cookie (`qihu_csrf=…`) and hidden field.
pub(crate) struct UnitBrowser {
    cookie: String,
    csrf: String,
    html: String,
}

impl TestApp {
    /// Reports the result of a power order through a unit link (JSON, as scripts do).
    pub(crate) async fn resolve(&self, number: &str, unit_token: &str) {
        let response = self
            .post_json(
                &format!("/unit/{number}"),
                &json!({
                    "token": unit_token, "action": "resolve", "solved": "yes",
                    "method": "已检修线路并更换老化电缆", "contact_name": "李工", "contact_phone": "0632-5512345"
                }),
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// Rates order `number` through the newest rating link the enterprise received.
    pub(crate) async fn rate_from_mail(
        &self,
        sink: &SmtpSink,
        number: &str,
        rating: &str,
        comment: &str,
    ) {
        self.drain().await;
        let mail = sink
            .to("wang@hengda.example")
            .into_iter()
            .rfind(|m| m.subject.contains(number) && m.subject.contains("请评价"))
            .expect("a rating e-mail");
        let (_, token) = link_in(&mail, "/rate/");
        let response = self
            .post_json(
                &format!("/rate/{number}"),
                &json!({ "token": token, "rating": rating, "comment": comment }),
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// The newest link to the power company's page for `number` in a message whose subject has `marker`.
    pub(crate) async fn power_link(&self, sink: &SmtpSink, number: &str, marker: &str) -> String {
        self.drain().await;
        let mail = sink
            .to(POWER_HANDLER)
            .into_iter()
            .rfind(|m| m.subject.contains(number) && m.subject.contains(marker))
            .unwrap_or_else(|| panic!("no “{marker}” mail for {number}"));
        link_in(&mail, "/unit/").1
    }

    /// Opens the unit page as a browser does.
    pub(crate) async fn unit_browser(&self, number: &str, token: &str) -> UnitBrowser {
        let response = self.get(&format!("/unit/{number}?token={token}")).await;
        assert_eq!(response.status(), 200);
        let cookie = set_cookie(&response, "qihu_csrf").expect("CSRF cookie");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let html = response.text().await.unwrap();
        let csrf = hidden(&html, "csrf_token");
        UnitBrowser { cookie, csrf, html }
    }

    /// Posts the upload form of the unit page: token, CSRF token, then the file.
    pub(crate) async fn upload(
        &self,
        number: &str,
        token: &str,
        browser: &UnitBrowser,
        file_name: &str,
        mime: &str,
        content: Vec<u8>,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(content)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .unwrap();
        let form = reqwest::multipart::Form::new()
            .text("token", token.to_owned())
            .text("csrf_token", browser.csrf.clone())
            .part("file", part);
        self.client
            .post(format!("{}/unit/{number}/verification-form", self.base))
            .header("cookie", &browser.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Opens the unit page and uploads a signed and sealed form (a PDF), as the lead unit does.
    pub(crate) async fn upload_signed_form(&self, number: &str, token: &str) {
        let browser = self.unit_browser(number, token).await;
        let response = self
            .upload(
                number,
                token,
                &browser,
                "scan.pdf",
                "application/pdf",
                pdf(3000),
            )
            .await;
        assert_eq!(response.status(), 303);
    }

    /// The events of order `number`.
    pub(crate) async fn events_of(&self, number: &str) -> Vec<qihu_forms::store::EventRow> {
        self.app
            .store
            .events(self.stored(number).await.id)
            .await
            .unwrap()
    }
}

/// A power order handled twice and rated 不满意 twice: its number, tracking token and the link token the
/// power company got to fill in the 不满意诉求审核反馈表.
pub(crate) async fn order_in_verification(
    app: &TestApp,
    sink: &SmtpSink,
) -> (String, String, String) {
    let (number, tracking_token, unit_token) = accepted_power_order(app, sink).await;
    app.resolve(&number, &unit_token).await;
    app.rate_from_mail(sink, &number, "unsatisfied", "电压仍然不稳")
        .await;
    let rework_token = app.power_link(sink, &number, "重新办理").await;
    app.resolve(&number, &rework_token).await;
    app.rate_from_mail(sink, &number, "不满意", "问题没有根本解决")
        .await;
    assert_eq!(app.stored(&number).await.status, Status::Verification);
    let token = app.power_link(sink, &number, "请填写审核反馈表").await;
    (number, tracking_token, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_lead_unit_prints_and_uploads_the_signed_form_and_the_task_forces_opinion_closes_the_order()
 {
    let (app, sink) = spawn_app().await;
    let (number, tracking_token, token) = order_in_verification(&app, &sink).await;

    // The unit's page asks for the form in three steps.
    let browser = app.unit_browser(&number, &token).await;
    assert!(browser.html.contains("不满意诉求审核反馈表"));
    assert!(browser.html.contains("不超过 10 MB"), "the default limit");
    let explained = app
        .post_json(
            &format!("/unit/{number}"),
            &json!({ "token": token, "action": "explain",
                     "explanation": "两次均已现场检修，电压波动源于企业自备变压器，已书面告知整改方案。" }),
        )
        .await;
    assert_eq!(explained.status(), 200);

    // The printable form: the order, both rounds with their ratings, the explanation, places to sign and seal.
    let sheet = app
        .get(&format!("/unit/{number}/verification-form?token={token}"))
        .await;
    assert_eq!(sheet.status(), 200);
    let sheet = sheet.text().await.unwrap();
    for expected in [
        "企业诉求“接诉即办”不满意诉求审核反馈表",
        number.as_str(),
        "滕州市恒达机械制造有限公司",
        "厂区最近经常停电",
        "第1次办理答复",
        "第2次办理答复",
        "已检修线路并更换老化电缆",
        "电压仍然不稳",
        "问题没有根本解决",
        "电压波动源于企业自备变压器",
        "主要负责人签字",
        "单位盖章",
        "工作专班核查意见",
        "verification-form.css",
    ] {
        assert!(sheet.contains(expected), "the form shows {expected}");
    }
    // Without a valid link, nothing.
    assert_eq!(
        app.get(&format!("/unit/{number}/verification-form?token=forged"))
            .await
            .status(),
        404
    );

    // Upload the signed scan (1 MB, far above the 64 KB of a request form); the task force is told.
    let first = pdf(1024 * 1024);
    let response = app
        .upload(
            &number,
            &token,
            &browser,
            "反馈表（盖章）.pdf",
            "application/pdf",
            first,
        )
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    app.drain().await;
    let told = sink.to(TASK_FORCE);
    assert!(
        told.iter()
            .any(|m| m.subject.contains(&number) && m.subject.contains("已上传审核反馈表")),
        "{:?}",
        told.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    // A re-upload (a clearer photo) is kept beside the first; the newest counts.
    let response = app
        .upload(&number, &token, &browser, "photo.png", "image/png", png())
        .await;
    assert_eq!(response.status(), 303);
    let page = app.unit_browser(&number, &token).await.html;
    assert!(page.contains("反馈表（盖章）.pdf") && page.contains("photo.png"));
    assert_eq!(page.matches("以此份为准").count(), 1);

    // The console lists both, downloads them as they were stored, and takes the opinion.
    app.add_user("zhang", Role::Centre).await;
    app.add_user("leader", Role::Leader).await;
    let centre = app.login("zhang").await;
    let leader = app.login("leader").await;
    let order_page = app
        .console_page(&centre, &format!("/console/requests/{number}"))
        .await;
    assert!(order_page.contains("记录工作专班核查意见"));
    assert!(order_page.contains("情况属实，予以销号"));
    assert!(order_page.contains("电压波动源于企业自备变压器"));
    let stored = app
        .app
        .store
        .verification_forms(app.stored(&number).await.id)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    let newest = &stored[0];
    assert_eq!(newest.media_type, "image/png");
    let download = app
        .console_get(
            &centre,
            &format!(
                "/console/requests/{number}/verification-forms/{}",
                newest.id
            ),
        )
        .await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    let disposition = download.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with(&format!(
            "attachment; filename=\"{number}-verification-{}.png\"",
            newest.id
        )),
        "{disposition}"
    );
    assert!(disposition.contains("filename*=UTF-8''photo.png"));
    assert_eq!(download.bytes().await.unwrap().as_ref(), png().as_slice());
    let older = app
        .console_get(
            &centre,
            &format!(
                "/console/requests/{number}/verification-forms/{}",
                stored[1].id
            ),
        )
        .await;
    assert_eq!(older.headers()["content-type"], "application/pdf");
    assert!(
        older.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''%E5%8F%8D%E9%A6%88%E8%A1%A8")
    );
    // Another order's file id opens nothing.
    assert_ne!(
        app.console_get(
            &centre,
            "/console/requests/QH20000101-0001/verification-forms/1"
        )
        .await
        .status(),
        200
    );

    // A leader reads but cannot decide.
    let leader_page = app
        .console_page(&leader, &format!("/console/requests/{number}"))
        .await;
    assert!(leader_page.contains("不能记录核查意见"));
    let path = format!("/console/requests/{number}/verification-opinion");
    let refused = app
        .console_post(
            &leader,
            &path,
            &[
                ("csrf_token", leader.csrf.as_str()),
                ("conclusion", "close"),
                ("opinion", "同意"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 403);
    // The opinion and the conclusion are both required.
    for fields in [
        [("conclusion", "close"), ("opinion", "  ")],
        [("conclusion", "予以销号"), ("opinion", "情况属实")],
    ] {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", centre.csrf.as_str()));
        let response = app.console_post(&centre, &path, &fields).await;
        assert_eq!(response.status(), 400);
        assert_eq!(app.stored(&number).await.status, Status::Verification);
    }
    let opinion =
        "经核查，承办单位两次均到场处置，电压问题系企业自备设备所致，已告知整改方案，情况属实。";
    let closed = app
        .console_post(
            &centre,
            &path,
            &[
                ("csrf_token", centre.csrf.as_str()),
                ("conclusion", "close"),
                ("opinion", opinion),
            ],
        )
        .await;
    assert_eq!(closed.status(), 303);
    assert_eq!(app.stored(&number).await.status, Status::Closed);

    // The enterprise reads the outcome and the reason, and gets an e-mail.
    let status = app.status_of(&number, &tracking_token).await;
    assert_eq!(status["status_label"], "已办结");
    let last = status["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["label"], "工作专班核查：情况属实，予以销号，已办结");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .starts_with("销号理由：专班核查意见（情况属实，予以销号）：经核查"),
        "{last}"
    );
    app.drain().await;
    assert!(
        sink.to("wang@hengda.example")
            .iter()
            .any(|m| m.subject.contains("经工作专班核查已办结") && m.text.contains(opinion))
    );
    // The console's copy of the form now carries the opinion; the unit can no longer upload.
    let sheet = app
        .console_page(
            &centre,
            &format!("/console/requests/{number}/verification-form"),
        )
        .await;
    assert!(sheet.contains(opinion));
    let late = app
        .upload(
            &number,
            &token,
            &browser,
            "late.pdf",
            "application/pdf",
            pdf(2048),
        )
        .await;
    assert_eq!(late.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_task_force_can_send_an_order_back_and_a_new_verification_needs_a_new_form()
{
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let centre = app.login("zhang").await;
    let (number, _, token) = order_in_verification(&app, &sink).await;
    let path = format!("/console/requests/{number}/verification-opinion");
    let send_back = |opinion: &'static str| {
        let app = &app;
        let centre = &centre;
        let path = path.clone();
        async move {
            app.console_post(
                centre,
                &path,
                &[
                    ("csrf_token", centre.csrf.as_str()),
                    ("conclusion", "rework"),
                    ("opinion", opinion),
                ],
            )
            .await
        }
    };
    // No opinion before the signed form is uploaded.
    let early = send_back("请重新核实").await;
    assert_eq!(early.status(), 409);
    assert!(early.text().await.unwrap().contains("尚未上传"));
    let page = app
        .console_page(&centre, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("承办单位尚未上传签字盖章的审核反馈表"));

    app.upload_signed_form(&number, &token).await;
    let response = send_back("承办单位未到企业现场核实，请重新办理并当面答复企业。").await;
    assert_eq!(response.status(), 303);
    let order = app.stored(&number).await;
    assert_eq!(order.status, Status::Rework);
    // 3 working days from today, by the calendar.
    let calendar = qihu_forms::calendar::Calendar::load(&root().join("config/calendar")).unwrap();
    let due = order.due_at.unwrap();
    assert!(
        due <= calendar.due(Utc::now(), 3)
            && due >= calendar.due(Utc::now() - chrono::Duration::minutes(5), 3)
    );
    // The unit is told with a new link, and the round counts: still 不满意 → verification again.
    let again = app.power_link(&sink, &number, "专班退回重办").await;
    app.resolve(&number, &again).await;
    app.rate_from_mail(&sink, &number, "unsatisfied", "仍未解决")
        .await;
    assert_eq!(app.stored(&number).await.status, Status::Verification);
    let rated = app.events_of(&number).await;
    let round = rated.iter().rev().find(|e| e.kind() == "rated").unwrap();
    assert_eq!(round.payload()["rating"]["round"], 3);
    // The earlier upload belonged to the earlier verification: a new signed form is needed.
    let refused = send_back("再次退回").await;
    assert_eq!(refused.status(), 409);
    let sheet = app
        .console_page(
            &centre,
            &format!("/console/requests/{number}/verification-form"),
        )
        .await;
    assert!(sheet.contains("第3次办理答复"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn hostile_uploads_are_refused_in_plain_chinese_and_nothing_is_stored() {
    let (app, sink) =
        spawn_app_adjusted(|settings| settings.intake.max_upload_bytes = 100_000).await;
    let (number, _, token) = order_in_verification(&app, &sink).await;
    let browser = app.unit_browser(&number, &token).await;
    let upload = |name: &'static str, mime: &'static str, content: Vec<u8>| {
        let app = &app;
        let browser = &browser;
        let number = number.clone();
        let token = token.clone();
        async move {
            let response = app
                .upload(&number, &token, browser, name, mime, content)
                .await;
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };

    // A page or a program named .pdf and sent as application/pdf.
    let (status, body) = upload(
        "反馈表.pdf",
        "application/pdf",
        b"<html><script>alert(1)</script></html>".to_vec(),
    )
    .await;
    assert_eq!(status, 415);
    assert!(body.contains("只能上传 PDF、JPG 或 PNG"), "{body}");
    let (status, _) = upload(
        "scan.pdf",
        "application/pdf",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00 This program cannot be run in DOS mode".to_vec(),
    )
    .await;
    assert_eq!(status, 415);
    // Over the configured limit, by one byte.
    let (status, body) = upload("big.pdf", "application/pdf", pdf(100_001)).await;
    assert_eq!(status, 413);
    assert!(body.contains("文件超过 98 KB 的上限"), "{body}");
    // Far over it: still a clear answer, not a broken connection.
    let (status, _) = upload("huge.pdf", "application/pdf", pdf(150_000)).await;
    assert_eq!(status, 413);
    // Empty.
    let (status, body) = upload("empty.pdf", "application/pdf", Vec::new()).await;
    assert_eq!(status, 400);
    assert!(body.contains("文件是空的"), "{body}");

    // A forged token, a missing CSRF token.
    let forged = app
        .upload(
            &number,
            "forged-token",
            &browser,
            "a.pdf",
            "application/pdf",
            pdf(2000),
        )
        .await;
    assert_eq!(forged.status(), 404);
    let no_csrf = app
        .client
        .post(format!("{}/unit/{number}/verification-form", app.base))
        .multipart(
            reqwest::multipart::Form::new()
                .text("token", token.clone())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(pdf(2000)).file_name("a.pdf"),
                ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    // Not multipart at all.
    let plain = app
        .post_json(
            &format!("/unit/{number}/verification-form"),
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(plain.status(), 415);
    // The co-handler's link cannot upload the lead unit's form.
    let co_mail = sink
        .to("development-handler@tengzhou.example")
        .into_iter()
        .find(|m| m.subject.contains(&number))
        .expect("the co-handler's dispatch e-mail");
    let (_, co_token) = link_in(&co_mail, "/unit/");
    let co_page = app
        .get(&format!("/unit/{number}?token={co_token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(co_page.contains("由首接单位") && !co_page.contains("第三步"));
    let response = app
        .upload(
            &number,
            &co_token,
            &browser,
            "a.pdf",
            "application/pdf",
            pdf(2000),
        )
        .await;
    assert_eq!(response.status(), 409);
    // An expired link: the order re-dispatched long ago, so its links have run out.
    let (other, _, _) = dispatched_power_order(&app, &sink).await;
    let long_ago = Utc::now() - chrono::Duration::days(120);
    app.app
        .forms
        .forms
        .dispatch(
            &app.stored(&other).await,
            "power",
            &[],
            "centre:test",
            "改派测试",
            long_ago,
        )
        .await
        .unwrap();
    app.drain().await;
    let (_, expired) = link_in(
        sink.to(POWER_HANDLER)
            .iter()
            .rfind(|m| m.subject.contains(&other))
            .unwrap(),
        "/unit/",
    );
    let response = app
        .upload(
            &other,
            &expired,
            &browser,
            "a.pdf",
            "application/pdf",
            pdf(2000),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        app.get(&format!("/unit/{other}?token={expired}"))
            .await
            .status(),
        404
    );

    let id = app.stored(&number).await.id;
    assert!(
        app.app
            .store
            .verification_forms(id)
            .await
            .unwrap()
            .is_empty()
    );

    // Markup in the file name is reduced to safe characters and escaped wherever shown.
    let (status, _) = upload(
        "<script>alert(1)</script>\".pdf",
        "application/pdf",
        pdf(2000),
    )
    .await;
    assert_eq!(status, 303);
    let stored = app.app.store.verification_forms(id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].file_name.contains(['<', '>', '"', '/']),
        "{}",
        stored[0].file_name
    );
    assert!(stored[0].file_name.ends_with(".pdf"));
    let page = app.unit_browser(&number, &token).await.html;
    assert!(!page.contains("<script>alert"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn every_path_to_closed_records_its_reason_and_shows_it() {
    let (app, sink) = spawn_app().await;
    app.add_user("zhang", Role::Centre).await;
    let centre = app.login("zhang").await;

    // 1. The enterprise rates through its link: satisfied.
    let (online, online_token, unit_token) = accepted_power_order(&app, &sink).await;
    app.resolve(&online, &unit_token).await;
    app.rate_from_mail(&sink, &online, "fairly_satisfied", "")
        .await;

    // 2. The centre's call-back: satisfied.
    let (phoned, phoned_token, unit_token) = accepted_power_order(&app, &sink).await;
    app.resolve(&phoned, &unit_token).await;
    let response = app
        .console_post(
            &centre,
            &format!("/console/requests/{phoned}/call-back"),
            &[
                ("csrf_token", centre.csrf.as_str()),
                ("rating", "very_satisfied"),
                ("comment", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    // 3. The task force's verification after two unsatisfied rounds.
    let (verified, verified_token, token) = order_in_verification(&app, &sink).await;
    app.upload_signed_form(&verified, &token).await;
    let response = app
        .console_post(
            &centre,
            &format!("/console/requests/{verified}/verification-opinion"),
            &[
                ("csrf_token", centre.csrf.as_str()),
                ("conclusion", "close"),
                ("opinion", "企业诉求超出政策规定，承办单位已依法答复"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);

    for (number, tracking_token, reason) in [
        (&online, &online_token, "企业评价满意（比较满意）"),
        (&phoned, &phoned_token, "电话回访，企业评价满意（非常满意）"),
        (
            &verified,
            &verified_token,
            "专班核查意见（情况属实，予以销号）：企业诉求超出政策规定，承办单位已依法答复",
        ),
    ] {
        assert_eq!(app.stored(number).await.status, Status::Closed, "{number}");
        let events = app.events_of(number).await;
        let closing = events.last().unwrap();
        assert_eq!(closing.payload()["reason"], reason, "{number}");
        assert_eq!(closing.payload()["closed"], true);
        // Shown on the centre's order page and the enterprise's tracking page.
        let page = app
            .console_page(&centre, &format!("/console/requests/{number}"))
            .await;
        assert!(
            page.contains(&format!("<dt>销号理由</dt><dd>{reason}</dd>")),
            "{number}: {reason}"
        );
        let tracking = app
            .get(&format!("/track/{number}?token={tracking_token}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(tracking.contains("已办结"));
        assert!(
            tracking.contains(&format!("销号理由：{reason}")),
            "{number}: {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn the_centre_sees_every_units_card_and_waives_a_card_with_a_reason() {
    let (app, sink) = spawn_console_app().await;
    app.add_user("zhang", Role::Centre).await;
    app.add_user("leader", Role::Leader).await;
    let centre = app.login("zhang").await;
    let leader = app.login("leader").await;
    let created: Value = app
        .post_json("/api/requests", &request("help", OUTAGE))
        .await
        .json()
        .await
        .unwrap();
    let number = created["tracking_number"].as_str().unwrap().to_owned();
    let tracking = TestApp::path_of(created["tracking_url"].as_str().unwrap());
    // Dispatched a month ago and never reported on: the supervision pass issues a yellow card now.
    let month_ago = Utc::now() - chrono::Duration::days(30);
    app.app
        .forms
        .forms
        .dispatch(
            &app.stored(&number).await,
            "power",
            &[],
            "centre:zhang",
            "推进中心研判派单",
            month_ago,
        )
        .await
        .unwrap();
    let unit_token = app.power_link(&sink, &number, "企业诉求工单").await;
    let track_page = app.get(&tracking).await.text().await.unwrap();
    assert!(
        track_page.contains("本工单已超过办理期限"),
        "overdue before the card"
    );
    let report = qihu_forms::sla::cards::supervise(&app.app.forms.forms, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.issued.len(), 1);

    // The enterprise and the unit read the fact; no internal address appears.
    let track_page = app.get(&tracking).await.text().await.unwrap();
    assert!(track_page.contains("督办情况"));
    assert!(track_page.contains("对承办单位亮黄牌"), "{track_page}");
    assert!(!track_page.contains("@tengzhou.example"));
    let unit_page = app.unit_browser(&number, &unit_token).await.html;
    assert!(unit_page.contains("对承办单位亮黄牌"));

    // The units page: the power company is yellow, with its card linked to the order and its counts.
    let units = app.console_page(&centre, "/console/units").await;
    let power = units
        .split("id=\"unit-power\"")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(power.contains("card-yellow\">黄牌</span>"), "{power}");
    assert!(power.contains(&format!("/console/requests/{number}#cards")));
    assert!(
        power.contains("/console/requests?unit=power\">1</a>"),
        "one open order"
    );
    assert!(power.contains("<strong>1</strong>"), "one overdue order");
    let water = units
        .split("id=\"unit-water\"")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(water.contains("card-green\">绿牌</span>"));
    for section in ["镇街", "开发区", "市直部门"] {
        assert!(units.contains(&format!(">{section}</h2>")), "{section}");
    }
    assert!(
        app.console_page(&leader, "/console/units")
            .await
            .contains("card-yellow\">黄牌"),
        "a leader reads it too"
    );

    // The order page lists the card with its rule and evidence, and a form to waive it.
    let page = app
        .console_page(&centre, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("黄牌（督办通知）"));
    assert!(page.contains("通知§二(四)2"));
    assert!(page.contains("未反馈办理结果"));
    assert!(page.contains("免于亮牌的理由"));
    let card = app
        .events_of(&number)
        .await
        .into_iter()
        .find(|e| e.kind() == "yellow_card")
        .unwrap();
    let path = format!("/console/requests/{number}/cards/{}/waive", card.id);
    let refused = app
        .console_post(
            &leader,
            &path,
            &[("csrf_token", leader.csrf.as_str()), ("reason", "系统故障")],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let blank = app
        .console_post(
            &centre,
            &path,
            &[("csrf_token", centre.csrf.as_str()), ("reason", "  ")],
        )
        .await;
    assert_eq!(blank.status(), 400);
    assert!(blank.text().await.unwrap().contains("请填写免于亮牌的理由"));
    let no_csrf = app
        .console_post(&centre, &path, &[("reason", "系统故障")])
        .await;
    assert_eq!(no_csrf.status(), 403);
    let reason = "派单邮件因邮件系统故障未送达承办单位";
    let waived = app
        .console_post(
            &centre,
            &path,
            &[("csrf_token", centre.csrf.as_str()), ("reason", reason)],
        )
        .await;
    assert_eq!(waived.status(), 303);
    let page = app
        .console_page(&centre, &format!("/console/requests/{number}"))
        .await;
    assert!(page.contains("已免于亮牌"));
    assert!(page.contains(reason));
    let again = app
        .console_post(
            &centre,
            &path,
            &[("csrf_token", centre.csrf.as_str()), ("reason", reason)],
        )
        .await;
    assert_eq!(again.status(), 409);
    // Waived, the card no longer counts: the unit is green; the order is still overdue, and says so.
    let units = app.console_page(&centre, "/console/units").await;
    let power = units.split("id=\"unit-power\"").nth(1).unwrap();
    assert!(
        power
            .split("</tr>")
            .next()
            .unwrap()
            .contains("card-green\">绿牌")
    );
    let track_page = app.get(&tracking).await.text().await.unwrap();
    let supervision = track_page
        .split("督办情况")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("the supervision section");
    assert!(!supervision.contains("亮黄牌"), "{supervision}");
    assert!(supervision.contains("本工单已超过办理期限"));
    // A card id that is not a card of this order is not found.
    let other = format!("/console/requests/{number}/cards/1/waive");
    let response = app
        .console_post(
            &centre,
            &other,
            &[("csrf_token", centre.csrf.as_str()), ("reason", reason)],
        )
        .await;
    assert_eq!(response.status(), 404);
}
