//! How records are written: which sides of an exchange, and which bodies as text
//! (SageMaker's `CaptureMode` and `CaptureContentTypeHeader`).
use crate::payload::media_type;
use serde::{Deserialize, Serialize};

/// How a body is stored in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Encoding {
    Json,
    Csv,
    Base64,
}

/// Which sides of each sampled exchange are captured (SageMaker's `CaptureMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub enum CaptureMode {
    /// The request only (`endpointInput`).
    Input,
    /// The response only (`endpointOutput`).
    Output,
    /// Both.
    #[default]
    InputAndOutput,
}

impl CaptureMode {
    pub fn input(self) -> bool {
        self != CaptureMode::Output
    }
    pub fn output(self) -> bool {
        self != CaptureMode::Input
    }
}

/// The content types whose bodies are stored as text (SageMaker's
/// `CaptureContentTypeHeader`): a body of a listed JSON type is stored with encoding
/// `JSON`, of a listed CSV type with `CSV`, anything else as `BASE64`. Types are compared
/// without their parameters (`; charset=…`) and ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TextTypes {
    pub json: Vec<String>,
    pub csv: Vec<String>,
}

impl TextTypes {
    /// Checks and normalises (trimmed, lower case) the two lists: each type is
    /// `type/subtype` without parameters, at most 256 characters, in one list only, and the
    /// two lists hold at least one type and at most 10 each (SageMaker's limits).
    pub fn new(json: &[String], csv: &[String]) -> Result<TextTypes, String> {
        let norm = |flag: &str, list: &[String]| -> Result<Vec<String>, String> {
            if list.len() > 10 {
                return Err(format!(
                    "{flag}: at most 10 content types, got {}",
                    list.len()
                ));
            }
            list.iter()
                .map(|t| {
                    let t = t.trim().to_ascii_lowercase();
                    let valid = t.len() <= 256
                        && t.split_once('/').is_some_and(|(ty, sub)| {
                            let token = |x: &str| {
                                !x.is_empty()
                                    && x.bytes().all(|b| {
                                        b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b)
                                    })
                            };
                            token(ty) && token(sub)
                        });
                    if valid {
                        Ok(t)
                    } else {
                        Err(format!(
                            "{flag}: {t:?} is not a content type (type/subtype, no parameters, at most 256 characters)"
                        ))
                    }
                })
                .collect()
        };
        let types = TextTypes {
            json: norm("--capture-json-content-types", json)?,
            csv: norm("--capture-csv-content-types", csv)?,
        };
        if types.json.is_empty() && types.csv.is_empty() {
            return Err("the capture content type lists are empty".into());
        }
        if let Some(t) = types.json.iter().find(|t| types.csv.contains(t)) {
            return Err(format!(
                "{t} is in both --capture-json-content-types and --capture-csv-content-types"
            ));
        }
        Ok(types)
    }

    fn encoding(&self, content_type: &str) -> Option<Encoding> {
        let media = media_type(content_type);
        if self.json.contains(&media) {
            Some(Encoding::Json)
        } else if self.csv.contains(&media) {
            Some(Encoding::Csv)
        } else {
            None
        }
    }
}

/// How records are written: which sides, and which bodies as text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CaptureFormat {
    pub mode: CaptureMode,
    /// `None`: any type naming JSON or CSV (`application/json`, `application/jsonlines`,
    /// `text/csv`, …) is stored as text.
    pub text_types: Option<TextTypes>,
}

impl CaptureFormat {
    /// `JSON` or `CSV` for a body stored as text, else `None` (base64). Without content
    /// type lists, any type naming JSON or CSV (`application/json`,
    /// `application/jsonlines`, `text/csv`, …) is stored as text.
    pub fn text_encoding(&self, content_type: &str) -> Option<Encoding> {
        match &self.text_types {
            Some(t) => t.encoding(content_type),
            None => {
                let media = media_type(content_type);
                if media.contains("json") {
                    Some(Encoding::Json)
                } else if media.contains("csv") {
                    Some(Encoding::Csv)
                } else {
                    None
                }
            }
        }
    }
}

