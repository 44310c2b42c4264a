//! Small inline-SVG charts for self-contained HTML reports (evaluation here, drift in
//! `monitoring`): value axes with "nice" ticks (1, 2 or 5 × 10^k apart) and labelled
//! units, line charts, grouped bar charts and heat maps. Rendered with maud, so every
//! text is escaped; no scripts, no external resources.
use maud::{html, Markup};

/// Series colours, in order (colour-blind-friendly "tableau" hues).
pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#e8833a", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// Plot area margins: room for tick labels and axis titles on the left and below, the
/// chart title above and the legend on the right.
const LEFT: f64 = 72.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 58.0;
/// Below a bar chart: room for slanted category names.
const BAR_BOTTOM: f64 = 100.0;
const LEGEND: f64 = 170.0;
const PLOT_H: f64 = 240.0;
/// Roughly how many intervals an axis is split into.
const TICKS: f64 = 5.0;
/// At most this many points (or bars) get their value printed next to them.
const MAX_VALUE_LABELS: usize = 24;

/// Evenly spaced ticks from `lo` to `hi`, `step` apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticks {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
}

/// Nice ticks covering `[lo, hi]`: a step of 1, 2 or 5 × 10^k giving about five
/// intervals (at least 1 apart on an integer axis), ends on multiples of the step.
pub fn nice_ticks(lo: f64, hi: f64, integer: bool) -> Ticks {
    let lo = if lo.is_finite() { lo } else { 0.0 };
    let mut hi = if hi.is_finite() { hi } else { lo + 1.0 };
    if hi <= lo {
        hi = lo + if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
    }
    let raw = (hi - lo) / TICKS;
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    if integer {
        step = step.max(1.0).round();
    }
    Ticks {
        lo: (lo / step + 1e-9).floor() * step,
        hi: ((hi / step) - 1e-9).ceil() * step,
        step,
    }
}

impl Ticks {
    /// The tick values, `lo` to `hi`.
    pub fn values(&self) -> Vec<f64> {
        let n = ((self.hi - self.lo) / self.step).round() as usize;
        (0..=n).map(|i| self.lo + i as f64 * self.step).collect()
    }

    /// A tick label with as many decimals as the step needs.
    pub fn label(&self, v: f64) -> String {
        let decimals = (-(self.step.log10() + 1e-9).floor()).max(0.0) as usize;
        let s = format!("{v:.decimals$}");
        if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
            s[1..].to_string()
        } else {
            s
        }
    }

    fn span(&self) -> f64 {
        (self.hi - self.lo).max(f64::MIN_POSITIVE)
    }
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub colour: String,
    /// `stroke-dasharray`, e.g. `"6 4"`.
    pub dash: Option<String>,
    pub points: Vec<(f64, f64)>,
    /// Draw a dot at each point (with its value as a tooltip and, for few points, printed).
    pub markers: bool,
}

/// A line chart with numeric axes.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    /// The `<svg>` element's id.
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Fixed axis ranges (default: the data's, the value axis from 0 when all are ≥ 0).
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    /// Only whole numbers on the x axis (epochs).
    pub integer_x: bool,
    pub width: Option<f64>,
}

