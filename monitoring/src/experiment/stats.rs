//! The statistics of an A/B verdict: Wilson intervals, the two-proportion z-test, a k×2
//! chi-square test and the sample size needed to detect a difference.
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("valid parameters")
}

/// The Wilson score interval of `k` successes in `n` at confidence `1 - alpha`.
pub fn wilson(k: u64, n: u64, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = std_normal().inverse_cdf(1.0 - alpha / 2.0);
    let (n, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Two-sided two-proportion z-test with pooled variance: `(z, p)`.
pub fn two_proportion_z(k1: u64, n1: u64, k2: u64, n2: u64) -> (f64, f64) {
    if n1 == 0 || n2 == 0 {
        return (0.0, 1.0);
    }
    let (a, b) = (n1 as f64, n2 as f64);
    let (p1, p2) = (k1 as f64 / a, k2 as f64 / b);
    let pooled = (k1 + k2) as f64 / (a + b);
    let se = (pooled * (1.0 - pooled) * (1.0 / a + 1.0 / b)).sqrt();
    if se == 0.0 {
        return (0.0, 1.0);
    }
    let z = (p1 - p2) / se;
    (z, 2.0 * (1.0 - std_normal().cdf(z.abs())))
}

/// Pearson chi-square test of homogeneity on a k×2 table of (successes, trials): `(χ², p)`.
pub fn chi_square_k_by_2(groups: &[(u64, u64)]) -> (f64, f64) {
    let groups: Vec<_> = groups.iter().filter(|(_, n)| *n > 0).collect();
    let n: u64 = groups.iter().map(|(_, n)| n).sum();
    let k: u64 = groups.iter().map(|(k, _)| k).sum();
    if groups.len() < 2 || k == 0 || k == n {
        return (0.0, 1.0);
    }
    let p = k as f64 / n as f64;
    let mut chi = 0.0;
    for (s, t) in &groups {
        let (s, t) = (*s as f64, *t as f64);
        let (e1, e0) = (t * p, t * (1.0 - p));
        chi += (s - e1).powi(2) / e1 + ((t - s) - e0).powi(2) / e0;
    }
    let df = (groups.len() - 1) as f64;
    let dist = ChiSquared::new(df).expect("df > 0");
    (chi, 1.0 - dist.cdf(chi))
}

/// Observations needed per group to detect `p1` vs `p2` with a two-sided test at `alpha`
/// and the given power.
pub fn needed_per_group(p1: f64, p2: f64, alpha: f64, power: f64) -> u64 {
    let d = (p1 - p2).abs();
    if d == 0.0 {
        return u64::MAX;
    }
    let nd = std_normal();
    let za = nd.inverse_cdf(1.0 - alpha / 2.0);
    let zb = nd.inverse_cdf(power);
    let pbar = (p1 + p2) / 2.0;
    let n = (za * (2.0 * pbar * (1.0 - pbar)).sqrt()
        + zb * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt())
    .powi(2)
        / (d * d);
    n.ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // 60/100 vs 45/100: pooled 0.525, se = sqrt(.525*.475*.02) = 0.070622, z = 2.1240
        let (z, p) = two_proportion_z(60, 100, 45, 100);
        assert!((z - 2.1240).abs() < 1e-3, "{z}");
        assert!((p - 0.03367).abs() < 1e-3, "{p}");
        // the k×2 chi-square of two groups equals z²
        let (chi, p2) = chi_square_k_by_2(&[(60, 100), (45, 100)]);
        assert!((chi - z * z).abs() < 1e-9);
        assert!((p2 - p).abs() < 1e-9);
        // Wilson 95% for 8/10: (0.4902, 0.9433)
        let (lo, hi) = wilson(8, 10, 0.05);
        assert!(
            (lo - 0.4902).abs() < 1e-3 && (hi - 0.9433).abs() < 1e-3,
            "{lo} {hi}"
        );
        // 0.80 vs 0.85 at α .05, power .8: about 903 per group
        let n = needed_per_group(0.80, 0.85, 0.05, 0.8);
        assert!((895..=910).contains(&n), "{n}");
    }
}
