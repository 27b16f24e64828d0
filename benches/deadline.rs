//! Benchmark: deadlines computed per second by the working-day calendar (goal: at least 1 million per second).
//!
//! Run: `cargo bench --bench deadline`. Starts spread over 2022–2026 (every holiday period), 5 working days each.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use qihu_forms::calendar::Calendar;

fn main() {
    let calendar = Calendar::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/calendar"))
        .expect("calendar loads");
    let first: DateTime<Utc> = "2022-01-01T02:00:00Z".parse().expect("instant");
    let starts: Vec<DateTime<Utc>> = (0..1_000_000i64)
        .map(|i| first + Duration::minutes((i * 2_617) % (5 * 365 * 24 * 60)))
        .collect();
    let mut rates = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        for &from in &starts {
            black_box(calendar.due(black_box(from), 5));
        }
        let elapsed = started.elapsed();
        rates.push(starts.len() as f64 / elapsed.as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "deadline: {} deadlines of 5 working days per run, median {:.2} million/s (min {:.2}, max {:.2})",
        starts.len(),
        rates[2] / 1e6,
        rates[0] / 1e6,
        rates[4] / 1e6
    );
}