/// A value of the chart, as printed beside points and bars.
fn value_text(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// The frame shared by both chart kinds: background, title, grid and tick labels of the
/// value axis, the axis titles and the legend.
struct Frame<'a> {
    id: &'a str,
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    plot_w: f64,
    /// Room below the plot area.
    bottom: f64,
    y: Ticks,
    legend: Vec<(&'a str, &'a str, Option<&'a str>)>,
}

impl Frame<'_> {
    fn width(&self) -> f64 {
        LEFT + self.plot_w + LEGEND
    }
    fn height(&self) -> f64 {
        TOP + PLOT_H + self.bottom
    }
    fn y_of(&self, v: f64) -> f64 {
        TOP + PLOT_H - PLOT_H * (v - self.y.lo) / self.y.span()
    }

    /// The `<svg>` with the frame around `body` (drawn between grid and legend).
    fn render(&self, x_axis: Markup, body: Markup) -> Markup {
        let (w, h) = (self.width(), self.height());
        let right = LEFT + self.plot_w;
        let mid_y = TOP + PLOT_H / 2.0;
        html! {
            svg xmlns="http://www.w3.org/2000/svg" id=(self.id) class="chart" width=(w) height=(h)
                viewBox=(format!("0 0 {w} {h}")) font-family="sans-serif" font-size="11"
                role="img" aria-label=(self.title) {
                title { (self.title) }
                rect class="background" x="0" y="0" width=(w) height=(h) fill="white" {}
                text class="chart-title" x=(f1(LEFT + self.plot_w / 2.0)) y="20" text-anchor="middle"
                    font-size="14" font-weight="bold" { (self.title) }
                g class="y-axis" {
                    @for v in self.y.values() {
                        @let yy = f1(self.y_of(v));
                        line x1=(LEFT) y1=(yy) x2=(right) y2=(yy) stroke="#e4e4e4" {}
                        text class="tick" x=(LEFT - 6.0) y=(f1(self.y_of(v) + 4.0)) text-anchor="end" {
                            (self.y.label(v))
                        }
                    }
                    text class="axis-label" x="16" y=(f1(mid_y)) text-anchor="middle"
                        transform=(format!("rotate(-90 16 {mid_y:.1})")) { (self.y_label) }
                }
                g class="x-axis" {
                    (x_axis)
                    text class="axis-label" x=(f1(LEFT + self.plot_w / 2.0)) y=(f1(self.height() - 8.0))
                        text-anchor="middle" { (self.x_label) }
                }
                rect class="plot-frame" x=(LEFT) y=(TOP) width=(self.plot_w) height=(PLOT_H)
                    fill="none" stroke="#333" {}
                (body)
                g class="legend" {
                    @for (i, (name, colour, dash)) in self.legend.iter().enumerate() {
                        @let ly = TOP + 10.0 + 18.0 * i as f64;
                        @let lx = right + 14.0;
                        line x1=(lx) y1=(ly) x2=(lx + 24.0) y2=(ly) stroke=(colour) stroke-width="3"
                            stroke-dasharray=[*dash] {}
                        text x=(lx + 30.0) y=(f1(ly + 4.0)) { (name) }
                    }
                }
            }
        }
    }
}

/// Renders a line chart.
pub fn line_chart(c: &LineChart) -> Markup {
    let all = || c.series.iter().flat_map(|s| s.points.iter());
    let (x_lo, x_hi) = c.x_range.unwrap_or_else(|| {
        all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        })
    });
    let (y_lo, y_hi) = c.y_range.unwrap_or_else(|| {
        let (lo, hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
        (lo.min(0.0), hi + (hi - lo.min(0.0)).abs() * 0.05)
    });
    let x = nice_ticks(x_lo, x_hi, c.integer_x);
    let plot_w = c.width.unwrap_or(560.0);
    let frame = Frame {
        id: &c.id,
        title: &c.title,
        x_label: &c.x_label,
        y_label: &c.y_label,
        plot_w,
        bottom: BOTTOM,
        y: nice_ticks(y_lo, y_hi, false),
        legend: c
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.colour.as_str(), s.dash.as_deref()))
            .collect(),
    };
    let x_of = |v: f64| LEFT + plot_w * (v - x.lo) / x.span();
    let bottom = TOP + PLOT_H;
    let points: usize = c.series.iter().map(|s| s.points.len()).sum();
    let x_axis = html! {
        @for v in x.values() {
            line x1=(f1(x_of(v))) y1=(TOP) x2=(f1(x_of(v))) y2=(bottom) stroke="#f0f0f0" {}
            text class="tick" x=(f1(x_of(v))) y=(bottom + 16.0) text-anchor="middle" { (x.label(v)) }
        }
    };
    let body = html! {
        @for s in &c.series {
            @let pts: Vec<String> = s.points.iter()
                .map(|&(px, py)| format!("{:.1},{:.1}", x_of(px), frame.y_of(py))).collect();
            g class="series" data-name=(s.name) {
                polyline points=(pts.join(" ")) fill="none" stroke=(s.colour) stroke-width="2.2"
                    stroke-linejoin="round" stroke-dasharray=[s.dash.as_deref()] {}
                @if s.markers {
                    @for &(px, py) in &s.points {
                        circle cx=(f1(x_of(px))) cy=(f1(frame.y_of(py))) r="3.5" fill=(s.colour) {
                            title { (s.name) " at " (value_text(px)) ": " (value_text(py)) }
                        }
                        @if points <= MAX_VALUE_LABELS {
                            text class="value" x=(f1(x_of(px))) y=(f1(frame.y_of(py) - 7.0))
                                text-anchor="middle" font-size="9" fill=(s.colour) { (value_text(py)) }
                        }
                    }
                }
            }
        }
    };
    frame.render(x_axis, body)
}

/// One group member of a [`BarChart`]: a value per category.
#[derive(Debug, Clone)]
pub struct BarSeries {
    pub name: String,
    pub colour: String,
    pub values: Vec<f64>,
}

