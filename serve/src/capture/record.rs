//! The captured record, in SageMaker Model Monitor's shape, plus Sentio's own fields
//! (variant, model version, status, latency, shadow), and reading texts and predicted
//! labels back out of captured payloads.
use crate::codec::{decode, input_format, InputFormat};
use serde::{Deserialize, Serialize};

/// One line of a capture file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRecord {
    pub capture_data: CaptureData,
    pub event_metadata: EventMetadata,
    pub event_version: String,
    /// The production variant that answered (or the shadow variant).
    pub variant: String,
    pub model_version: String,
    /// HTTP status of the response.
    pub status: u16,
    /// The request failed (non-2xx); failed requests are captured too.
    #[serde(default)]
    pub failed: bool,
    /// Time from receiving the request to the response, in milliseconds.
    #[serde(default)]
    pub latency_ms: f64,
    /// A shadow copy: never returned to the caller.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    /// The A/B request key (e.g. `X-Sentio-Session`), when one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureData {
    pub endpoint_input: Payload,
    pub endpoint_output: Payload,
}

/// `{observedContentType, mode, data, encoding}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub observed_content_type: String,
    /// `INPUT` or `OUTPUT`.
    pub mode: String,
    pub data: String,
    /// `JSON`, `CSV` or `BASE64`.
    pub encoding: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    pub event_id: String,
    pub inference_id: String,
    /// RFC 3339, UTC.
    pub inference_time: String,
}

impl Payload {
    /// Stores a body the way SageMaker does: JSON and CSV as text, anything else (or
    /// anything that is not UTF-8) as base64.
    pub fn new(mode: &str, content_type: &str, body: &[u8]) -> Payload {
        let ct = content_type.to_ascii_lowercase();
        let encoding = if ct.contains("json") {
            "JSON"
        } else if ct.contains("csv") {
            "CSV"
        } else {
            "BASE64"
        };
        let (encoding, data) = match (encoding, std::str::from_utf8(body)) {
            ("BASE64", _) | (_, Err(_)) => ("BASE64", base64_encode(body)),
            (e, Ok(s)) => (e, s.to_string()),
        };
        Payload {
            observed_content_type: content_type.to_string(),
            mode: mode.to_string(),
            data,
            encoding: encoding.to_string(),
        }
    }

    /// The body as bytes again.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        if self.encoding == "BASE64" {
            base64_decode(&self.data)
        } else {
            Some(self.data.as_bytes().to_vec())
        }
    }
}

impl CaptureRecord {
    /// The texts of the captured request (empty when it cannot be decoded).
    pub fn texts(&self) -> Vec<String> {
        let input = &self.capture_data.endpoint_input;
        let Some(body) = input.bytes() else {
            return Vec::new();
        };
        let fmt = input_format(Some(&input.observed_content_type)).unwrap_or(InputFormat::Text);
        decode(fmt, &body, usize::MAX)
            .map(|d| d.texts)
            .unwrap_or_default()
    }

    /// The predicted label of each instance of the captured response (`None` for an item
    /// that failed).
    pub fn labels(&self) -> Vec<Option<String>> {
        let out = &self.capture_data.endpoint_output;
        if self.failed {
            return Vec::new();
        }
        match out.encoding.as_str() {
            "CSV" => out
                .data
                .lines()
                .map(|l| {
                    let first = l.split(',').next().unwrap_or("").trim_matches('"');
                    (first != "ERROR" && !first.is_empty()).then(|| first.to_string())
                })
                .collect(),
            _ => labels_of_json(&out.data),
        }
    }
}

/// Labels from a JSON (`{"label"}` or `{"predictions": [...]}`) or JSON-lines body.
pub fn labels_of_json(data: &str) -> Vec<Option<String>> {
    let label = |v: &serde_json::Value| v.get("label").and_then(|l| l.as_str()).map(String::from);
    match serde_json::from_str::<serde_json::Value>(data) {
        Ok(v) => match v.get("predictions").and_then(|p| p.as_array()) {
            Some(items) => items.iter().map(label).collect(),
            None => vec![label(&v)],
        },
        Err(_) => data
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).ok().as_ref().and_then(label))
            .collect(),
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar", "é ✓"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).unwrap(), s.as_bytes(), "{s}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
    }

    #[test]
    fn labels_from_every_output_format() {
        assert_eq!(
            labels_of_json(r#"{"label":"pos"}"#),
            vec![Some("pos".into())]
        );
        assert_eq!(
            labels_of_json(r#"{"predictions":[{"label":"a"},{"error":"x"}]}"#),
            vec![Some("a".into()), None]
        );
        assert_eq!(
            labels_of_json("{\"label\":\"a\"}\n{\"label\":\"b\"}\n"),
            vec![Some("a".into()), Some("b".into())]
        );
        let p = Payload::new("INPUT", "text/plain", "hello".as_bytes());
        assert_eq!(p.encoding, "BASE64");
        assert_eq!(p.bytes().unwrap(), b"hello");
    }
}
