//! Sentio models: tokenizers, architectures (tch `nn`), the artifact format, the
//! `Predictor` that serving and batch transform use, classification metrics and the
//! HTML reports' charts (`evaluation.html`).
#![forbid(unsafe_code)]

pub mod arch;
pub mod artifact;
pub mod device;
pub mod error;
pub mod metrics;
pub mod predictor;
pub mod report;
pub mod tokenizer;

pub use arch::{BertConfig, Classifier, FastTextConfig, ModelConfig};
pub use artifact::{Artifact, ArtifactConfig, ArtifactWriter};
pub use device::DeviceChoice;
pub use error::{ModelError, Result};
pub use metrics::Evaluation;
pub use predictor::{Model, Prediction, Predictor};
pub use tokenizer::{Encoded, TextTokenizer};

/// The tch crate this build links.
pub const TCH_VERSION: &str = "0.26.0";
/// The libtorch that tch 0.26 requires (the set-up installs exactly this one).
pub const LIBTORCH_VERSION: &str = "2.13.0";

/// Versions recorded in artifacts' metadata and lineage.
pub fn versions() -> serde_json::Value {
    serde_json::json!({
        "sentio": env!("CARGO_PKG_VERSION"),
        "tch": TCH_VERSION,
        "libtorch": LIBTORCH_VERSION,
        "cuda_available": tch::Cuda::is_available(),
    })
}
