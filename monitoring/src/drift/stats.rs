//! Drift statistics on histograms: PSI, Jensen–Shannon distance, two-sample
//! Kolmogorov–Smirnov from binned CDFs, and the chi-square goodness-of-fit test.
//! Empty bins get a small floor so no statistic divides by zero or takes log 0.
use ndarray::Array1;
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Proportion floor of empty bins (Evidently's convention).
pub const EPS: f64 = 1e-4;

/// Counts → proportions with the empty-bin floor, renormalised.
pub fn proportions(counts: &[f64]) -> Array1<f64> {
    let a = Array1::from(counts.to_vec());
    let total = a.sum();
    if total <= 0.0 {
        return Array1::from_elem(a.len(), 1.0 / a.len().max(1) as f64);
    }
    let p = (a / total).mapv(|x| x.max(EPS));
    let s = p.sum();
    p / s
}

/// Population stability index of `actual` against `expected` (bin counts).
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    let (e, a) = (proportions(expected), proportions(actual));
    ((&a - &e) * (&a / &e).mapv(f64::ln)).sum()
}

/// Jensen–Shannon distance (square root of the divergence, base 2: within [0, 1]).
pub fn js_distance(expected: &[f64], actual: &[f64]) -> f64 {
    let (p, q) = (proportions(expected), proportions(actual));
    let m = (&p + &q) / 2.0;
    let kl = |x: &Array1<f64>| (x * &(x / &m).mapv(f64::log2)).sum();
    ((kl(&p) + kl(&q)) / 2.0).max(0.0).sqrt()
}

/// Two-sample KS on the same bins: `(D, p)`, with D the largest gap between the cumulative
/// shares at bin edges and p from the asymptotic Kolmogorov distribution (Stephens'
/// small-sample correction).
pub fn ks_binned(expected: &[f64], actual: &[f64]) -> (f64, f64) {
    let (n, m): (f64, f64) = (expected.iter().sum(), actual.iter().sum());
    if n <= 0.0 || m <= 0.0 {
        return (0.0, 1.0);
    }
    let (mut fe, mut fa, mut d) = (0.0f64, 0.0f64, 0.0f64);
    for (e, a) in expected.iter().zip(actual) {
        fe += e / n;
        fa += a / m;
        d = d.max((fe - fa).abs());
    }
    (d, ks_p_value(d, n, m))
}

/// `P(D_{n,m} > d)` (asymptotic).
pub fn ks_p_value(d: f64, n: f64, m: f64) -> f64 {
    let ne = (n * m / (n + m)).sqrt();
    let lambda = (ne + 0.12 + 0.11 / ne) * d;
    if lambda < 1e-3 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = 2.0 * (-1f64).powf(k - 1.0) * (-2.0 * k * k * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-12 {
            break;
        }
    }
    sum.clamp(0.0, 1.0)
}

/// Chi-square goodness of fit of observed counts against expected shares: `(χ², p)`.
/// Categories the baseline never saw should be given a (floored) expected share, never 0.
pub fn chi_square_gof(expected_counts: &[f64], observed: &[f64]) -> (f64, f64) {
    let n: f64 = observed.iter().sum();
    let k = observed.len();
    if n <= 0.0 || k < 2 {
        return (0.0, 1.0);
    }
    let p = proportions(expected_counts);
    let o = Array1::from(observed.to_vec());
    let e = p * n;
    let chi = ((&o - &e).mapv(|x| x * x) / &e).sum();
    let dist = ChiSquared::new((k - 1) as f64).expect("k ≥ 2");
    (chi, 1.0 - dist.cdf(chi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} vs {b}");
    }

    #[test]
    fn psi_known_value() {
        // e = (.5, .5), a = (.6, .4): .1 ln 1.2 + (-.1) ln .8 = 0.0405465
        close(psi(&[50.0, 50.0], &[60.0, 40.0]), 0.040_546_5, 1e-6);
        close(psi(&[10.0, 20.0], &[10.0, 20.0]), 0.0, 1e-12);
    }

    #[test]
    fn js_known_value() {
        // p = (1, 0), q = (0, 1) (floored at 1e-4): disjoint → distance ≈ 1
        assert!(js_distance(&[1.0, 0.0], &[0.0, 1.0]) > 0.99);
        // p = (.5, .5), q = (1, 0) → JSD = 0.311278 bits, distance 0.557915 (floor ~1e-4)
        close(js_distance(&[1.0, 1.0], &[1.0, 0.0]), 0.557_915, 2e-3);
    }

    #[test]
    fn ks_known_value() {
        // CDFs at edges: e (.25, .5, .75, 1), a (.1, .2, .5, 1) → D = .3
        let (d, p) = ks_binned(&[25.0, 25.0, 25.0, 25.0], &[10.0, 10.0, 30.0, 50.0]);
        close(d, 0.3, 1e-12);
        // ne = sqrt(50) = 7.0711, λ = (7.0711 + .12 + .0156) × .3 = 2.1620 → p ≈ 1.7e-4
        close(p, 2.0 * (-2.0f64 * 2.1620 * 2.1620).exp(), 2e-5);
        assert_eq!(ks_binned(&[5.0, 5.0], &[5.0, 5.0]).1, 1.0);
    }

    #[test]
    fn chi_square_known_value_and_unseen_categories() {
        // expected shares (.5, .5), observed (60, 40): χ² = 4, df 1 → p = 0.0455
        let (c, p) = chi_square_gof(&[50.0, 50.0], &[60.0, 40.0]);
        close(c, 4.0, 1e-9);
        close(p, 0.045_500, 1e-5);
        // a category the baseline never saw: finite, tiny p, no panic
        let (c, p) = chi_square_gof(&[50.0, 50.0, 0.0], &[50.0, 40.0, 10.0]);
        assert!(c.is_finite() && p < 1e-6);
    }
}
