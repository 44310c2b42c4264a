//! The objective of a search: a metric on the held-out folds and its direction.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A metric a trial reports for each fold and (on its validation split) for each epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    BalancedAccuracy,
    MacroF1,
    Accuracy,
    /// Mean cross-entropy of the predicted probabilities.
    Loss,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::BalancedAccuracy,
        Metric::MacroF1,
        Metric::Accuracy,
        Metric::Loss,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::MacroF1 => "macro_f1",
            Metric::Accuracy => "accuracy",
            Metric::Loss => "loss",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown objective metric {s:?} (expected balanced_accuracy, macro_f1, accuracy or loss)"
                )
            })
    }

    /// Loss is minimised, the others maximised.
    pub fn natural_goal(self) -> Goal {
        match self {
            Metric::Loss => Goal::Minimize,
            _ => Goal::Maximize,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    Maximize,
    Minimize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    pub metric: Metric,
    pub goal: Goal,
}

impl Default for Objective {
    fn default() -> Self {
        Objective {
            metric: Metric::BalancedAccuracy,
            goal: Goal::Maximize,
        }
    }
}

impl Objective {
    /// A metric name and an optional goal (`maximize`/`minimize`; by default the metric's
    /// natural direction).
    pub fn parse(metric: &str, goal: Option<&str>) -> Result<Self, String> {
        let metric = Metric::parse(metric)?;
        let goal = match goal {
            None => metric.natural_goal(),
            Some("maximize" | "maximise" | "max") => Goal::Maximize,
            Some("minimize" | "minimise" | "min") => Goal::Minimize,
            Some(g) => {
                return Err(format!(
                    "unknown goal {g:?} (expected maximize or minimize)"
                ))
            }
        };
        Ok(Objective { metric, goal })
    }

    /// A value where lower is better, whatever the goal (what samplers minimise).
    pub fn loss(&self, value: f64) -> f64 {
        match self.goal {
            Goal::Maximize => -value,
            Goal::Minimize => value,
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(&self, a: f64, b: f64) -> bool {
        self.loss(a) < self.loss(b)
    }

    /// This objective's value in a fold's metrics.
    pub fn of(&self, metrics: &BTreeMap<String, f64>) -> Option<f64> {
        metrics.get(self.metric.name()).copied()
    }
}
