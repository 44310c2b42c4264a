//! Data capture records: one JSON line per captured exchange, in SageMaker Model Monitor's
//! shape (`captureData.endpointInput/endpointOutput`, `eventMetadata`, `eventVersion`),
//! plus Sentio's own fields (variant, model version, status, latency, shadow, session).
//! Sentio's fields and `inferenceId` are optional, so files captured by a SageMaker
//! endpoint read as they are; the variant of such a record comes from its folder
//! (`…/<endpoint>/<variant>/YYYY/MM/DD/HH/<file>.jsonl`, see [`read`]).
mod format;
pub mod read;

pub use format::{CaptureFormat, CaptureMode, Encoding, TextTypes};
pub use read::{for_each_line, hour_end, jsonl_files, read_dir, visit_dir};

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// One line of a capture file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRecord {
    pub capture_data: CaptureData,
    pub event_metadata: EventMetadata,
    #[serde(default = "event_version")]
    pub event_version: String,
    /// The production variant that answered (or the shadow variant). SageMaker does not
    /// write it: readers take it from the record's folder.
    #[serde(default)]
    pub variant: String,
    /// The model version that answered (empty when unknown, as in SageMaker's records).
    #[serde(default)]
    pub model_version: String,
    /// HTTP status of the response (Sentio only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The request failed (non-2xx); failed requests are captured too.
    #[serde(default)]
    pub failed: bool,
    /// Time from receiving the request to the response, in milliseconds (Sentio only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// A shadow copy: never returned to the caller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    /// The A/B request key (e.g. `X-Sentio-Session`), when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

fn event_version() -> String {
    "0".into()
}

/// The captured sides of the exchange: both by default; one is absent when the endpoint
/// captures only requests or only responses ([`CaptureMode`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_input: Option<Payload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_output: Option<Payload>,
}

/// Which side of the exchange a payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Input,
    Output,
}

/// `{observedContentType, mode, data, encoding}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub observed_content_type: String,
    pub mode: Side,
    pub data: String,
    pub encoding: Encoding,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    pub event_id: String,
    /// The caller's inference id (`X-Amzn-SageMaker-Inference-Id`); optional in
    /// SageMaker's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_id: Option<String>,
    /// RFC 3339, UTC (written to the millisecond).
    #[serde(with = "rfc3339_millis")]
    pub inference_time: DateTime<Utc>,
}

mod rfc3339_millis {
    use super::*;
    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

impl Payload {
    /// Stores a body the way SageMaker does: as text with the encoding `format` gives its
    /// content type (JSON or CSV), else — or when it is not UTF-8 — as base64.
    pub fn new(mode: Side, content_type: &str, body: &[u8], format: &CaptureFormat) -> Payload {
        let (encoding, data) = match (
            format.text_encoding(content_type),
            std::str::from_utf8(body),
        ) {
            (Some(e), Ok(s)) => (e, s.to_string()),
            _ => (
                Encoding::Base64,
                base64::engine::general_purpose::STANDARD.encode(body),
            ),
        };
        Payload {
            observed_content_type: content_type.to_string(),
            mode,
            data,
            encoding,
        }
    }

    /// The body as bytes again (`None` for base64 that does not decode).
    pub fn bytes(&self) -> Option<Vec<u8>> {
        match self.encoding {
            Encoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(self.data.trim())
                .ok(),
            _ => Some(self.data.as_bytes().to_vec()),
        }
    }

    /// The body as text, when it is text (base64 of UTF-8 included).
    pub fn text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self.encoding {
            Encoding::Base64 => String::from_utf8(self.bytes()?).ok().map(Into::into),
            _ => Some(self.data.as_str().into()),
        }
    }
}

/// What the endpoint knows about one answered request; [`CaptureRecord::new`] makes the
/// record of it.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub variant: &'a str,
    pub model_version: &'a str,
    pub inference_id: Option<&'a str>,
    pub input_content_type: &'a str,
    pub input: &'a [u8],
    pub output_content_type: &'a str,
    pub output: &'a [u8],
    pub status: u16,
    pub latency: std::time::Duration,
    pub shadow: bool,
    pub session: Option<&'a str>,
    pub time: DateTime<Utc>,
}

