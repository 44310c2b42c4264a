//! The chart kinds. Each takes plain data and returns an `<svg class="chart">` (or, with
//! nothing to draw, a `<p class="empty">`).
use super::{colour, num, ticks, Scale};
use maud::{html, Markup};

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 40.0;

fn empty(what: &str) -> Markup {
    html! { p.empty { "No data yet for " (what) "." } }
}

fn f(v: f64) -> String {
    format!("{v:.1}")
}

/// The series names in a row under the title, each in its colour.
fn legend(names: &[&str]) -> Markup {
    let mut x = LEFT;
    let mut at = Vec::new();
    for n in names {
        at.push(x);
        x += 22.0 + 6.2 * n.chars().count() as f64;
    }
    html! {
        @for (i, n) in names.iter().enumerate() {
            rect x=(f(at[i])) y="23" width="10" height="10" fill=(colour(i)) {}
            text.legend x=(f(at[i] + 14.0)) y="32" { (n) }
        }
    }
}

/// The y axis label, along the axis.
fn y_label(label: &str, bottom: f64) -> Markup {
    html! {
        text.axis-label transform="rotate(-90)" x=(f(-(TOP + bottom) / 2.0)) y="11" text-anchor="middle" { (label) }
    }
}

/// Tick values with their labels, consecutive equal labels dropped.
fn x_ticks(axis: XAxis, x0: f64, x1: f64) -> Vec<(f64, String)> {
    let mut out: Vec<(f64, String)> = Vec::new();
    for t in ticks(x0, x1, 5) {
        let l = x_label(axis, t, x1 - x0);
        if out.last().is_none_or(|(_, p)| *p != l) {
            out.push((t, l));
        }
    }
    out
}

/// What the x axis shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XAxis {
    /// Unix seconds, labelled as UTC times or dates.
    Time,
    /// A plain number (epoch, version number) with its label.
    Number(&'static str),
}

fn x_label(axis: XAxis, v: f64, span: f64) -> String {
    match axis {
        XAxis::Number(_) => num(v),
        XAxis::Time => {
            let t = chrono::DateTime::from_timestamp(v as i64, 0).unwrap_or_default();
            let fmt = if span < 600.0 {
                "%H:%M:%S"
            } else if span <= 2.0 * 86400.0 {
                "%H:%M"
            } else {
                "%m-%d"
            };
            t.format(fmt).to_string()
        }
    }
}

/// One line of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart: one or more lines over a shared x axis.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub x: XAxis,
    pub lines: Vec<Line>,
    /// The y axis starts at 0.
    pub y_zero: bool,
    /// A fixed top of the y axis (e.g. 1 for shares).
    pub y_max: Option<f64>,
}

pub fn lines(c: &Lines) -> Markup {
    let pts: Vec<(f64, f64)> = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if pts.is_empty() {
        return empty(c.title);
    }
    let (x0, x1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (mut y0, mut y1) = pts
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if c.y_zero {
        y0 = y0.min(0.0);
    }
    if let Some(m) = c.y_max {
        y1 = y1.max(m);
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let xs = Scale::new(x0, x1, LEFT, W - RIGHT);
    let ys = Scale::new(y0, y1, H - BOTTOM, TOP);
    let markers = pts.len() <= 80 * c.lines.len().max(1);
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(c.title) data-chart="lines" {
            title { (c.title) }
            text.chart-title x=(f(LEFT)) y="14" { (c.title) }
            @for t in ticks(y0, y1, 4) {
                line.grid x1=(f(LEFT)) x2=(f(W - RIGHT)) y1=(f(ys.at(t))) y2=(f(ys.at(t))) {}
                text.tick x=(f(LEFT - 4.0)) y=(f(ys.at(t) + 3.0)) text-anchor="end" { (num(t)) }
            }
            @for (t, label) in x_ticks(c.x, x0, x1) {
                text.tick x=(f(xs.at(t))) y=(f(H - BOTTOM + 14.0)) text-anchor="middle" { (label) }
            }
            (y_label(c.y_label, H - BOTTOM))
            @if let XAxis::Number(label) = c.x {
                text.axis-label x=(f(W - RIGHT)) y=(f(H - 6.0)) text-anchor="end" { (label) }
            } @else {
                text.axis-label x=(f(W - RIGHT)) y=(f(H - 6.0)) text-anchor="end" { "time (UTC)" }
            }
            @for (i, l) in c.lines.iter().enumerate() {
                @let p: Vec<String> = l.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(x, y)| format!("{},{}", f(xs.at(*x)), f(ys.at(*y)))).collect();
                g.series data-series=(l.name) {
                    polyline fill="none" stroke=(colour(i)) stroke-width="2" points=(p.join(" ")) {}
                    @if markers {
                        @for (x, y) in l.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                            circle cx=(f(xs.at(*x))) cy=(f(ys.at(*y))) r="2.5" fill=(colour(i)) {
                                title { (l.name) ": " (num(*y)) }
                            }
                        }
                    }
                }
            }
            (legend(&c.lines.iter().map(|l| l.name.as_str()).collect::<Vec<_>>()))
        }
    }
}

