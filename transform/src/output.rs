//! A record's prediction (or failure) → its bytes in `<input>.out`: the prediction object,
//! the join with the input, the output filter, and the `Accept` format. Without an
//! `OutputFilter` a joined record is written back exactly as it was read (key order,
//! number text, CSV quoting), with the prediction added; a filter re-serialises what it
//! selects.
use super::knobs::{apply, JoinSource, Knobs, OutputKind};
use super::record::{Header, Input, RecordError};
use models::Prediction;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

const OUTPUT_KEY: &str = "SageMakerOutput";

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
    let input = match knobs.join {
        JoinSource::Input => input,
        JoinSource::None => None,
    };
    if knobs.output_filter.is_none() {
        match (accept, &input) {
            (OutputKind::Json, Some(Input::Json { raw, value })) => {
                return join_json(out, raw, value, &pred)
            }
            (OutputKind::Csv, Some(Input::Csv { raw, .. })) => {
                out.extend_from_slice(raw.as_bytes());
                out.push(b',');
                return write_value(out, accept, &pred);
            }
            _ => {}
        }
    }
    let joined = match input {
        None => pred,
        Some(Input::Json {
            value: Value::Object(mut o),
            ..
        }) => {
            o.insert(OUTPUT_KEY.into(), pred);
            Value::Object(o)
        }
        Some(Input::Json { value, .. }) => json!({ "SageMakerInput": value, OUTPUT_KEY: pred }),
        Some(Input::Text(t)) => json!({ "SageMakerInput": t, OUTPUT_KEY: pred }),
        Some(Input::Csv { cells, .. }) => {
            let mut cells: Vec<Value> = cells.into_iter().map(Value::String).collect();
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

/// The header row of a CSV output for a CSV input with a header: the input's header as
/// written (when joined), then `label` and `probability_<label>` for each label.
pub fn header_row(out: &mut Vec<u8>, knobs: &Knobs, labels: &[String], header: &Header) {
    let names = std::iter::once("label".to_string())
        .chain(labels.iter().map(|l| format!("probability_{l}")))
        .map(Value::String);
    let joined = knobs.join == JoinSource::Input;
    if knobs.output_filter.is_none() {
        if joined {
            out.extend_from_slice(header.raw.as_bytes());
            out.push(b',');
        }
        return write_value(out, OutputKind::Csv, &Value::Array(names.collect()));
    }
    let input = header.names.iter().cloned().map(Value::String);
    let row: Vec<Value> = match joined {
        true => input.chain(names).collect(),
        false => names.collect(),
    };
    let filtered = apply(&knobs.output_filter, Value::Array(row)).unwrap_or(Value::Null);
    write_value(out, OutputKind::Csv, &filtered);
}

/// A JSON record joined with its prediction, the record's bytes kept: an object gets
/// `SageMakerOutput` as its last key (or in place of one it already has); anything else is
/// wrapped as `{"SageMakerInput": …, "SageMakerOutput": …}`.
fn join_json(out: &mut Vec<u8>, raw: &str, value: &Value, pred: &Value) {
    let raw = raw.trim_end();
    match value {
        Value::Object(o) if !o.contains_key(OUTPUT_KEY) => {
            // A parsed object's text ends with its closing brace.
            out.extend_from_slice(&raw.as_bytes()[..raw.len() - 1]);
            if !o.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(b"\"SageMakerOutput\":");
            let _ = serde_json::to_writer(&mut *out, pred);
            out.push(b'}');
        }
        Value::Object(o) => {
            let Ok(Members(members)) = serde_json::from_str::<Members>(raw) else {
                let mut o = o.clone();
                o.insert(OUTPUT_KEY.into(), pred.clone());
                let _ = serde_json::to_writer(&mut *out, &o);
                return;
            };
            out.push(b'{');
            let mut first = true;
            let mut replaced = false;
            for (key, v) in members {
                if key == OUTPUT_KEY && std::mem::replace(&mut replaced, true) {
                    continue;
                }
                if !std::mem::replace(&mut first, false) {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *out, &key);
                out.push(b':');
                if key == OUTPUT_KEY {
                    let _ = serde_json::to_writer(&mut *out, pred);
                } else {
                    out.extend_from_slice(v.get().as_bytes());
                }
            }
            out.push(b'}');
        }
        _ => {
            out.extend_from_slice(b"{\"SageMakerInput\":");
            out.extend_from_slice(raw.trim_start().as_bytes());
            out.extend_from_slice(b",\"SageMakerOutput\":");
            let _ = serde_json::to_writer(&mut *out, pred);
            out.push(b'}');
        }
    }
}

/// An object's members in order, their values as written.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Members<'a>, M::Error> {
                let mut members = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    members.push((k, m.next_value::<&'a RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
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
    use crate::knobs::TransformSpec;
    use JoinSource::{Input as Joined, None as Alone};
    use OutputKind::{Csv, Json};

    const PRED: &str = r#"{"label":"pos","probabilities":{"neg":0.25,"pos":0.75}}"#;

    fn knobs(join: JoinSource, filter: &str) -> Knobs {
        let mut s = TransformSpec::new("/i", "/o");
        s.data_processing.join_source = join;
        s.data_processing.output_filter = filter.into();
        Knobs::from_spec(&s).unwrap()
    }

    fn render(join: JoinSource, filter: &str, accept: OutputKind, input: Input) -> String {
        let p = Prediction {
            label: "pos".into(),
            label_index: 1,
            probabilities: vec![0.25, 0.75],
        };
        let (mut out, labels) = (Vec::new(), ["neg".to_string(), "pos".to_string()]);
        prediction(
            &mut out,
            &knobs(join, filter),
            accept,
            &labels,
            Some(input),
            &p,
            false,
        );
        String::from_utf8(out).unwrap()
    }

    fn json(raw: &str) -> Input {
        let value = serde_json::from_str(raw).unwrap();
        Input::Json {
            raw: raw.into(),
            value,
        }
    }

    fn csv(raw: &str) -> Input {
        let cells = raw
            .split(',')
            .map(|c| c.trim_matches('"').to_string())
            .collect();
        Input::Csv {
            raw: raw.into(),
            cells,
        }
    }

    #[test]
    fn joins_filters_and_formats() {
        let obj = || json(r#"{"id": 7, "text": "x"}"#);
        assert_eq!(render(Alone, "$", Json, obj()), PRED);
        let filtered = render(Joined, "$['id','SageMakerOutput']", Json, obj());
        assert_eq!(filtered, format!("[7,{PRED}]"));
        assert_eq!(
            render(Joined, "$.SageMakerInput", Json, json(r#""t""#)),
            r#""t""#
        );
        assert_eq!(
            render(Joined, "$", Csv, csv("1,\"dress\"")),
            "1,\"dress\",pos,0.25,0.75"
        );
        assert_eq!(render(Joined, "$[0,2]", Csv, csv("1,dress")), "1,pos");
        assert_eq!(render(Alone, "$", Csv, csv("1,dress")), "pos,0.25,0.75");
    }

    #[test]
    fn joins_keep_the_record_as_written() {
        let join = |raw: &str| render(Joined, "$", Json, json(raw));
        let raw = r#"{"z": 1.50, "a": [1e2, {"y": 2, "b": -0.0}], "s": "\u00e9"}"#;
        let kept = &raw[..raw.len() - 1];
        assert_eq!(join(raw), format!(r#"{kept},"SageMakerOutput":{PRED}}}"#));
        assert_eq!(join("{ }  "), format!(r#"{{ "SageMakerOutput":{PRED}}}"#));
        let replaced = join(r#"{"b":1.0,"SageMakerOutput":3,"a":2}"#);
        assert_eq!(
            replaced,
            format!(r#"{{"b":1.0,"SageMakerOutput":{PRED},"a":2}}"#)
        );
        let wrapped = format!(r#"{{"SageMakerInput":1.50,"SageMakerOutput":{PRED}}}"#);
        assert_eq!(join(" 1.50"), wrapped);
        let quoted = "2,\"the zipper broke\", 3.10";
        assert_eq!(
            render(Joined, "$", Csv, csv(quoted)),
            format!("{quoted},pos,0.25,0.75")
        );
    }

    #[test]
    fn csv_header_rows() {
        let header = Header::parse(b"id,\"review, text\"").unwrap();
        let row = |join: JoinSource, filter: &str| {
            let (mut out, labels) = (Vec::new(), ["neg".to_string(), "pos".to_string()]);
            header_row(&mut out, &knobs(join, filter), &labels, &header);
            String::from_utf8(out).unwrap()
        };
        let names = "label,probability_neg,probability_pos";
        assert_eq!(row(Joined, "$"), format!("id,\"review, text\",{names}"));
        assert_eq!(row(Joined, "$[0,2]"), "id,label");
        assert_eq!(row(Alone, "$"), names);
    }
}
