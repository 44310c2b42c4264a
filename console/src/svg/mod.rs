//! Charts drawn on the server as inline SVG (no JavaScript charting): line charts over
//! time or a number, grouped bars, a heat map, confidence intervals, a timeline and the
//! layered DAG ([`dag`]). Colours and text use presentation attributes and classes only
//! (the page's Content-Security-Policy allows no inline styles). Empty data draws no chart
//! but a note, so a drawn chart always has marks.
pub mod dag;
mod plots;

pub use plots::{
    bars, heatmap, intervals, lines, timeline, Bars, Interval, Line, Lines, Mark, XAxis,
};

/// Series colours (colour-blind friendly order).
pub const PALETTE: [&str; 6] = [
    "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2",
];

pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A number for an axis or a label: few digits, no trailing zeros.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    let s = if a == 0.0 {
        "0".to_string()
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.001 {
        format!("{v:.3}")
    } else {
        format!("{v:.1e}")
    };
    if s.contains('.') && !s.contains('e') && !s.ends_with(['k', 'M']) {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// About `n` round tick values covering [lo, hi].
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut t = start;
    while t <= hi + step * 1e-9 && out.len() < 50 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// A linear map from a data range to a pixel range.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    d0: f64,
    d1: f64,
    p0: f64,
    p1: f64,
}

impl Scale {
    pub fn new(d0: f64, d1: f64, p0: f64, p1: f64) -> Self {
        let (d0, d1) = if d1 > d0 {
            (d0, d1)
        } else {
            (d0 - 0.5, d0 + 0.5)
        };
        Scale { d0, d1, p0, p1 }
    }
    pub fn at(&self, v: f64) -> f64 {
        let f = ((v - self.d0) / (self.d1 - self.d0)).clamp(-0.05, 1.05);
        self.p0 + f * (self.p1 - self.p0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ticks() {
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(1234.0), "1234");
        assert_eq!(num(25_000.0), "25k");
        assert_eq!(num(0.0001234), "1.2e-4");
        assert_eq!(ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(ticks(3.0, 3.0, 4), vec![3.0]);
        let s = Scale::new(0.0, 10.0, 100.0, 0.0);
        assert_eq!(s.at(5.0), 50.0);
    }
}