/// Grouped bars: one group of bars per category, one bar per series.
#[derive(Debug, Clone)]
pub struct Bars<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub categories: Vec<String>,
    pub groups: Vec<(String, Vec<f64>)>,
    pub y_max: Option<f64>,
}

pub fn bars(c: &Bars) -> Markup {
    let top = c
        .groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(c.y_max.unwrap_or(0.0));
    if c.categories.is_empty() || c.groups.is_empty() || top <= 0.0 {
        return empty(c.title);
    }
    let ys = Scale::new(0.0, top, H - BOTTOM, TOP);
    let slot = (W - LEFT - RIGHT) / c.categories.len() as f64;
    let bar = (slot * 0.8 / c.groups.len() as f64).max(1.0);
    let longest = c
        .categories
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1) as f64;
    let every = ((longest * 5.6 + 6.0) / slot).ceil().max(1.0) as usize;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(c.title) data-chart="bars" {
            title { (c.title) }
            text.chart-title x=(f(LEFT)) y="14" { (c.title) }
            (y_label(c.y_label, H - BOTTOM))
            @for t in ticks(0.0, top, 4) {
                line.grid x1=(f(LEFT)) x2=(f(W - RIGHT)) y1=(f(ys.at(t))) y2=(f(ys.at(t))) {}
                text.tick x=(f(LEFT - 4.0)) y=(f(ys.at(t) + 3.0)) text-anchor="end" { (num(t)) }
            }
            @for (ci, cat) in c.categories.iter().enumerate() {
                @let x0 = LEFT + slot * ci as f64 + slot * 0.1;
                @for (gi, (name, values)) in c.groups.iter().enumerate() {
                    @let v = values.get(ci).copied().filter(|v| v.is_finite()).unwrap_or(0.0);
                    rect.bar x=(f(x0 + bar * gi as f64)) y=(f(ys.at(v))) width=(f(bar)) height=(f((H - BOTTOM - ys.at(v)).max(0.5))) fill=(colour(gi)) {
                        title { (name) " · " (cat) ": " (num(v)) }
                    }
                }
                @if ci % every == 0 {
                    text.tick x=(f(LEFT + slot * (ci as f64 + 0.5))) y=(f(H - BOTTOM + 14.0)) text-anchor="middle" { (cat) }
                }
            }
            (legend(&c.groups.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>()))
        }
    }
}

/// A confusion matrix as a heat map: rows true classes, columns predicted; a cell's shade
/// is its share of the row.
pub fn heatmap(title: &str, labels: &[String], matrix: &[Vec<usize>]) -> Markup {
    let k = labels.len();
    if k == 0 || matrix.len() != k || matrix.iter().all(|r| r.iter().all(|v| *v == 0)) {
        return empty(title);
    }
    let cell = (300.0 / k as f64).clamp(24.0, 90.0);
    let (left, top) = (110.0, 40.0);
    let w = left + cell * k as f64 + 10.0;
    let h = top + cell * k as f64 + 40.0;
    html! {
        svg.chart.heatmap xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(title) data-chart="heatmap" {
            title { (title) }
            text.chart-title x="4" y="14" { (title) }
            text.axis-label x=(f(left)) y="32" { "predicted →" }
            @for (i, row) in matrix.iter().enumerate() {
                @let total: usize = row.iter().sum();
                text.tick x=(f(left - 6.0)) y=(f(top + cell * (i as f64 + 0.55))) text-anchor="end" { (labels[i]) }
                @for (j, v) in row.iter().enumerate() {
                    @let share = if total > 0 { *v as f64 / total as f64 } else { 0.0 };
                    rect.cell x=(f(left + cell * j as f64)) y=(f(top + cell * i as f64)) width=(f(cell - 1.0)) height=(f(cell - 1.0))
                        fill="#1d4ed8" fill-opacity=(format!("{:.3}", 0.06 + 0.94 * share)) {
                        title { "true " (labels[i]) ", predicted " (labels[j]) ": " (v) }
                    }
                    text.cell-value x=(f(left + cell * (j as f64 + 0.5))) y=(f(top + cell * (i as f64 + 0.55))) text-anchor="middle"
                        fill=(if share > 0.5 { "#ffffff" } else { "#111827" }) { (v) }
                }
            }
            @for (j, l) in labels.iter().enumerate() {
                text.tick x=(f(left + cell * (j as f64 + 0.5))) y=(f(top + cell * k as f64 + 14.0)) text-anchor="middle" { (l) }
            }
            text.axis-label x="4" y=(f(top + cell * k as f64 + 32.0)) { "rows: true class" }
        }
    }
}

