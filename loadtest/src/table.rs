//! The human-readable summary printed after a run.

use std::fmt::Write;

use crate::histogram::LatencyStats;
use crate::report::{Report, RunReport};
use crate::series::SecondStats;

/// One line of live progress for one second of a run: requests finished
/// (answered + failed) per second, errors (failed + non-2xx) and the
/// latency percentiles of the responses of that second.
pub fn progress_line(s: &SecondStats) -> String {
    format!(
        "[{:>5} s] {:>9} req/s  errors {:>6}  p50 {:>9.3} ms  p99 {:>9.3} ms",
        s.second,
        s.finished(),
        s.errors + s.non_2xx,
        s.p50_ms,
        s.p99_ms
    )
}

/// Renders `report` as a plain-text table.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "loadtest {} -> {} ({} connections)",
        report.mode.replace('_', " "),
        report.target,
        report.connections
    );
    if report.interrupted {
        let _ = writeln!(out, "(interrupted: stopped early)");
    }
    if let Some(ramp) = &report.ramp {
        let _ = writeln!(
            out,
            "\nramp: p99 objective {:.1} ms, max error rate {:.2}%, {:.1} s per step",
            ramp.p99_objective_ms,
            ramp.max_error_rate * 100.0,
            ramp.step_duration_s
        );
        let _ = writeln!(
            out,
            "  {:>10} {:>10} {:>10} {:>8} {:>7}  result",
            "rate/s", "achieved/s", "p99 ms", "errors", "unsent"
        );
        for s in &ramp.steps {
            let _ = writeln!(
                out,
                "  {:>10.1} {:>10.1} {:>10.3} {:>7.2}% {:>7}  {}",
                s.intended_rate,
                s.achieved_rate,
                s.p99_ms,
                s.error_rate * 100.0,
                s.unsent,
                if s.passed { "pass" } else { "FAIL" }
            );
        }
        match ramp.max_rate {
            Some(rate) => {
                let _ = writeln!(out, "  highest rate holding the objective: {rate:.1} req/s");
            }
            None => {
                let _ = writeln!(out, "  no step held the objective");
            }
        }
        if report.run.is_some() {
            let _ = writeln!(out, "\nbest passing step:");
        }
    }
    if let Some(run) = &report.run {
        render_run(&mut out, run);
    }
    out
}

fn render_run(out: &mut String, run: &RunReport) {
    let r = &run.requests;
    let _ = writeln!(
        out,
        "\nrequests   sent {}  completed {}  2xx {}  non-2xx {}  failed {}{}",
        r.sent,
        r.completed,
        r.ok,
        r.non_2xx,
        r.failed,
        r.scheduled.map_or(String::new(), |s| format!(
            "  scheduled {s}  unsent {}",
            r.unsent
        )),
    );
    let intended = run
        .intended_rate
        .map_or("-".to_string(), |rate| format!("{rate:.1}/s"));
    let _ = writeln!(
        out,
        "rate       intended {intended}  achieved {:.1}/s  over {:.3} s",
        run.achieved_rate, run.elapsed_s
    );
    let codes: Vec<String> = run
        .status_codes
        .iter()
        .map(|(c, n)| format!("{c}: {n}"))
        .collect();
    let _ = writeln!(
        out,
        "status     {}",
        if codes.is_empty() {
            "-".into()
        } else {
            codes.join("  ")
        }
    );
    let _ = writeln!(
        out,
        "errors     connect {}  timeout {}  io {}",
        run.errors.connect, run.errors.timeout, run.errors.io
    );
    let _ = writeln!(
        out,
        "bytes      sent {}  received {}",
        human_bytes(run.bytes.sent),
        human_bytes(run.bytes.received)
    );
    let basis = if run.intended_rate.is_some() {
        "from intended send time"
    } else {
        "from send time"
    };
    let _ = writeln!(out, "\nlatency (ms, {basis})");
    let mut rows = vec![("all".to_string(), &run.latency_ms)];
    for (name, v) in &run.variants {
        rows.push((format!("variant {name}"), &v.latency_ms));
    }
    if run.intended_rate.is_some() {
        rows.push(("service time".to_string(), &run.service_time_ms));
    }
    latency_rows(out, &rows);
}

/// The latency table; its label column fits the longest label.
fn latency_rows(out: &mut String, rows: &[(String, &LatencyStats)]) {
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(16);
    let _ = writeln!(
        out,
        "  {:<width$} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "count", "p50", "p90", "p99", "p99.9", "max"
    );
    for (label, s) in rows {
        row(out, label, s, width);
    }
}

fn row(out: &mut String, label: &str, s: &LatencyStats, width: usize) {
    let _ = writeln!(
        out,
        "  {:<width$} {:>9} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
        label, s.count, s.p50_ms, s.p90_ms, s.p99_ms, s.p99_9_ms, s.max_ms
    );
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_columns_line_up_with_long_variant_names() {
        let s = LatencyStats {
            count: 12345,
            ..LatencyStats::default()
        };
        let rows = vec![
            ("all".to_string(), &s),
            ("variant AllTraffic-with-a-long-name".to_string(), &s),
        ];
        let mut out = String::new();
        latency_rows(&mut out, &rows);
        let ends: Vec<usize> = out
            .lines()
            .map(|l| l.find("count").or_else(|| l.find("12345")).unwrap() + 5)
            .collect();
        assert_eq!(ends.len(), 3);
        assert!(ends.iter().all(|&e| e == ends[0]), "{out}");
    }

    #[test]
    fn progress_lines_name_the_second_rate_errors_and_percentiles() {
        let s = SecondStats {
            second: 7,
            completed: 490,
            errors: 2,
            non_2xx: 5,
            p50_ms: 1.25,
            p90_ms: 2.0,
            p99_ms: 31.5,
            max_ms: 40.0,
        };
        let line = progress_line(&s);
        assert_eq!(
            line,
            "[    7 s]       492 req/s  errors      7  p50     1.250 ms  p99    31.500 ms"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
