//! Writing a run's outputs: `constraint_violations.json`, `monitoring_report.json` and a
//! self-contained `report.html` with each feature's baseline and current histograms drawn
//! as inline SVG.
use super::check::{CheckResult, FeatureDrift, Violation};
use crate::files::{write_bytes, write_json};
use crate::MonitoringError;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// `constraint_violations.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstraintViolations {
    pub violations: Vec<Violation>,
}

/// Writes the three files into `out` (created if needed).
pub fn write_outputs(out: &Path, result: &CheckResult) -> Result<(), MonitoringError> {
    let violations = ConstraintViolations {
        violations: result.violations.clone(),
    };
    write_json(&out.join("constraint_violations.json"), &violations)?;
    write_json(&out.join("monitoring_report.json"), result)?;
    write_bytes(&out.join("report.html"), html(result).as_bytes())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A titled list of `<b>feature</b>{kind}: text` items; nothing when there are none.
fn section<'a>(
    h: &mut String,
    title: &str,
    items: impl Iterator<Item = (&'a str, String, &'a str)>,
) {
    let mut items = items.peekable();
    if items.peek().is_none() {
        return;
    }
    let _ = write!(h, "<h2>{title}</h2><ul>");
    for (feature, kind, text) in items {
        let _ = write!(h, "<li><b>{}</b>{kind}: {}</li>", esc(feature), esc(text));
    }
    h.push_str("</ul>");
}

/// The HTML report (no external resources).
pub fn html(r: &CheckResult) -> String {
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sentio drift report</title>\
<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}.drift{color:#b00;font-weight:bold}\
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px}</style></head><body>",
    );
    let _ = write!(
        h,
        "<h1>Drift report</h1><p>Status: <b>{}</b>. {} records (minimum {}), per-feature α after Bonferroni {:.2e}; {} violation(s).</p>",
        r.status, r.records, r.min_samples, r.bonferroni_alpha, r.violations.len()
    );
    let violations = r.violations.iter().map(|v| {
        (
            v.feature_name.as_str(),
            format!(" {}", v.constraint_check_type),
            v.description.as_str(),
        )
    });
    section(&mut h, "Violations", violations);
    let unchecked = r
        .unchecked_features
        .iter()
        .map(|u| (u.feature_name.as_str(), String::new(), u.reason.as_str()));
    section(&mut h, "Not checked", unchecked);
    h.push_str("<h2>Features</h2><table><tr><th>feature</th><th>n</th><th>PSI</th><th>JS</th><th>test</th><th>statistic</th><th>p</th><th>severity</th></tr>");
    for f in &r.features {
        let _ = write!(
            h,
            "<tr><td style=\"text-align:left\">{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{:.4}</td><td>{:.2e}</td><td class=\"{}\">{}</td></tr>",
            esc(&f.name), f.count, f.psi, f.js_distance, f.test, f.statistic, f.p_value,
            if f.drift { "drift" } else { "" }, f.severity
        );
    }
    h.push_str("</table><p class=\"legend\"><span style=\"background:#4a7bd0\"></span>baseline <span style=\"background:#e8833a\"></span>current (shares)</p>");
    for f in &r.features {
        let _ = write!(h, "<h3>{}</h3>{}", esc(&f.name), svg(f));
    }
    h.push_str("</body></html>\n");
    h
}

fn svg(f: &FeatureDrift) -> String {
    const MAX_BARS: usize = 40;
    let n = f.buckets.len().min(MAX_BARS);
    let share = |v: &[f64]| {
        let t: f64 = v.iter().sum();
        v.iter()
            .take(n)
            .map(|x| if t > 0.0 { x / t } else { 0.0 })
            .collect::<Vec<_>>()
    };
    let (b, c) = (share(&f.baseline_counts), share(&f.current_counts));
    let top = b.iter().chain(&c).copied().fold(0.0f64, f64::max).max(1e-9);
    let (w, hgt, slot) = (40.0 + n as f64 * 24.0, 220.0, 24.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\">",
        hgt + 90.0
    );
    for i in 0..n {
        let x = 30.0 + i as f64 * slot;
        for (j, (v, colour)) in [(b[i], "#4a7bd0"), (c[i], "#e8833a")]
            .into_iter()
            .enumerate()
        {
            let bh = v / top * hgt;
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {:.4}</title></rect>",
                x + j as f64 * 10.0, hgt - bh + 5.0, bh, esc(&f.buckets[i]), v
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" transform=\"rotate(60 {:.1} {:.1})\">{}</text>",
            x, hgt + 14.0, x, hgt + 14.0, esc(&f.buckets[i].chars().take(14).collect::<String>())
        );
    }
    s.push_str("</svg>");
    s
}