/// An estimate with its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub label: String,
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Estimates with confidence intervals on a shared axis (0–1 unless the data exceed it).
pub fn intervals(title: &str, rows: &[Interval]) -> Markup {
    if rows.is_empty() {
        return empty(title);
    }
    let lo = rows.iter().map(|r| r.lo).fold(0.0, f64::min);
    let hi = rows.iter().map(|r| r.hi).fold(1.0, f64::max);
    let left = 120.0;
    let h = TOP + 30.0 * rows.len() as f64 + 30.0;
    let xs = Scale::new(lo, hi, left, W - RIGHT);
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {h}")) role="img" aria-label=(title) data-chart="intervals" {
            title { (title) }
            text.chart-title x="4" y="14" { (title) }
            @for t in ticks(lo, hi, 5) {
                line.grid x1=(f(xs.at(t))) x2=(f(xs.at(t))) y1=(f(TOP)) y2=(f(h - 24.0)) {}
                text.tick x=(f(xs.at(t))) y=(f(h - 10.0)) text-anchor="middle" { (num(t)) }
            }
            @for (i, r) in rows.iter().enumerate() {
                @let y = TOP + 30.0 * i as f64 + 15.0;
                text.tick x=(f(left - 8.0)) y=(f(y + 4.0)) text-anchor="end" { (r.label) }
                line.interval x1=(f(xs.at(r.lo))) x2=(f(xs.at(r.hi))) y1=(f(y)) y2=(f(y)) stroke=(colour(i)) stroke-width="3" {}
                circle cx=(f(xs.at(r.value))) cy=(f(y)) r="5" fill=(colour(i)) {
                    title { (r.label) ": " (num(r.value)) " [" (num(r.lo)) ", " (num(r.hi)) "]" }
                }
            }
        }
    }
}

/// A point on a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Unix seconds.
    pub t: f64,
    pub label: String,
    /// A CSS class naming its kind (`approved`, `violation`, …).
    pub class: &'static str,
}

/// Events on a time axis, one lane per class.
pub fn timeline(title: &str, marks: &[Mark]) -> Markup {
    if marks.is_empty() {
        return empty(title);
    }
    let mut lanes: Vec<&str> = marks.iter().map(|m| m.class).collect();
    lanes.sort();
    lanes.dedup();
    let left = 100.0;
    let h = TOP + 26.0 * lanes.len() as f64 + 34.0;
    let (t0, t1) = marks
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), m| (a.min(m.t), b.max(m.t)));
    let xs = Scale::new(t0, t1, left + 8.0, W - RIGHT - 8.0);
    let lane = |c: &str| lanes.iter().position(|l| *l == c).unwrap_or(0);
    html! {
        svg.chart.timeline xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {W} {h}")) role="img" aria-label=(title) data-chart="timeline" {
            title { (title) }
            text.chart-title x="4" y="14" { (title) }
            @for (i, l) in lanes.iter().enumerate() {
                @let y = TOP + 26.0 * i as f64 + 13.0;
                line.grid x1=(f(left)) x2=(f(W - RIGHT)) y1=(f(y)) y2=(f(y)) {}
                text.tick x=(f(left - 6.0)) y=(f(y + 4.0)) text-anchor="end" { (l) }
            }
            @for (t, label) in x_ticks(XAxis::Time, t0, t1) {
                text.tick x=(f(xs.at(t))) y=(f(h - 10.0)) text-anchor="middle" { (label) }
            }
            @for m in marks {
                circle class=(format!("mark {}", m.class)) cx=(f(xs.at(m.t))) cy=(f(TOP + 26.0 * lane(m.class) as f64 + 13.0)) r="5" {
                    title { (m.label) }
                }
            }
        }
    }
}
