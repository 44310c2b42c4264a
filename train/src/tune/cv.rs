//! Cross-validation folds: stratified k-fold, or repeated stratified random splits.
use crate::data::Dataset;
use crate::error::{Result, TrainError};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Indices of one fold: rows to train on (validation carved out of them later) and rows
/// held out for scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    pub train: Vec<usize>,
    pub held_out: Vec<usize>,
}

/// How a trial is validated.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Validation {
    /// Stratified k-fold: every row is held out exactly once.
    KFold { k: usize },
    /// `repeats` stratified random splits holding out `share` of each class.
    Repeated { repeats: usize, share: f64 },
}

/// The folds of `ds`, seeded; every class is spread evenly over the folds.
pub fn folds(ds: &Dataset, v: Validation, seed: u64) -> Result<Vec<Fold>> {
    let classes = ds.label_names.len();
    let by_class = |rng: &mut StdRng| -> Vec<Vec<usize>> {
        (0..classes)
            .map(|c| {
                let mut idx: Vec<usize> = (0..ds.len()).filter(|&i| ds.labels[i] == c).collect();
                idx.shuffle(rng);
                idx
            })
            .collect()
    };
    let mut rng = StdRng::seed_from_u64(seed);
    match v {
        Validation::KFold { k } => {
            if k < 2 {
                return Err(TrainError::Config(format!("k-fold needs k >= 2, got {k}")));
            }
            if ds.len() < k {
                return Err(TrainError::Config(format!(
                    "{} rows cannot make {k} folds",
                    ds.len()
                )));
            }
            let mut held: Vec<Vec<usize>> = vec![Vec::new(); k];
            // Deal each class round-robin, continuing where the previous class ended so
            // that fold sizes differ by at most one.
            let mut next = 0;
            for idx in by_class(&mut rng) {
                for i in idx {
                    held[next % k].push(i);
                    next += 1;
                }
            }
            Ok(held
                .into_iter()
                .map(|mut h| {
                    h.sort_unstable();
                    let train = complement(ds.len(), &h);
                    Fold { train, held_out: h }
                })
                .collect())
        }
        Validation::Repeated { repeats, share } => {
            if repeats == 0 || !(share > 0.0 && share < 1.0) {
                return Err(TrainError::Config(format!(
                    "repeated splits need repeats >= 1 and a held-out share in (0, 1), got {repeats} and {share}"
                )));
            }
            Ok((0..repeats)
                .map(|_| {
                    let mut h = Vec::new();
                    for idx in by_class(&mut rng) {
                        let n = (idx.len() as f64 * share).round() as usize;
                        h.extend_from_slice(&idx[..n]);
                    }
                    h.sort_unstable();
                    Fold {
                        train: complement(ds.len(), &h),
                        held_out: h,
                    }
                })
                .collect())
        }
    }
}

fn complement(n: usize, sorted: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(n - sorted.len());
    let mut j = 0;
    for i in 0..n {
        if j < sorted.len() && sorted[j] == i {
            j += 1;
        } else {
            out.push(i);
        }
    }
    out
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
                d.texts.push(format!("t{c}-{i}"));
                d.labels.push(c);
            }
        }
        d
    }

    #[test]
    fn kfold_holds_each_row_out_once_and_is_stratified() {
        let d = data(&[10, 30, 60]);
        let f = folds(&d, Validation::KFold { k: 5 }, 3).unwrap();
        assert_eq!(f.len(), 5);
        let mut all: Vec<usize> = f.iter().flat_map(|x| x.held_out.clone()).collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        for x in &f {
            assert_eq!(x.held_out.len(), 20);
            assert_eq!(x.train.len() + x.held_out.len(), 100);
            let counts = d.subset(&x.held_out).class_counts();
            assert_eq!(counts, vec![2, 6, 12]);
        }
        assert_eq!(f, folds(&d, Validation::KFold { k: 5 }, 3).unwrap());
        assert_ne!(f, folds(&d, Validation::KFold { k: 5 }, 4).unwrap());
        assert!(folds(&d, Validation::KFold { k: 1 }, 3).is_err());
    }

    #[test]
    fn repeated_splits_differ_and_keep_shares() {
        let d = data(&[20, 80]);
        let f = folds(
            &d,
            Validation::Repeated {
                repeats: 3,
                share: 0.25,
            },
            1,
        )
        .unwrap();
        assert_eq!(f.len(), 3);
        for x in &f {
            assert_eq!(d.subset(&x.held_out).class_counts(), vec![5, 20]);
        }
        assert_ne!(f[0].held_out, f[1].held_out);
        assert!(folds(
            &d,
            Validation::Repeated {
                repeats: 2,
                share: 1.0
            },
            1
        )
        .is_err());
    }
}