impl<'a> Exchange<'a> {
    /// A successful JSON exchange (`application/json` in and out, status 200, 1 ms, now):
    /// the common case, for tools, tests and benchmarks that write capture files.
    pub fn json(
        variant: &'a str,
        model_version: &'a str,
        inference_id: &'a str,
        input: &'a [u8],
        output: &'a [u8],
    ) -> Self {
        Exchange {
            variant,
            model_version,
            inference_id: Some(inference_id).filter(|i| !i.is_empty()),
            input_content_type: "application/json",
            input,
            output_content_type: "application/json",
            output,
            status: 200,
            latency: std::time::Duration::from_millis(1),
            shadow: false,
            session: None,
            time: Utc::now(),
        }
    }
}

impl CaptureRecord {
    /// The record of an exchange, with a fresh event id; `format` says which sides are
    /// kept and which bodies are stored as text.
    pub fn new(e: &Exchange<'_>, format: &CaptureFormat) -> CaptureRecord {
        let side = |keep: bool, mode, ct, body| keep.then(|| Payload::new(mode, ct, body, format));
        CaptureRecord {
            capture_data: CaptureData {
                endpoint_input: side(
                    format.mode.input(),
                    Side::Input,
                    e.input_content_type,
                    e.input,
                ),
                endpoint_output: side(
                    format.mode.output(),
                    Side::Output,
                    e.output_content_type,
                    e.output,
                ),
            },
            event_metadata: EventMetadata {
                event_id: uuid::Uuid::new_v4().to_string(),
                inference_id: e.inference_id.map(String::from),
                inference_time: e.time,
            },
            event_version: event_version(),
            variant: e.variant.to_string(),
            model_version: e.model_version.to_string(),
            status: Some(e.status),
            failed: !(200..300).contains(&e.status),
            latency_ms: Some(e.latency.as_micros() as f64 / 1000.0),
            shadow: e.shadow,
            session: e.session.map(String::from),
        }
    }

    /// The id ground truth is joined on: the inference id, else the event id (as Model
    /// Monitor joins).
    pub fn join_id(&self) -> &str {
        self.event_metadata
            .inference_id
            .as_deref()
            .unwrap_or(&self.event_metadata.event_id)
    }

    /// The texts of the captured request (empty when it cannot be decoded or was not
    /// captured).
    pub fn texts(&self) -> Vec<String> {
        let Some(input) = &self.capture_data.endpoint_input else {
            return Vec::new();
        };
        let Some(body) = input.bytes() else {
            return Vec::new();
        };
        let format =
            crate::payload::InputFormat::of_content_type(Some(&input.observed_content_type))
                .unwrap_or(crate::payload::InputFormat::Text);
        crate::payload::decode(format, &body, usize::MAX)
            .map(|d| d.texts)
            .unwrap_or_default()
    }

    /// The predicted label of each instance of the captured response (`None` for an item
    /// that failed); empty when the request failed or the response was not captured or
    /// cannot be read.
    pub fn labels(&self) -> Vec<Option<String>> {
        match &self.capture_data.endpoint_output {
            Some(out) if !self.failed => out
                .text()
                .map(|t| crate::payload::response_labels(&out.observed_content_type, &t))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange<'a>(
        ct_in: &'a str,
        input: &'a [u8],
        ct_out: &'a str,
        output: &'a [u8],
    ) -> Exchange<'a> {
        Exchange {
            input_content_type: ct_in,
            output_content_type: ct_out,
            ..Exchange::json("A", "v1", "id-1", input, output)
        }
    }

