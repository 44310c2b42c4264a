//! A self-contained SVG plot of a run over time, written by hand (no
//! plotting crate, no scripts, no external resources).
//!
//! Three panels share the time axis: throughput (requests finished per
//! second, with the intended rate in open loop), errors per second (failed
//! and non-2xx together) and latency percentiles (p50, p90, p99, max). Each panel has
//! "nice" ticks (1, 2 or 5 × 10^k apart, from 0), a labelled axis with its
//! unit and a legend. Every series is one `<path>` whose `id` is
//! `series-<name>`, so tools and tests can find it.

use std::fmt::Write;

use crate::series::SecondStats;

const WIDTH: f64 = 900.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 64.0;
const PANEL_H: f64 = 150.0;
const GAP: f64 = 42.0;
const BOTTOM: f64 = 48.0;
/// The value axis reaches at least this times the highest value.
const HEADROOM: f64 = 1.05;
/// Roughly how many intervals an axis is split into.
const TICKS: f64 = 5.0;

/// What is plotted, and how it is titled.
pub(crate) struct Plot<'a> {
    /// First line: target, mode, rate.
    pub title: String,
    /// Second line: a summary of the run.
    pub subtitle: String,
    pub series: &'a [SecondStats],
    /// Open loop: the intended rate, drawn as a reference line.
    pub intended_rate: Option<f64>,
}

/// One line of a panel.
struct Line {
    /// Legend name; the path's id is `series-<id>`.
    name: &'static str,
    id: &'static str,
    color: &'static str,
    width: f64,
    dash: Option<&'static str>,
    value: fn(&SecondStats) -> f64,
    /// Only seconds with at least one response have a value (latency).
    needs_responses: bool,
}

/// One panel: an axis title with its unit, and lines drawn in order (the
/// last on top).
struct Panel {
    label: &'static str,
    integer: bool,
    lines: Vec<Line>,
}

/// A value axis from 0 to `top`, ticks every `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axis {
    pub top: f64,
    pub step: f64,
}

/// Nice ticks for values in `[0, max]`: a step of 1, 2 or 5 × 10^k giving
/// about [`TICKS`] intervals (at least 1 on a count axis), and the first
/// multiple of it at or above `max`.
pub(crate) fn nice_axis(max: f64, integer: bool) -> Axis {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / TICKS;
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    if integer {
        step = step.max(1.0).round();
    }
    let top = ((max / step) - 1e-9).ceil().max(1.0) * step;
    Axis { top, step }
}

impl Axis {
    /// The tick values, 0 to `top`.
    fn ticks(&self) -> impl Iterator<Item = f64> + '_ {
        let n = (self.top / self.step).round() as usize;
        (0..=n).map(move |i| i as f64 * self.step)
    }

    /// A tick label with as many decimals as the step needs.
    fn label(&self, v: f64) -> String {
        let decimals = (-(self.step.log10() + 1e-9).floor()).max(0.0) as usize;
        format!("{v:.decimals$}")
    }
}