impl std::str::FromStr for CaptureMode {
    type Err = String;
    /// `input`, `output` or `input-and-output` (SageMaker's `Input`, `Output` and
    /// `InputAndOutput` too).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "input" => Ok(CaptureMode::Input),
            "output" => Ok(CaptureMode::Output),
            "inputandoutput" => Ok(CaptureMode::InputAndOutput),
            _ => Err(format!(
                "capture mode {s:?} is not one of input, output, input-and-output"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CaptureRecord, Exchange};
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
    fn the_capture_mode_writes_one_side_or_both() {
        let e = exchange(
            "application/json",
            br#"{"instances":["good","bad"]}"#,
            "application/json",
            br#"{"predictions":[{"label":"pos"},{"label":"neg"}]}"#,
        );
        let mode = |mode| {
            let r = CaptureRecord::new(
                &e,
                &CaptureFormat {
                    mode,
                    text_types: None,
                },
            );
            (serde_json::to_string(&r).unwrap(), r)
        };
        let (text, input_only) = mode(CaptureMode::Input);
        assert!(!text.contains("endpointOutput"), "{text}");
        assert_eq!(input_only.texts(), ["good", "bad"]);
        assert!(input_only.labels().is_empty(), "no response captured");
        let (text, output_only) = mode(CaptureMode::Output);
        assert!(!text.contains("endpointInput"), "{text}");
        assert!(output_only.texts().is_empty(), "no request captured");
        assert_eq!(
            output_only.labels(),
            [Some("pos".to_string()), Some("neg".to_string())]
        );
        let (_, both) = mode(CaptureMode::InputAndOutput);
        assert_eq!((both.texts().len(), both.labels().len()), (2, 2));
        // Everything but the sides and the event id is the same in every mode.
        for mut r in [input_only, output_only] {
            r.capture_data = both.capture_data.clone();
            r.event_metadata.event_id = both.event_metadata.event_id.clone();
            assert_eq!(r, both);
        }
        assert_eq!("Input-And-Output".parse(), Ok(CaptureMode::InputAndOutput));
        assert_eq!("InputAndOutput".parse(), Ok(CaptureMode::InputAndOutput));
        assert!("sideways".parse::<CaptureMode>().is_err());
    }

    #[test]
    fn only_the_listed_content_types_are_stored_as_text() {
        let types = TextTypes::new(&["Application/JSON ".into()], &["text/csv".into()]).unwrap();
        assert_eq!(
            (types.json.as_slice(), types.csv.as_slice()),
            (
                &["application/json".to_string()][..],
                &["text/csv".to_string()][..]
            )
        );
        let format = CaptureFormat {
            mode: CaptureMode::InputAndOutput,
            text_types: Some(types),
        };
        let lines = b"{\"label\":\"a\"}\n{\"label\":\"b\"}\n";
        use Encoding::*;
        for (ct_in, ct_out, encodings) in [
            ("application/json; charset=utf-8", "TEXT/CSV", (Json, Csv)),
            // Not listed, so base64, though the built-in default stores it as JSON.
            ("text/csv", "application/jsonlines", (Csv, Base64)),
            ("application/x-ndjson", "text/plain", (Base64, Base64)),
        ] {
            let r = CaptureRecord::new(&exchange(ct_in, b"a,b", ct_out, lines), &format);
            let (input, output) = (
                r.capture_data.endpoint_input.as_ref().unwrap(),
                r.capture_data.endpoint_output.as_ref().unwrap(),
            );
            assert_eq!(
                (input.encoding, output.encoding),
                encodings,
                "{ct_in} / {ct_out}"
            );
            assert_eq!(input.bytes().unwrap(), b"a,b");
            assert_eq!(output.bytes().unwrap(), lines);
            if ct_out == "application/jsonlines" {
                // A JSON response stored as base64 still yields its labels.
                assert_eq!(r.labels(), [Some("a".to_string()), Some("b".to_string())]);
            }
        }
        let default = CaptureRecord::new(
            &exchange("text/csv", b"a,b", "application/jsonlines", lines),
            &CaptureFormat::default(),
        );
        assert_eq!(
            default.capture_data.endpoint_output.unwrap().encoding,
            Json,
            "without lists, any type naming json is text"
        );
    }

    #[test]
    fn content_type_lists_are_checked() {
        let types = |json: &[&str], csv: &[&str]| {
            let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            TextTypes::new(&v(json), &v(csv))
        };
        for (json, csv, expected) in [
            (&["json"][..], &[][..], "is not a content type"),
            (
                &["application/json; charset=utf-8"],
                &[],
                "is not a content type",
            ),
            (&[], &[""], "is not a content type"),
            (&["text/csv"], &["TEXT/CSV"], "in both"),
            (&[], &[], "are empty"),
        ] {
            let e = types(json, csv).unwrap_err();
            assert!(e.contains(expected), "{json:?} {csv:?}: {e}");
        }
        let many: Vec<String> = (0..11).map(|i| format!("a/{i}")).collect();
        assert!(TextTypes::new(&many, &[])
            .unwrap_err()
            .contains("at most 10"));
    }
}
