//! Deadlines counted in real Chinese working days: the `qihu deadline` contract on real holiday periods.

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