/// Renders the plot as an SVG document.
pub(crate) fn render(plot: &Plot<'_>) -> String {
    let series = plot.series;
    let seconds = series.len().max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let panels = panels(plot.intended_rate.is_some());
    let height = TOP + panels.len() as f64 * (PANEL_H + GAP) - GAP + BOTTOM;
    let time = nice_axis(seconds, true);
    let x = |t: f64| LEFT + plot_w * t / time.top;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(&plot.title));
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text id="title" x="{:.1}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        LEFT + plot_w / 2.0,
        escape(&plot.title)
    );
    let _ = writeln!(
        svg,
        r##"<text id="subtitle" x="{:.1}" y="41" text-anchor="middle" fill="#444">{}</text>"##,
        LEFT + plot_w / 2.0,
        escape(&plot.subtitle)
    );

    for (p, panel) in panels.iter().enumerate() {
        let top = TOP + p as f64 * (PANEL_H + GAP);
        let bottom = top + PANEL_H;
        let max = panel
            .lines
            .iter()
            .flat_map(|l| series.iter().map(move |s| (l.value)(s)))
            .chain(plot.intended_rate.filter(|_| p == 0))
            .fold(0.0, f64::max);
        // A little headroom, so that a flat line is not drawn on the frame.
        let axis = nice_axis(max * HEADROOM, panel.integer);
        let y = |v: f64| bottom - PANEL_H * v / axis.top;
        let _ = writeln!(svg, r#"<g class="panel" id="panel-{p}">"#);
        // Grid and value ticks.
        for v in axis.ticks() {
            let yy = y(v);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                yy + 4.0,
                axis.label(v)
            );
        }
        // Time grid; labels under the last panel only.
        for t in time.ticks() {
            let xx = x(t);
            let _ = writeln!(
                svg,
                r##"<line x1="{xx:.1}" y1="{top:.1}" x2="{xx:.1}" y2="{bottom:.1}" stroke="#f0f0f0"/>"##
            );
            if p + 1 == panels.len() {
                let _ = writeln!(
                    svg,
                    r#"<text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                    bottom + 16.0,
                    time.label(t)
                );
            }
        }
        let _ = writeln!(
            svg,
            r##"<rect x="{LEFT}" y="{top:.1}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#333"/>"##
        );
        let mid = top + PANEL_H / 2.0;
        let _ = writeln!(
            svg,
            r#"<text x="18" y="{mid:.1}" text-anchor="middle" transform="rotate(-90 18 {mid:.1})">{}</text>"#,
            panel.label
        );
        // Lines, then the legend on the right.
        for line in &panel.lines {
            let d = if line.id == "intended" {
                plot.intended_rate.map_or(String::new(), |r| {
                    format!("M{:.1},{:.1} H{:.1}", LEFT, y(r), x(seconds))
                })
            } else {
                path(series, line, &x, &y)
            };
            let dash = line
                .dash
                .map_or(String::new(), |d| format!(r#" stroke-dasharray="{d}""#));
            let _ = writeln!(
                svg,
                r#"<path id="series-{}" class="series" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round" stroke-linecap="round"{dash} d="{d}"/>"#,
                line.id, line.color, line.width
            );
        }
        let _ = writeln!(svg, r#"<g class="legend" id="legend-{p}">"#);
        for (i, line) in panel.lines.iter().enumerate() {
            let ly = top + 12.0 + 17.0 * i as f64;
            let lx = WIDTH - RIGHT + 14.0;
            let dash = line
                .dash
                .map_or(String::new(), |d| format!(r#" stroke-dasharray="{d}""#));
            let _ = writeln!(
                svg,
                r#"<line x1="{lx}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{}" stroke-width="{}"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
                lx + 24.0,
                line.color,
                line.width.max(1.5),
                lx + 30.0,
                ly + 4.0,
                line.name
            );
        }
        svg.push_str("</g>\n</g>\n");
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time since start (s)</text>"#,
        LEFT + plot_w / 2.0,
        height - 10.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// The panels and their lines. Latency lines are drawn widest-range first
/// (max, p99, p90, p50) with distinct dashes, so that a percentile equal
/// to the one below it (few responses in a second) still shows both.
fn panels(open_loop: bool) -> Vec<Panel> {
    let mut throughput = vec![Line {
        name: "throughput",
        id: "throughput",
        color: "#1f77b4",
        width: 2.0,
        dash: None,
        value: |s| s.finished() as f64,
        needs_responses: false,
    }];
    if open_loop {
        // Drawn dashed over the throughput: both show where they agree.
        throughput.push(Line {
            name: "intended rate",
            id: "intended",
            color: "#888888",
            width: 1.5,
            dash: Some("6 4"),
            value: |_| 0.0,
            needs_responses: false,
        });
    }
    vec![
        Panel {
            label: "throughput (req/s)",
            integer: true,
            lines: throughput,
        },
        Panel {
            label: "errors (per s)",
            integer: true,
            lines: vec![Line {
                name: "failed + non-2xx",
                id: "errors",
                color: "#d62728",
                width: 2.0,
                dash: None,
                value: |s| (s.errors + s.non_2xx) as f64,
                needs_responses: false,
            }],
        },
        Panel {
            label: "latency (ms)",
            integer: false,
            lines: vec![
                Line {
                    name: "max",
                    id: "max",
                    color: "#9467bd",
                    width: 1.2,
                    dash: None,
                    value: |s| s.max_ms,
                    needs_responses: true,
                },
                Line {
                    name: "p99",
                    id: "p99",
                    color: "#ff7f0e",
                    width: 2.2,
                    dash: Some("7 4"),
                    value: |s| s.p99_ms,
                    needs_responses: true,
                },
                Line {
                    name: "p90",
                    id: "p90",
                    color: "#2ca02c",
                    width: 1.8,
                    dash: Some("2 3"),
                    value: |s| s.p90_ms,
                    needs_responses: true,
                },
                Line {
                    name: "p50",
                    id: "p50",
                    color: "#1f77b4",
                    width: 2.0,
                    dash: None,
                    value: |s| s.p50_ms,
                    needs_responses: true,
                },
            ],
        },
    ]
}

/// Path data of `line`: one point per second, at the middle of the second;
/// a gap where the line has no value. A lone point is drawn as a dot.
fn path(
    series: &[SecondStats],
    line: &Line,
    x: &dyn Fn(f64) -> f64,
    y: &dyn Fn(f64) -> f64,
) -> String {
    let mut d = String::new();
    let mut run = 0;
    for s in series {
        if line.needs_responses && s.completed == 0 {
            if run == 1 {
                d.push_str(" h0.01");
            }
            run = 0;
            continue;
        }
        let command = if run == 0 { 'M' } else { 'L' };
        if !d.is_empty() {
            d.push(' ');
        }
        let _ = write!(
            d,
            "{command}{:.1},{:.1}",
            x(s.second as f64 + 0.5),
            y((line.value)(s))
        );
        run += 1;
    }
    if run == 1 {
        d.push_str(" h0.01");
    }
    d
}

/// `text` escaped for XML text and attribute values (maud's escaper).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let _ = maud::Escaper::new(&mut out).write_str(text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(second: u64, completed: u64) -> SecondStats {
        SecondStats {
            second,
            completed,
            errors: 1,
            non_2xx: 2,
            p50_ms: 1.0,
            p90_ms: 2.0,
            p99_ms: 3.0,
            max_ms: 3.0,
        }
    }

    #[test]
    fn nice_axes_step_by_1_2_or_5_from_zero() {
        let check = |max: f64, integer: bool, top: f64, step: f64| {
            let a = nice_axis(max, integer);
            assert!(
                (a.top - top).abs() < 1e-9 && (a.step - step).abs() < 1e-9,
                "{max}: {a:?}"
            );
        };
        check(0.3, false, 0.3, 0.1);
        check(3.0, false, 3.0, 1.0);
        check(12.0, false, 15.0, 5.0);
        check(1000.0, false, 1000.0, 200.0);
        check(487.0, true, 500.0, 100.0);
        check(0.0, true, 1.0, 1.0);
        check(3.0, true, 3.0, 1.0);
        for max in [0.7, 1.0, 9.9, 42.0, 1234.5, 98_765.0] {
            let a = nice_axis(max, false);
            assert!(a.top >= max && a.top - a.step < max, "{max}: {a:?}");
            let mantissa = a.step / 10f64.powf(a.step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0].iter().any(|m| (m - mantissa).abs() < 1e-9),
                "{max}: {a:?}"
            );
            let ticks: Vec<f64> = a.ticks().collect();
            assert!((4..=11).contains(&ticks.len()), "{max}: {ticks:?}");
        }
        assert_eq!(nice_axis(0.3, false).label(0.2), "0.2");
        assert_eq!(nice_axis(1000.0, false).label(400.0), "400");
    }

    #[test]
    fn gaps_and_lone_points() {
        let line = &panels(false)[2].lines[3];
        let s = [second(0, 5), second(1, 0), second(2, 5), second(3, 5)];
        let d = path(&s, line, &|t| t, &|v| v);
        assert_eq!(d, "M0.5,1.0 h0.01 M2.5,1.0 L3.5,1.0");
    }

    #[test]
    fn escapes_the_title() {
        let s = [second(0, 5)];
        let svg = render(&Plot {
            title: "a <b> & \"c\"".into(),
            subtitle: String::new(),
            series: &s,
            intended_rate: None,
        });
        assert!(svg.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
        assert!(!svg.contains("series-intended"));
    }
}
