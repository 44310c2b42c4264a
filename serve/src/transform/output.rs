//! A record's prediction (or failure) → its bytes in `<input>.out`: the prediction object,
//! the join with the input, the output filter, and the `Accept` format.
use super::knobs::{apply, JoinSource, Knobs, OutputKind};
use super::record::{Input, RecordError};
use models::Prediction;
use serde_json::{json, Map, Value};

/// Writes one successful record.
pub fn prediction(
    out: &mut Vec<u8>,
    knobs: &Knobs,
    accept: OutputKind,
    labels: &[String],
    input: Option<Input>,
    p: &Prediction,
    truncated: bool,
) {
    let pred = match accept {
        OutputKind::Json => {
            let probs: Map<String, Value> = labels
                .iter()
                .zip(&p.probabilities)
                .map(|(l, v)| (l.clone(), json!(v)))
                .collect();
            let mut o = json!({ "label": p.label, "probabilities": probs });
            if truncated {
                o["truncated"] = Value::Bool(true);
            }
            o
        }
        OutputKind::Csv => Value::Array(
            std::iter::once(Value::String(p.label.clone()))
                .chain(p.probabilities.iter().map(|v| json!(v)))
                .collect(),
        ),
    };
    let joined = match (knobs.join, input) {
        (JoinSource::None, _) | (JoinSource::Input, None) => pred,
        (JoinSource::Input, Some(Input::Json(Value::Object(mut o)))) => {
            o.insert("SageMakerOutput".into(), pred);
            Value::Object(o)
        }
        (JoinSource::Input, Some(Input::Json(v))) => {
            json!({ "SageMakerInput": v, "SageMakerOutput": pred })
        }
        (JoinSource::Input, Some(Input::Text(t))) => {
            json!({ "SageMakerInput": t, "SageMakerOutput": pred })
        }
        (JoinSource::Input, Some(Input::Csv(row))) => {
            let mut cells: Vec<Value> = row.into_iter().map(Value::String).collect();
            match pred {
                Value::Array(fields) => cells.extend(fields),
                other => cells.push(other),
            }
            Value::Array(cells)
        }
    };
    let filtered = apply(&knobs.output_filter, joined).unwrap_or(Value::Null);
    write_value(out, accept, &filtered);
}

/// Writes the stand-in of a failed record: `{"error","type","line"}` (CSV: `ERROR,<reason>`).
pub fn failure(out: &mut Vec<u8>, accept: OutputKind, line: u64, e: &RecordError) {
    match accept {
        OutputKind::Json => write_value(out, accept, &error_object(line, e)),
        OutputKind::Csv => write_value(out, accept, &json!(["ERROR", format!("line {line}: {e}")])),
    }
}

/// The line of `<input>.err` (and the JSON stand-in in the output).
pub fn error_object(line: u64, e: &RecordError) -> Value {
    json!({ "error": e.to_string(), "type": e.kind(), "line": line })
}

fn write_value(out: &mut Vec<u8>, accept: OutputKind, v: &Value) {
    match accept {
        OutputKind::Json => {
            // Serialising a Value cannot fail.
            let _ = serde_json::to_writer(&mut *out, v);
        }
        OutputKind::Csv => {
            let cells: Vec<String> = match v {
                Value::Array(items) => items.iter().map(cell).collect(),
                other => vec![cell(other)],
            };
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            let _ = w.write_record(&cells);
            if let Ok(mut bytes) = w.into_inner() {
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                }
                out.extend_from_slice(&bytes);
            }
        }
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::knobs::TransformSpec;

    fn p() -> Prediction {
        Prediction {
            label: "pos".into(),
            label_index: 1,
            probabilities: vec![0.25, 0.75],
        }
    }

    fn render(join: JoinSource, filter: &str, accept: OutputKind, input: Input) -> String {
        let mut s = TransformSpec::new("/i", "/o");
        s.data_processing.join_source = join;
        s.data_processing.output_filter = filter.into();
        let k = Knobs::from_spec(&s).unwrap();
        let mut out = Vec::new();
        let labels = ["neg".to_string(), "pos".to_string()];
        prediction(&mut out, &k, accept, &labels, Some(input), &p(), false);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn joins_filters_and_formats() {
        let obj = || Input::Json(json!({"id": 7, "text": "x"}));
        assert_eq!(
            render(JoinSource::None, "$", OutputKind::Json, obj()),
            r#"{"label":"pos","probabilities":{"neg":0.25,"pos":0.75}}"#
        );
        assert_eq!(
            render(
                JoinSource::Input,
                "$['id','SageMakerOutput']",
                OutputKind::Json,
                obj()
            ),
            r#"[7,{"label":"pos","probabilities":{"neg":0.25,"pos":0.75}}]"#
        );
        assert_eq!(
            render(
                JoinSource::Input,
                "$.SageMakerInput",
                OutputKind::Json,
                Input::Json(json!("t"))
            ),
            r#""t""#
        );
        let row = || Input::Csv(vec!["1".into(), "nice, dress".into()]);
        assert_eq!(
            render(JoinSource::Input, "$", OutputKind::Csv, row()),
            "1,\"nice, dress\",pos,0.25,0.75"
        );
        assert_eq!(
            render(JoinSource::Input, "$[0,2]", OutputKind::Csv, row()),
            "1,pos"
        );
        assert_eq!(
            render(JoinSource::None, "$", OutputKind::Csv, row()),
            "pos,0.25,0.75"
        );
    }
}
