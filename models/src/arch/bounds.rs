//! Sane bounds on the sizes a `config.json` may give, checked before any tensor is
//! allocated: a crafted or corrupt configuration (`bigram_buckets: 1e15`) is refused with
//! a clear error instead of an allocation that aborts the process or a libtorch panic.
//! They are far above any text classifier this project trains or loads.
use crate::error::{ModelError, Result};

/// Rows of a token vocabulary.
pub const MAX_VOCAB: usize = 10_000_000;
/// Hashed bigram rows of a fastText model (fastText's own default is 2,000,000).
pub const MAX_BIGRAM_BUCKETS: usize = 50_000_000;
/// Width of an embedding or hidden state.
pub const MAX_WIDTH: usize = 16_384;
/// Width of a feed-forward layer.
pub const MAX_INTERMEDIATE: usize = 65_536;
/// Encoder layers.
pub const MAX_LAYERS: usize = 256;
/// Positions (tokens per input).
pub const MAX_POSITIONS: usize = 65_536;
/// Token types.
pub const MAX_TYPE_VOCAB: usize = 1_024;
/// Labels of a classifier.
pub const MAX_LABELS: usize = 100_000;
/// Parameters of a whole model (8 GB of f32).
pub const MAX_PARAMETERS: u128 = 2_000_000_000;

/// `value` in `1..=max`, or a configuration error naming `field`.
pub fn size(field: &str, value: usize, max: usize) -> Result<()> {
    if value == 0 || value > max {
        return Err(ModelError::Config(format!(
            "{field} is {value}; it must be between 1 and {max}"
        )));
    }
    Ok(())
}

/// A dropout probability in `[0, 1)`.
pub fn probability(field: &str, value: f64) -> Result<()> {
    if !(0.0..1.0).contains(&value) {
        return Err(ModelError::Config(format!(
            "{field} is {value}; it must be in [0, 1)"
        )));
    }
    Ok(())
}

/// The whole model's parameter count (a lower bound) under [`MAX_PARAMETERS`].
pub fn parameters(architecture: &str, count: u128) -> Result<()> {
    if count > MAX_PARAMETERS {
        return Err(ModelError::Config(format!(
            "this {architecture} configuration has at least {count} parameters; at most \
             {MAX_PARAMETERS} are allowed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(size("dim", 0, 10).is_err());
        assert!(size("dim", 11, 10).is_err());
        size("dim", 10, 10).unwrap();
        assert!(probability("dropout", 1.0).is_err());
        assert!(probability("dropout", f64::NAN).is_err());
        probability("dropout", 0.0).unwrap();
        assert!(parameters("x", MAX_PARAMETERS + 1).is_err());
    }
}
