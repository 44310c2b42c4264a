//! `sentio predict`.
use clap::Args;
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Args)]
pub struct PredictArgs {
    /// Model artifact directory.
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, default_value = "auto")]
    pub device: models::DeviceChoice,
    /// Texts to classify; without any, one text per line is read from standard input.
    pub texts: Vec<String>,
}

pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let predictor = models::Predictor::load(&a.model, a.device.resolve()?)?;
    let texts = if a.texts.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<Vec<_>, _>>()?
    } else {
        a.texts
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (text, p) in refs.iter().zip(predictor.predict(&refs)?) {
        let probs: serde_json::Map<String, serde_json::Value> = predictor
            .labels()
            .iter()
            .zip(&p.probabilities)
            .map(|(l, v)| (l.clone(), serde_json::json!(v)))
            .collect();
        println!(
            "{}",
            serde_json::json!({"text": text, "label": p.label, "probabilities": probs, "model_version": predictor.version()})
        );
    }
    Ok(())
}
