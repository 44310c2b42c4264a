//! Samplers: random search, and TPE (the `tpe` crate: one Parzen/histogram estimator per
//! hyperparameter, fitted to the completed trials) after a few random start-up trials.
//!
//! Each distribution is searched on an internal real axis: the value itself (uniform), its
//! logarithm (log-uniform, log int), the integer's unit bucket `[i, i + 1)` (int), or the
//! category's index (categorical).
use super::params::{ParamValue, Params};
use super::space::{Distribution, SearchSpace};
use crate::error::{Result, TrainError};
use rand_10::rngs::StdRng;
use rand_10::RngExt;

/// Random trials before TPE models the results.
pub const TPE_STARTUP_TRIALS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    Random,
    Tpe,
}

/// Internal search axis of a distribution: `[low, high)`.
fn axis(d: &Distribution) -> (f64, f64) {
    match d {
        Distribution::Uniform { low, high } => (*low, *high),
        Distribution::LogUniform { low, high } => (low.ln(), high.ln()),
        Distribution::Int {
            low,
            high,
            log: false,
        } => (*low as f64, *high as f64 + 1.0),
        Distribution::Int {
            low,
            high,
            log: true,
        } => ((*low as f64).ln(), (*high as f64 + 1.0).ln()),
        Distribution::Categorical { values } => (0.0, values.len() as f64),
    }
}

/// The value at point `x` of the axis.
fn value_at(d: &Distribution, x: f64) -> ParamValue {
    let (lo, hi) = axis(d);
    let x = x.clamp(lo, hi.next_down());
    match d {
        Distribution::Uniform { .. } => ParamValue::Float(x),
        Distribution::LogUniform { low, high } => {
            ParamValue::Float(x.exp().clamp(*low, high.next_down()))
        }
        Distribution::Int { low, high, log } => {
            let v = if *log { x.exp() } else { x };
            ParamValue::Int((v.floor() as i64).clamp(*low, *high))
        }
        Distribution::Categorical { values } => {
            values[(x.floor() as usize).min(values.len() - 1)].clone()
        }
    }
}

/// The axis point of a value (inside its bucket for integers).
fn point_of(d: &Distribution, v: &ParamValue) -> Option<f64> {
    let (lo, hi) = axis(d);
    let x = match (d, v) {
        (Distribution::Uniform { .. }, v) => v.as_f64()?,
        (Distribution::LogUniform { .. }, v) => v.as_f64()?.ln(),
        (Distribution::Int { log: false, .. }, ParamValue::Int(i)) => *i as f64 + 0.5,
        (Distribution::Int { log: true, .. }, ParamValue::Int(i)) => (*i as f64 + 0.5).ln(),
        (Distribution::Categorical { values }, v) => values.iter().position(|c| c == v)? as f64,
        _ => return None,
    };
    (x >= lo && x < hi).then_some(x)
}

/// One random draw from the space.
pub fn random(space: &SearchSpace, rng: &mut StdRng) -> Params {
    space
        .params
        .iter()
        .map(|(n, d)| {
            let (lo, hi) = axis(d);
            (n.clone(), value_at(d, rng.random_range(lo..hi)))
        })
        .collect()
}

/// A TPE suggestion from completed trials given as (parameters, loss: lower is better).
/// Falls back to a random draw while fewer than [`TPE_STARTUP_TRIALS`] trials are done.
pub fn tpe(space: &SearchSpace, done: &[(&Params, f64)], rng: &mut StdRng) -> Result<Params> {
    if done.len() < TPE_STARTUP_TRIALS {
        return Ok(random(space, rng));
    }
    let err = |e: String| TrainError::Tune(format!("TPE sampler: {e}"));
    let mut out = Params::new();
    for (name, d) in &space.params {
        let (lo, hi) = axis(d);
        let range = tpe::range(lo, hi).map_err(|e| err(e.to_string()))?;
        let estimator = match d {
            Distribution::Categorical { .. } => tpe::histogram_estimator(),
            _ => tpe::parzen_estimator(),
        };
        let mut opt = tpe::TpeOptimizerBuilder::new()
            .gamma(0.25)
            .build(estimator, range)
            .map_err(|e| err(e.to_string()))?;
        for (p, loss) in done {
            if let Some(x) = p.get(name).and_then(|v| point_of(d, v)) {
                opt.tell(x, *loss).map_err(|e| err(e.to_string()))?;
            }
        }
        let x = opt.ask(rng).map_err(|e| err(e.to_string()))?;
        out.insert(name.clone(), value_at(d, x));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_10::SeedableRng;

    #[test]
    fn draws_lie_in_their_distributions_and_map_back() {
        let space = SearchSpace::parse(
            r#"
            [params.learning_rate]
            kind = "log_uniform"
            low = 0.0001
            high = 0.1
            [params.dim]
            kind = "int"
            low = 8
            high = 12
            [params.vocab_size]
            kind = "int"
            low = 1000
            high = 50000
            log = true
            [params.dropout]
            kind = "uniform"
            low = 0.0
            high = 0.5
            [params.balance]
            kind = "categorical"
            values = ["none", "downsample"]
            "#,
        )
        .unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let mut dims = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let p = random(&space, &mut rng);
            assert!(space.contains(&p), "{p:?}");
            for (n, d) in &space.params {
                let x = point_of(d, &p[n]).unwrap();
                assert_eq!(value_at(d, x), p[n], "{n}");
            }
            if let ParamValue::Int(i) = p["dim"] {
                dims.insert(i);
            }
        }
        assert_eq!(dims.into_iter().collect::<Vec<_>>(), vec![8, 9, 10, 11, 12]);
    }
}