/// Bars grouped by category (e.g. baseline and current share of each bucket).
#[derive(Debug, Clone, Default)]
pub struct BarChart {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
    /// Values are shares, printed as percentages.
    pub percent: bool,
    /// The top of the value axis, when fixed (scores: 1).
    pub y_max: Option<f64>,
}

/// Renders a grouped bar chart; category names are cut to 14 characters under the axis
/// (the whole name is the bar's tooltip).
pub fn bar_chart(c: &BarChart) -> Markup {
    let n = c.categories.len().max(1);
    let per = c.series.len().max(1);
    let plot_w = (n as f64 * (per as f64 * 12.0 + 8.0)).clamp(420.0, 1100.0);
    let slot = plot_w / n as f64;
    let bar_w = slot * 0.8 / per as f64;
    let max = c
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0, f64::max);
    let y = nice_ticks(0.0, c.y_max.unwrap_or(max * 1.08), false);
    let y = if c.percent {
        Ticks {
            hi: y.hi.min(1.0).max(y.step),
            ..y
        }
    } else {
        y
    };
    let frame = Frame {
        id: &c.id,
        title: &c.title,
        x_label: &c.x_label,
        y_label: &c.y_label,
        plot_w,
        bottom: BAR_BOTTOM,
        y,
        legend: c
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.colour.as_str(), None))
            .collect(),
    };
    let show = |v: f64| {
        if c.percent {
            format!("{:.1}%", v * 100.0)
        } else {
            value_text(v)
        }
    };
    let label_values = n * per <= MAX_VALUE_LABELS;
    let bottom = TOP + PLOT_H;
    let x_axis = html! {
        @for (i, name) in c.categories.iter().enumerate() {
            @let cx = LEFT + (i as f64 + 0.5) * slot;
            @let short: String = name.chars().take(14).collect();
            line x1=(f1(cx)) y1=(bottom) x2=(f1(cx)) y2=(bottom + 4.0) stroke="#333" {}
            text class="tick" x=(f1(cx)) y=(bottom + 14.0) text-anchor="end" font-size="10"
                transform=(format!("rotate(-35 {cx:.1} {:.1})", bottom + 14.0)) {
                title { (name) }
                (short)
            }
        }
    };
    let body = html! {
        @for (j, s) in c.series.iter().enumerate() {
            g class="series" data-name=(s.name) {
                @for (i, &v) in s.values.iter().enumerate().take(n) {
                    @let x0 = LEFT + i as f64 * slot + slot * 0.1 + j as f64 * bar_w;
                    @let top = frame.y_of(v.min(frame.y.hi));
                    rect x=(f1(x0)) y=(f1(top)) width=(f1(bar_w)) height=(f1(bottom - top)) fill=(s.colour) {
                        title { (s.name) ", " (c.categories.get(i).map_or("", String::as_str)) ": " (show(v)) }
                    }
                    @if label_values {
                        text class="value" x=(f1(x0 + bar_w / 2.0)) y=(f1(top - 3.0)) text-anchor="middle"
                            font-size="9" { (show(v)) }
                    }
                }
            }
        }
    };
    frame.render(x_axis, body)
}

