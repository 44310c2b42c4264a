//! Stratified, seeded train/validation/test split and optional class balancing.
use crate::data::Dataset;
use crate::error::{Result, TrainError};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Train on the data as it is.
    None,
    /// Downsample every class of the training split to the smallest one (what the
    /// SageMaker reference workflow does).
    Downsample,
    /// Keep all rows; weight the loss by inverse class frequency.
    #[default]
    ClassWeights,
}

/// Shares of the validation and test splits and the seed; settings left out take their
/// defaults, unknown ones are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    pub validation: f64,
    pub test: f64,
    pub seed: u64,
}

impl SplitConfig {
    /// Both shares in [0, 1) and together less than 1.
    pub fn check(&self) -> Result<()> {
        let ok = |f: f64| (0.0..1.0).contains(&f);
        if !ok(self.validation) || !ok(self.test) || self.validation + self.test >= 1.0 {
            return Err(TrainError::Config(format!(
                "validation ({}) and test ({}) shares must be in [0, 1) and sum to less than 1",
                self.validation, self.test
            )));
        }
        Ok(())
    }
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            validation: 0.1,
            test: 0.1,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Splits {
    pub train: Dataset,
    pub validation: Dataset,
    pub test: Dataset,
}

/// Splits every class in the same proportions.
pub fn split(ds: &Dataset, cfg: &SplitConfig) -> Result<Splits> {
    cfg.check()?;
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let (mut tr, mut va, mut te) = (Vec::new(), Vec::new(), Vec::new());
    for class in 0..ds.label_names.len() {
        let mut idx: Vec<usize> = (0..ds.len()).filter(|&i| ds.labels[i] == class).collect();
        idx.shuffle(&mut rng);
        let n = idx.len() as f64;
        let n_te = (n * cfg.test).round() as usize;
        let n_va = (n * cfg.validation).round() as usize;
        te.extend_from_slice(&idx[..n_te]);
        va.extend_from_slice(&idx[n_te..n_te + n_va]);
        tr.extend_from_slice(&idx[n_te + n_va..]);
    }
    for v in [&mut tr, &mut va, &mut te] {
        v.shuffle(&mut rng);
    }
    Ok(Splits {
        train: ds.subset(&tr),
        validation: ds.subset(&va),
        test: ds.subset(&te),
    })
}

/// Downsamples every class to the smallest class's count (seeded).
pub fn downsample(ds: &Dataset, seed: u64) -> Dataset {
    let counts = ds.class_counts();
    let min = counts.iter().copied().filter(|&c| c > 0).min().unwrap_or(0);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut keep = Vec::new();
    for class in 0..ds.label_names.len() {
        let mut idx: Vec<usize> = (0..ds.len()).filter(|&i| ds.labels[i] == class).collect();
        idx.shuffle(&mut rng);
        keep.extend_from_slice(&idx[..min.min(idx.len())]);
    }
    keep.shuffle(&mut rng);
    ds.subset(&keep)
}

/// Inverse-frequency class weights, normalised to mean 1 over present classes.
pub fn class_weights(ds: &Dataset) -> Vec<f64> {
    let counts = ds.class_counts();
    let k = counts.iter().filter(|&&c| c > 0).count().max(1) as f64;
    let n = ds.len() as f64;
    counts
        .iter()
        .map(|&c| if c == 0 { 0.0 } else { n / (k * c as f64) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(counts: &[usize]) -> Dataset {
        let mut d = Dataset {
            label_names: (0..counts.len()).map(|i| format!("c{i}")).collect(),
            ..Default::default()
        };
        for (c, &n) in counts.iter().enumerate() {
            for i in 0..n {
                d.texts.push(format!("text {c} {i}"));
                d.labels.push(c);
            }
        }
        d
    }

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let d = data(&[100, 300, 600]);
        let s = split(&d, &SplitConfig::default()).unwrap();
        assert_eq!(s.test.class_counts(), vec![10, 30, 60]);
        assert_eq!(s.validation.class_counts(), vec![10, 30, 60]);
        assert_eq!(s.train.class_counts(), vec![80, 240, 480]);
        let mut all: Vec<&String> = s
            .train
            .texts
            .iter()
            .chain(&s.validation.texts)
            .chain(&s.test.texts)
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 1000);
        let again = split(&d, &SplitConfig::default()).unwrap();
        assert_eq!(again.test.texts, s.test.texts);
        let other = split(
            &d,
            &SplitConfig {
                seed: 7,
                ..Default::default()
            },
        )
        .unwrap();
        assert_ne!(other.test.texts, s.test.texts);
    }

    #[test]
    fn bad_shares_are_refused() {
        let d = data(&[10, 10]);
        assert!(split(
            &d,
            &SplitConfig {
                validation: 0.6,
                test: 0.5,
                seed: 1
            }
        )
        .is_err());
        assert!(split(
            &d,
            &SplitConfig {
                validation: -0.1,
                test: 0.1,
                seed: 1
            }
        )
        .is_err());
    }

    #[test]
    fn downsample_and_weights_balance_classes() {
        let d = data(&[10, 40, 50]);
        assert_eq!(downsample(&d, 3).class_counts(), vec![10, 10, 10]);
        let w = class_weights(&d);
        assert!((w[0] * 10.0 - w[2] * 50.0).abs() < 1e-9);
        assert!(w[0] > w[1] && w[1] > w[2]);
    }
}