    #[test]
    fn the_record_has_sagemaker_shape() {
        let e = Exchange {
            latency: std::time::Duration::from_micros(3_250),
            ..Exchange::json(
                "A",
                "v1",
                "id-1",
                br#"{"text":"good"}"#,
                br#"{"label":"positive"}"#,
            )
        };
        let v = serde_json::to_value(CaptureRecord::new(&e, &CaptureFormat::default())).unwrap();
        let input = &v["captureData"]["endpointInput"];
        assert_eq!(input["mode"], "INPUT");
        assert_eq!(input["encoding"], "JSON");
        assert_eq!(input["observedContentType"], "application/json");
        assert_eq!(input["data"], r#"{"text":"good"}"#);
        assert_eq!(v["captureData"]["endpointOutput"]["mode"], "OUTPUT");
        assert_eq!(v["eventMetadata"]["inferenceId"], "id-1");
        assert_eq!(v["eventMetadata"]["eventId"].as_str().unwrap().len(), 36);
        let time = v["eventMetadata"]["inferenceTime"].as_str().unwrap();
        assert!(time.ends_with('Z') && time.len() == 24, "{time}");
        assert_eq!(v["eventVersion"], "0");
        assert_eq!(v["variant"], "A");
        assert_eq!(v["modelVersion"], "v1");
        assert_eq!(v["status"], 200);
        assert_eq!(v["failed"], false);
        assert_eq!(v["latencyMs"], 3.25);
        assert!(v.get("shadow").is_none() && v.get("session").is_none());
    }

    #[test]
    fn records_round_trip() {
        for e in [
            exchange(
                "application/json",
                br#"{"text":"x \"y\""}"#,
                "application/json",
                b"{}",
            ),
            exchange("text/csv", b"a,b\n", "text/csv", b"pos,1\n"),
            exchange("image/png", &[0, 159, 146, 150], "application/json", b"{}"),
            Exchange {
                status: 503,
                shadow: true,
                session: Some("s-1"),
                inference_id: None,
                ..exchange("application/json", b"\"x\"", "application/json", b"{}")
            },
        ] {
            let r = CaptureRecord::new(&e, &CaptureFormat::default());
            let line = serde_json::to_string(&r).unwrap();
            let back: CaptureRecord = serde_json::from_str(&line).unwrap();
            assert_eq!(
                back.event_metadata.inference_time.timestamp_millis(),
                e.time.timestamp_millis()
            );
            let r = CaptureRecord {
                event_metadata: EventMetadata {
                    inference_time: back.event_metadata.inference_time,
                    ..r.event_metadata
                },
                ..r
            };
            assert_eq!(back, r, "{line}");
            assert_eq!(
                back.capture_data.endpoint_input.unwrap().bytes().unwrap(),
                e.input
            );
        }
    }

    #[test]
    fn binary_bodies_are_base64_and_failures_are_flagged() {
        let e = Exchange {
            status: 500,
            ..exchange(
                "image/png",
                &[0xff, 0, 1],
                "application/json",
                br#"{"error":"x"}"#,
            )
        };
        let r = CaptureRecord::new(&e, &CaptureFormat::default());
        let input = r.capture_data.endpoint_input.as_ref().unwrap();
        assert_eq!(
            (input.encoding, input.data.as_str()),
            (Encoding::Base64, "/wAB")
        );
        assert!(r.failed);
        assert!(r.labels().is_empty(), "a failed request has no predictions");
        // JSON that is not UTF-8 is stored as base64 too.
        let e = exchange(
            "application/json",
            &[b'"', 0xff, b'"'],
            "application/json",
            b"{}",
        );
        let r = CaptureRecord::new(&e, &CaptureFormat::default());
        assert_eq!(
            r.capture_data.endpoint_input.unwrap().encoding,
            Encoding::Base64
        );
    }

    #[test]
    fn texts_and_labels_read_back() {
        let e = exchange(
            "application/json",
            br#"{"instances":["a","b"]}"#,
            "application/json",
            br#"{"predictions":[{"label":"pos"},{"error":"e","type":"model_error"}]}"#,
        );
        let r = CaptureRecord::new(&e, &CaptureFormat::default());
        assert_eq!(r.texts(), ["a", "b"]);
        assert_eq!(r.labels(), [Some("pos".to_string()), None]);
        assert_eq!(r.join_id(), "id-1");
        // A JSON body a content type list stored as base64 still reads back.
        let only_csv = CaptureFormat {
            mode: CaptureMode::InputAndOutput,
            text_types: Some(TextTypes::new(&[], &["text/csv".into()]).unwrap()),
        };
        let r = CaptureRecord::new(&e, &only_csv);
        assert_eq!(
            r.capture_data.endpoint_output.as_ref().unwrap().encoding,
            Encoding::Base64
        );
        assert_eq!(r.texts(), ["a", "b"]);
        assert_eq!(r.labels(), [Some("pos".to_string()), None]);
    }

    #[test]
    fn a_record_as_sagemaker_writes_it_reads() {
        // SageMaker's documented shape: no inferenceId, no Sentio fields, seconds only.
        let line = r#"{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT","data":"I love it","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv; charset=utf-8","mode":"OUTPUT","data":"positive,0.9","encoding":"CSV"}},"eventMetadata":{"eventId":"4b8b5c5e-0f32-4f5b-9d37-3b4f2b0b2e1a","inferenceTime":"2022-02-14T21:35:01Z"},"eventVersion":"0"}"#;
        let r: CaptureRecord = serde_json::from_str(line).unwrap();
        assert_eq!(r.join_id(), "4b8b5c5e-0f32-4f5b-9d37-3b4f2b0b2e1a");
        assert_eq!(r.texts(), ["I love it"]);
        assert_eq!(r.labels(), [Some("positive".to_string())]);
        assert_eq!((r.variant.as_str(), r.status, r.failed), ("", None, false));
    }
}
