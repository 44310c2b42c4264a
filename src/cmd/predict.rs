//! `sentio predict`: texts (arguments, or one per line of standard input) streamed through
//! the batch transform engine, one JSON line out per text as soon as its chunk is done.
use super::transform::EngineArgs;
use clap::Args;
use serde_json::{json, Map, Value};
use serve::ServeError;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use transform::{run_local_stream, JobStatus, RunOptions, StreamInput, StreamRecord, StreamSink};

/// Predict the label of texts with a saved model: one JSON line per text
/// (`{"label", "model_version", "probabilities", "text"}`, or `{"error", "line", "type"}`
/// for a text that cannot be predicted), in input order.
#[derive(Args)]
#[command(
    after_help = "Exit status: 0 every text predicted (or the output was closed \\
early); 1 a text could not be predicted, or an error; 2 usage error; 130 / 143 stopped by \\
SIGINT / SIGTERM."
)]
pub struct PredictArgs {
    /// The model: an artifact directory, or registry:GROUP[:N] (any registered version).
    #[arg(long)]
    pub model: String,
    /// Sentio home, for registry references.
    #[arg(long, env = "SENTIO_HOME", default_value = ".sentio")]
    pub home: PathBuf,
    #[arg(long, default_value = "auto")]
    pub device: models::DeviceChoice,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Texts to classify; without any, one text per line is read from standard input
    /// (streamed: lines are answered while later ones are still being read).
    pub texts: Vec<String>,
}

/// Writes each result as a JSON line.
struct Lines<W: Write>(W);

impl<W: Write> StreamSink for Lines<W> {
    fn record(&mut self, r: StreamRecord<'_>) -> io::Result<()> {
        let v = match r.outcome {
            Ok((p, _)) => {
                let probs: Map<String, Value> = r
                    .labels
                    .iter()
                    .zip(&p.probabilities)
                    .map(|(l, v)| (l.clone(), json!(v)))
                    .collect();
                json!({"text": r.text, "label": p.label, "probabilities": probs, "model_version": r.model_version})
            }
            Err(e) => json!({"error": e.to_string(), "type": e.kind(), "line": r.line}),
        };
        serde_json::to_writer(&mut self.0, &v)?;
        self.0.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

pub fn run(a: PredictArgs) -> anyhow::Result<ExitCode> {
    let dir = super::reference::model_dir(&super::home::home_at(a.home.clone()), &a.model)?;
    let model = a.engine.model(&dir, a.device.resolve()?, 1);
    let input = if a.texts.is_empty() {
        StreamInput::Lines(Box::new(io::stdin()))
    } else {
        StreamInput::Texts(a.texts)
    };
    let mut sink = Lines(BufWriter::with_capacity(64 * 1024, io::stdout().lock()));
    let options = RunOptions {
        signals: true,
        ..RunOptions::default()
    };
    let summary = match run_local_stream(model, input, &mut sink, options) {
        Err(ServeError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS)
        }
        other => other?,
    };
    let c = summary.counts;
    if let (JobStatus::Stopped, Some(signal)) = (summary.status, summary.signal) {
        eprintln!("stopped by signal {signal} after {} texts", c.records);
        return Ok(ExitCode::from(128 + signal as u8));
    }
    if c.failed > 0 {
        anyhow::bail!(
            "{} of {} texts could not be predicted (see their error lines)",
            c.failed,
            c.records
        );
    }
    Ok(ExitCode::SUCCESS)
}
