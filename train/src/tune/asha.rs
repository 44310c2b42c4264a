//! Asynchronous successive halving (ASHA): rungs at `min_epochs * eta^k` epochs; a trial
//! reaching a rung goes on only while its value is among the best `1/eta` of all values
//! recorded at that rung so far (the first trial at a rung always goes on).
use super::objective::Objective;
use super::space::AshaConfig;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Asha {
    rungs: Vec<usize>,
    eta: usize,
    objective: Objective,
    recorded: BTreeMap<usize, Vec<f64>>,
}

impl Asha {
    /// Rungs below `max_epochs` (a rung at the last epoch would stop nothing).
    pub fn new(cfg: AshaConfig, max_epochs: usize, objective: Objective) -> Self {
        let mut rungs = Vec::new();
        let mut r = cfg.min_epochs.max(1);
        while r < max_epochs {
            rungs.push(r);
            r = r.saturating_mul(cfg.eta.max(2));
        }
        Asha {
            rungs,
            eta: cfg.eta.max(2),
            objective,
            recorded: BTreeMap::new(),
        }
    }

    /// The epochs at which trials are compared.
    pub fn rungs(&self) -> &[usize] {
        &self.rungs
    }

    /// Records a trial's earlier per-epoch history (warm start) without deciding anything.
    pub fn seed(&mut self, history: &[f64]) {
        for &r in &self.rungs {
            if let Some(&v) = history.get(r - 1) {
                self.recorded.entry(r).or_default().push(v);
            }
        }
    }

    /// A trial finished `epoch` (1-based) with `value`: whether it goes on.
    pub fn report(&mut self, epoch: usize, value: f64) -> bool {
        if !self.rungs.contains(&epoch) {
            return true;
        }
        let values = self.recorded.entry(epoch).or_default();
        values.push(value);
        let keep = (values.len() / self.eta).max(1);
        let better = values
            .iter()
            .filter(|&&v| self.objective.better(v, value))
            .count();
        better < keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::objective::{Goal, Metric};

    #[test]
    fn rungs_and_promotions() {
        let obj = Objective {
            metric: Metric::Accuracy,
            goal: Goal::Maximize,
        };
        let mut a = Asha::new(
            AshaConfig {
                min_epochs: 1,
                eta: 3,
            },
            9,
            obj,
        );
        assert_eq!(a.rungs(), &[1, 3]);
        assert!(a.report(2, 0.0), "no rung at epoch 2");
        assert!(a.report(1, 0.5), "the first trial at a rung goes on");
        assert!(!a.report(1, 0.4), "worse than the best of two");
        assert!(a.report(1, 0.6), "best of three");
        assert!(!a.report(1, 0.55), "second of four, keep one");
        assert!(!a.report(1, 0.1));
        assert!(a.report(1, 0.59), "second of six, keep two");
        let min = Objective {
            metric: Metric::Loss,
            goal: Goal::Minimize,
        };
        let mut m = Asha::new(
            AshaConfig {
                min_epochs: 2,
                eta: 2,
            },
            20,
            min,
        );
        assert_eq!(m.rungs(), &[2, 4, 8, 16]);
        m.seed(&[1.0, 0.2, 0.2, 0.2]);
        assert!(!m.report(2, 0.3), "a warm-started trial counts at the rung");
        assert!(m.report(4, 0.1));
    }
}