/// A heat map of counts (rows: true classes, columns: predicted), each cell shaded by its
/// share of the row and printed with its count and that share.
pub fn heat_map(
    id: &str,
    title: &str,
    labels: &[String],
    matrix: &[Vec<usize>],
    row_label: &str,
    column_label: &str,
) -> Markup {
    let k = labels.len().max(1);
    let cell = (480.0 / k as f64).clamp(18.0, 72.0);
    let left = 130.0;
    let top = 70.0;
    let w = (left + cell * k as f64 + 20.0).max(title.chars().count() as f64 * 8.0 + 20.0);
    let h = top + cell * k as f64 + 24.0;
    let mid_y = top + cell * k as f64 / 2.0;
    let small = cell < 44.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id=(id) class="chart heat-map" width=(w) height=(h)
            viewBox=(format!("0 0 {w} {h}")) font-family="sans-serif" font-size="11"
            role="img" aria-label=(title) {
            title { (title) }
            rect class="background" x="0" y="0" width=(w) height=(h) fill="white" {}
            text class="chart-title" x=(f1(w / 2.0)) y="18" text-anchor="middle" font-size="14"
                font-weight="bold" { (title) }
            text class="axis-label" x=(f1(left + cell * k as f64 / 2.0)) y="40" text-anchor="middle" {
                (column_label)
            }
            text class="axis-label" x="14" y=(f1(mid_y)) text-anchor="middle"
                transform=(format!("rotate(-90 14 {mid_y:.1})")) { (row_label) }
            @for (i, l) in labels.iter().enumerate() {
                @let c = f1(left + (i as f64 + 0.5) * cell);
                @let r = f1(top + (i as f64 + 0.5) * cell + 4.0);
                @let short: String = l.chars().take(12).collect();
                text class="tick" x=(c) y=(top - 8.0) text-anchor="middle" { title { (l) } (short) }
                text class="tick" x=(left - 6.0) y=(r) text-anchor="end" { title { (l) } (short) }
            }
            g class="series" data-name="counts" {
            @for (i, row) in matrix.iter().enumerate() {
                @let total: usize = row.iter().sum();
                @for (j, &v) in row.iter().enumerate() {
                    @let share = if total == 0 { 0.0 } else { v as f64 / total as f64 };
                    @let fill = shade(share, i == j);
                    @let (x, y) = (left + j as f64 * cell, top + i as f64 * cell);
                    rect class="cell" x=(f1(x)) y=(f1(y)) width=(f1(cell)) height=(f1(cell)) fill=(fill)
                        stroke="white" {
                        title {
                            "true " (labels.get(i).map_or("", String::as_str)) ", predicted "
                            (labels.get(j).map_or("", String::as_str)) ": " (v)
                            " (" (format!("{:.1}", share * 100.0)) "% of the row)"
                        }
                    }
                    text class="value" x=(f1(x + cell / 2.0)) y=(f1(y + cell / 2.0 + if small { 4.0 } else { 0.0 }))
                        text-anchor="middle" font-size=(if small { "9" } else { "13" })
                        fill=(if share > 0.5 { "white" } else { "#111" }) { (v) }
                    @if !small {
                        text class="share" x=(f1(x + cell / 2.0)) y=(f1(y + cell / 2.0 + 15.0)) text-anchor="middle"
                            font-size="9" fill=(if share > 0.5 { "white" } else { "#444" }) {
                            (format!("{:.0}%", share * 100.0))
                        }
                    }
                }
            }
            }
        }
    }
}

/// Blue for the diagonal (right), red off it (wrong), darker with a larger share.
fn shade(share: f64, diagonal: bool) -> String {
    let (r, g, b) = if diagonal {
        (8.0, 81.0, 156.0)
    } else {
        (165.0, 15.0, 21.0)
    };
    let t = share.clamp(0.0, 1.0).sqrt() * 0.9 + 0.04;
    let mix = |c: f64| (255.0 + (c - 255.0) * t).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(r), mix(g), mix(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_even_and_cover_the_range() {
        let t = nice_ticks(0.0, 0.93, false);
        assert_eq!((t.lo, t.step), (0.0, 0.2));
        assert!((t.hi - 1.0).abs() < 1e-9);
        assert_eq!(t.label(0.4), "0.4");
        let t = nice_ticks(1.0, 8.0, true);
        assert_eq!((t.lo, t.hi, t.step), (0.0, 8.0, 2.0));
        let t = nice_ticks(0.31, 0.35, false);
        assert!(t.lo <= 0.31 && t.hi >= 0.35);
        let v = t.values();
        for w in v.windows(2) {
            assert!((w[1] - w[0] - t.step).abs() < 1e-9, "{v:?}");
        }
        assert!(nice_ticks(5.0, 5.0, false).values().len() >= 2);
        assert_eq!(nice_ticks(-1.0, 0.0, false).label(-0.0), "0.0");
    }

    #[test]
    fn charts_escape_text_and_draw_every_series() {
        let chart = LineChart {
            id: "c".into(),
            title: "loss <&>".into(),
            x_label: "epoch".into(),
            y_label: "loss".into(),
            series: vec![Series {
                name: "a\"b".into(),
                colour: PALETTE[0].into(),
                dash: None,
                points: vec![(1.0, 0.5), (2.0, 0.25)],
                markers: true,
            }],
            integer_x: true,
            ..Default::default()
        };
        let s = line_chart(&chart).into_string();
        assert!(s.contains("loss &lt;&amp;&gt;") && !s.contains("<&>"));
        assert!(s.contains("<polyline") && s.contains("a&quot;b"));
        let bars = bar_chart(&BarChart {
            id: "b".into(),
            categories: vec!["x".into(), "<y>".into()],
            series: vec![BarSeries {
                name: "s".into(),
                colour: PALETTE[1].into(),
                values: vec![0.25, 0.75],
            }],
            percent: true,
            ..Default::default()
        })
        .into_string();
        assert!(bars.contains("75.0%") && bars.contains("&lt;y&gt;"));
        let hm = heat_map(
            "h",
            "t",
            &["a".into(), "b".into()],
            &[vec![3, 1], vec![0, 4]],
            "true",
            "predicted",
        )
        .into_string();
        assert_eq!(hm.matches("class=\"cell\"").count(), 4);
    }
}
