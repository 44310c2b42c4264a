//! The captured record, in SageMaker Model Monitor's shape, plus Sentio's own fields
//! (variant, model version, status, latency, shadow), and reading texts and predicted
//! labels back out of captured payloads.
use crate::codec::{decode, input_format, InputFormat};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

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

/// The captured sides of the exchange: both by default; one of them is absent when the
/// endpoint captures only requests or only responses ([`CaptureMode`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_input: Option<Payload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_output: Option<Payload>,
}

/// Which sides of each sampled exchange are captured (SageMaker's `CaptureMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
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

    fn encoding(&self, content_type: &str) -> Option<&'static str> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        let listed = |l: &[String]| l.iter().any(|t| t.eq_ignore_ascii_case(media));
        if listed(&self.json) {
            Some("JSON")
        } else if listed(&self.csv) {
            Some("CSV")
        } else {
            None
        }
    }
}

/// How records are written: which sides, and which bodies as text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CaptureFormat {
    pub mode: CaptureMode,
    /// `None`: any type naming JSON or CSV (`application/json`, `application/jsonlines`,
    /// `text/csv`, …) is stored as text.
    pub text_types: Option<TextTypes>,
}

impl CaptureFormat {
    /// `JSON` or `CSV` for a body stored as text, else `None` (base64).
    fn text_encoding(&self, content_type: &str) -> Option<&'static str> {
        match &self.text_types {
            None => text_encoding(content_type),
            Some(t) => t.encoding(content_type),
        }
    }
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

/// A body the way SageMaker stores it: JSON and CSV as text, anything else (or anything
/// that is not UTF-8) as base64. Returns the encoding and the data.
fn encode_body<'a>(text: Option<&'static str>, body: &'a [u8]) -> (&'static str, Cow<'a, str>) {
    match (text, std::str::from_utf8(body)) {
        (Some(e), Ok(s)) => (e, Cow::Borrowed(s)),
        _ => ("BASE64", Cow::Owned(base64_encode(body))),
    }
}

/// `JSON` or `CSV` for content types SageMaker stores as text, else `None` (base64).
fn text_encoding(content_type: &str) -> Option<&'static str> {
    if content_type == "application/json" {
        return Some("JSON"); // nearly every request and response
    }
    let has = |needle: &[u8]| {
        content_type
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    if has(b"json") {
        Some("JSON")
    } else if has(b"csv") {
        Some("CSV")
    } else {
        None
    }
}

impl Payload {
    /// Stores a body the way SageMaker does (see [`encode_body`]).
    pub fn new(mode: &str, content_type: &str, body: &[u8]) -> Payload {
        let (encoding, data) = encode_body(text_encoding(content_type), body);
        Payload {
            observed_content_type: content_type.to_string(),
            mode: mode.to_string(),
            data: data.into_owned(),
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

/// One exchange, flat: every text and body of it in one buffer, with the time it was
/// captured. The writer reads them out of a [`Batch`] (`Pending<&[u8]>`, nothing copied)
/// and makes the event id and the line ([`Pending::encode_line`]); an owned one
/// (`Pending<Vec<u8>>`, [`super::Exchange::to_pending`]) keeps a request for its shadow's
/// answer, and serves tools and tests.
#[derive(Debug, Clone)]
pub struct Pending<B = Vec<u8>> {
    text: B,
    /// End of each [`Field`] in `text`.
    ends: [u32; FIELDS],
    pub status: u16,
    pub latency: std::time::Duration,
    pub shadow: bool,
    has_session: bool,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// The texts of a [`Pending`], in their order in its buffer.
#[derive(Clone, Copy)]
enum Field {
    Variant,
    ModelVersion,
    InferenceId,
    InputType,
    Input,
    OutputType,
    Output,
    Session,
}
const FIELDS: usize = 8;

/// The texts of an exchange in [`Field`] order.
fn fields<'a>(e: &super::Exchange<'a>) -> [&'a [u8]; FIELDS] {
    [
        e.variant.as_bytes(),
        e.model_version.as_bytes(),
        e.inference_id.as_bytes(),
        e.input_content_type.as_bytes(),
        e.input,
        e.output_content_type.as_bytes(),
        e.output,
        e.session.unwrap_or_default().as_bytes(),
    ]
}

/// Where each text ends when they are laid one after another.
fn ends_of(fields: &[&[u8]; FIELDS]) -> [u32; FIELDS] {
    let mut ends = [0u32; FIELDS];
    let mut n = 0usize;
    for (end, f) in ends.iter_mut().zip(fields) {
        n += f.len();
        // Bodies are bounded by the request limit, far below 4 GiB ([`Batch::push`]
        // refuses anything larger).
        *end = u32::try_from(n).unwrap_or(u32::MAX);
    }
    ends
}

impl Pending {
    /// Copies an exchange, timed now.
    pub fn new(e: &super::Exchange<'_>) -> Pending {
        let fields = fields(e);
        let ends = ends_of(&fields);
        let mut text = Vec::with_capacity(ends[FIELDS - 1] as usize);
        for f in fields {
            text.extend_from_slice(f);
        }
        Pending {
            text,
            ends,
            status: e.status,
            latency: e.latency,
            shadow: e.shadow,
            has_session: e.session.is_some(),
            time: chrono::Utc::now(),
        }
    }
}

/// Captured exchanges one after another in one buffer, as a serving thread hands them to
/// the writer: for each, a fixed header ([`HEADER`] bytes: where its texts end, status,
/// flags, latency, capture time) and then its texts. Adding one copies its texts and
/// allocates nothing once the buffer has room; the writer reads them in place
/// ([`Batch::iter`]) and gives the emptied buffer back to be filled again ([`Batch::clear`]).
#[derive(Debug, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    records: usize,
}

/// `N` bytes of `b` from `at` (zeros past its end).
fn le<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; N])
}

/// Bytes of a record's header in a [`Batch`]: `ends` (`u32` each), status (`u16`),
/// flags (`u8`), a spare byte, latency (ns, `u64`), time (s, `i64`; ns, `u32`).
const HEADER: usize = 4 * FIELDS + 2 + 1 + 1 + 8 + 8 + 4;
const SHADOW: u8 = 1;
const HAS_SESSION: u8 = 2;

impl Batch {
    /// An empty batch with room for `bytes` bytes of records.
    pub fn with_capacity(bytes: usize) -> Batch {
        Batch {
            bytes: Vec::with_capacity(bytes),
            records: 0,
        }
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Bytes the records take.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// Empties the batch, keeping its buffer.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.records = 0;
    }

    /// Bytes the batch has room for without growing.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Appends an exchange captured at `time`. Refuses (`false`) one whose texts come to
    /// 4 GiB or more, which no request limit lets through.
    pub fn push(&mut self, e: &super::Exchange<'_>, time: chrono::DateTime<chrono::Utc>) -> bool {
        let fields = fields(e);
        if fields.iter().map(|f| f.len()).sum::<usize>() >= u32::MAX as usize {
            return false;
        }
        let ends = ends_of(&fields);
        let mut header = [0u8; HEADER];
        for (slot, end) in header.chunks_exact_mut(4).zip(ends) {
            slot.copy_from_slice(&end.to_le_bytes());
        }
        let mut at = 4 * FIELDS;
        let mut put = |b: &[u8]| {
            header[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        };
        put(&e.status.to_le_bytes());
        put(&[
            (u8::from(e.shadow) * SHADOW) | (u8::from(e.session.is_some()) * HAS_SESSION),
            0,
        ]);
        put(&u64::try_from(e.latency.as_nanos())
            .unwrap_or(u64::MAX)
            .to_le_bytes());
        put(&time.timestamp().to_le_bytes());
        put(&time.timestamp_subsec_nanos().to_le_bytes());
        self.bytes.reserve(HEADER + ends[FIELDS - 1] as usize);
        self.bytes.extend_from_slice(&header);
        for f in fields {
            self.bytes.extend_from_slice(f);
        }
        self.records += 1;
        true
    }

    /// The records, in the order they were added, read in place.
    pub fn iter(&self) -> impl Iterator<Item = Pending<&[u8]>> + '_ {
        let mut rest = &self.bytes[..];
        std::iter::from_fn(move || {
            let (header, after) = rest.split_at_checked(HEADER)?;
            let mut ends = [0u32; FIELDS];
            for (i, end) in ends.iter_mut().enumerate() {
                *end = u32::from_le_bytes(le(header, 4 * i));
            }
            let at = 4 * FIELDS;
            let status = u16::from_le_bytes(le(header, at));
            let [flags] = le(header, at + 2);
            let latency = u64::from_le_bytes(le(header, at + 4));
            let secs = i64::from_le_bytes(le(header, at + 12));
            let nanos = u32::from_le_bytes(le(header, at + 20));
            let (text, next) = after.split_at_checked(ends[FIELDS - 1] as usize)?;
            rest = next;
            Some(Pending {
                text,
                ends,
                status,
                latency: std::time::Duration::from_nanos(latency),
                shadow: flags & SHADOW != 0,
                has_session: flags & HAS_SESSION != 0,
                time: chrono::DateTime::from_timestamp(secs, nanos).unwrap_or_default(),
            })
        })
    }
}

impl<B: AsRef<[u8]>> Pending<B> {
    fn bytes(&self, f: Field) -> &[u8] {
        let i = f as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text
            .as_ref()
            .get(start..self.ends[i] as usize)
            .unwrap_or_default()
    }

    /// A field that came in as `&str`, so is UTF-8.
    fn str(&self, f: Field) -> &str {
        std::str::from_utf8(self.bytes(f)).unwrap_or_default()
    }

    pub fn variant(&self) -> &str {
        self.str(Field::Variant)
    }
    pub fn model_version(&self) -> &str {
        self.str(Field::ModelVersion)
    }
    pub fn inference_id(&self) -> &str {
        self.str(Field::InferenceId)
    }
    pub fn input_content_type(&self) -> &str {
        self.str(Field::InputType)
    }
    pub fn input(&self) -> &[u8] {
        self.bytes(Field::Input)
    }
    pub fn output_content_type(&self) -> &str {
        self.str(Field::OutputType)
    }
    pub fn output(&self) -> &[u8] {
        self.bytes(Field::Output)
    }
    pub fn session(&self) -> Option<&str> {
        self.has_session.then(|| self.str(Field::Session))
    }

    /// The same request answered by another model (a shadow's copy).
    pub fn answered_by<'a>(&'a self, answer: &super::Exchange<'a>) -> super::Exchange<'a> {
        super::Exchange {
            inference_id: self.inference_id(),
            input_content_type: self.input_content_type(),
            input: self.input(),
            session: self.session(),
            ..*answer
        }
    }

    /// Writes the record as one JSON line (with its newline), with a fresh event id, in
    /// the default format (both sides; JSON and CSV bodies as text).
    pub fn write_line<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(2 * self.text.as_ref().len() + 512);
        self.encode_line(&mut line, &CaptureFormat::default());
        out.write_all(&line)
    }

    /// Appends the record's JSON line (with its newline) to `out`, with a fresh event id:
    /// [`CaptureRecord`]'s fields in its order, written directly rather than through serde
    /// (a line is written for every sampled request; this takes ~0.30 µs for a typical
    /// 1.1 kB line, two thirds of it escaping the bodies, and needs no intermediate strings).
    pub fn encode_line(&self, out: &mut Vec<u8>, format: &CaptureFormat) {
        // Room for the fixed fields and some escapes, so the line is written without growing.
        let len = self.text.as_ref().len();
        out.reserve(len + len / 4 + 512);
        let mut id = uuid::Uuid::encode_buffer();
        let event_id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id);
        out.extend_from_slice(br#"{"captureData":{"#);
        if format.mode.input() {
            out.extend_from_slice(br#""endpointInput":"#);
            let ct = self.input_content_type();
            payload(out, "INPUT", ct, format.text_encoding(ct), self.input());
        }
        if format.mode.output() {
            if format.mode.input() {
                out.push(b',');
            }
            out.extend_from_slice(br#""endpointOutput":"#);
            let ct = self.output_content_type();
            payload(out, "OUTPUT", ct, format.text_encoding(ct), self.output());
        }
        out.extend_from_slice(br#"},"eventMetadata":{"eventId":""#);
        out.extend_from_slice(event_id.as_bytes());
        out.extend_from_slice(br#"","inferenceId":"#);
        json_str(out, self.inference_id());
        out.extend_from_slice(br#","inferenceTime":""#);
        rfc3339_millis(out, &self.time);
        out.extend_from_slice(br#""},"eventVersion":"0","variant":"#);
        json_str(out, self.variant());
        out.extend_from_slice(br#","modelVersion":"#);
        json_str(out, self.model_version());
        out.extend_from_slice(br#","status":"#);
        out.extend_from_slice(itoa::Buffer::new().format(self.status).as_bytes());
        out.extend_from_slice(if (200..300).contains(&self.status) {
            br#","failed":false,"latencyMs":"#
        } else {
            br#","failed":true,"latencyMs":"#
        });
        // Milliseconds, to the whole microsecond: `1.234`.
        let micros = u64::try_from(self.latency.as_micros()).unwrap_or(u64::MAX);
        out.extend_from_slice(itoa::Buffer::new().format(micros / 1000).as_bytes());
        fraction_millis(out, (micros % 1000) as u32);
        if self.shadow {
            out.extend_from_slice(br#","shadow":true"#);
        }
        if let Some(session) = self.session() {
            out.extend_from_slice(br#","session":"#);
            json_str(out, session);
        }
        out.extend_from_slice(b"}\n");
    }
}

/// `{"observedContentType":…,"mode":…,"data":…,"encoding":…}`, the body encoded as
/// SageMaker does ([`encode_body`]).
fn payload(
    out: &mut Vec<u8>,
    mode: &str,
    content_type: &str,
    text: Option<&'static str>,
    body: &[u8],
) {
    out.extend_from_slice(br#"{"observedContentType":"#);
    json_str(out, content_type);
    out.extend_from_slice(br#","mode":""#);
    out.extend_from_slice(mode.as_bytes());
    out.extend_from_slice(br#"","data":"#);
    // Base64 needs no escaping; escaping it anyway keeps one path.
    let (encoding, data) = encode_body(text, body);
    json_str(out, &data);
    out.extend_from_slice(br#","encoding":""#);
    out.extend_from_slice(encoding.as_bytes());
    out.extend_from_slice(br#""}"#);
}

/// `2026-11-25T10:59:59.999Z`, as chrono's `to_rfc3339_opts(Millis, true)` writes it.
fn rfc3339_millis(out: &mut Vec<u8>, utc: &chrono::DateTime<chrono::Utc>) {
    use chrono::{Datelike, Timelike};
    // Each accessor of a `DateTime` converts it again; its naive form once.
    let t = &utc.naive_utc();
    let two = |out: &mut Vec<u8>, n: u32| {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8])
    };
    let year = t.year();
    if (0..=9999).contains(&year) {
        let y = year as u32;
        two(out, y / 100);
        two(out, y % 100);
    } else {
        // Outside RFC 3339's years: whatever chrono writes.
        out.extend_from_slice(
            utc.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .as_bytes(),
        );
        return;
    }
    out.push(b'-');
    two(out, t.month());
    out.push(b'-');
    two(out, t.day());
    out.push(b'T');
    two(out, t.hour());
    out.push(b':');
    two(out, t.minute());
    out.push(b':');
    // A leap second shows as :60, as chrono writes it.
    let nanos = t.nanosecond();
    two(out, t.second() + nanos / 1_000_000_000);
    fraction_millis(out, nanos % 1_000_000_000 / 1_000_000);
    out.push(b'Z');
}

/// `.ddd`: a fraction in thousandths (`n` < 1000), three digits.
fn fraction_millis(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&[
        b'.',
        b'0' + (n / 100) as u8,
        b'0' + (n / 10 % 10) as u8,
        b'0' + (n % 10) as u8,
    ]);
}

/// Appends `s` as a JSON string, quotes included: `"`, `\` and control characters
/// escaped the way serde_json escapes them (json-escape-simd, SIMD where the CPU has it).
/// In release builds its vector loads may read up to 31 bytes past the end of `s`, never
/// across a 4 KiB page (sonic-rs's technique); debug builds copy the tail instead.
fn json_str(out: &mut Vec<u8>, s: &str) {
    json_escape_simd::escape_into(s, out);
}

impl CaptureRecord {
    /// The texts of the captured request (empty when it cannot be decoded or was not
    /// captured).
    pub fn texts(&self) -> Vec<String> {
        let Some(input) = &self.capture_data.endpoint_input else {
            return Vec::new();
        };
        let Some(body) = input.bytes() else {
            return Vec::new();
        };
        let fmt = input_format(Some(&input.observed_content_type)).unwrap_or(InputFormat::Text);
        decode(fmt, &body, usize::MAX)
            .map(|d| d.texts)
            .unwrap_or_default()
    }

    /// The predicted label of each instance of the captured response (`None` for an item
    /// that failed); empty when the response was not captured or cannot be read.
    pub fn labels(&self) -> Vec<Option<String>> {
        let Some(out) = &self.capture_data.endpoint_output else {
            return Vec::new();
        };
        if out.encoding != "BASE64" {
            return output_labels(self.failed, &out.encoding, &out.data);
        }
        // A JSON or CSV type the endpoint was not told to store as text.
        let text = out.bytes().and_then(|b| String::from_utf8(b).ok());
        match (text_encoding(&out.observed_content_type), text) {
            (Some(encoding), Some(data)) => output_labels(self.failed, encoding, &data),
            _ => Vec::new(),
        }
    }
}

/// The predicted labels of a response body, as [`CaptureRecord::labels`] reads them once
/// it is captured.
pub(super) fn response_labels(content_type: &str, body: &[u8], status: u16) -> Vec<Option<String>> {
    let (encoding, data) = encode_body(text_encoding(content_type), body);
    if encoding == "BASE64" {
        return Vec::new();
    }
    output_labels(!(200..300).contains(&status), encoding, &data)
}

fn output_labels(failed: bool, encoding: &str, data: &str) -> Vec<Option<String>> {
    if failed {
        return Vec::new();
    }
    match encoding {
        "CSV" => data
            .lines()
            .map(|l| {
                let first = l.split(',').next().unwrap_or("").trim_matches('"');
                (first != "ERROR" && !first.is_empty()).then(|| first.to_string())
            })
            .collect(),
        _ => labels_of_json(data),
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

    fn exchange<'a>(
        ct_in: &'a str,
        input: &'a [u8],
        ct_out: &'a str,
        output: &'a [u8],
        status: u16,
    ) -> super::super::Exchange<'a> {
        super::super::Exchange {
            variant: "B",
            model_version: "sha256-abc",
            inference_id: "id-\"7\"",
            input_content_type: ct_in,
            input,
            output_content_type: ct_out,
            output,
            status,
            latency: std::time::Duration::from_nanos(1_234_567),
            shadow: true,
            session: Some("user-9"),
        }
    }

    fn pending(ct_in: &str, input: &[u8], ct_out: &str, output: &[u8], status: u16) -> Pending {
        let mut p = exchange(ct_in, input, ct_out, output, status).to_pending();
        p.time = "2026-11-25T10:59:59.999Z".parse().unwrap();
        p
    }

    fn line_of(p: &Pending) -> (String, CaptureRecord) {
        let mut line = Vec::new();
        p.write_line(&mut line).unwrap();
        let text = String::from_utf8(line).unwrap();
        let rec = serde_json::from_str(&text).unwrap();
        (text, rec)
    }

    #[test]
    fn a_pending_record_writes_one_sagemaker_line() {
        let p = pending(
            "Application/JSON; charset=utf-8",
            br#"{"text":"a \"quoted\"\nreview"}"#,
            "text/csv",
            b"negative,0.9\nERROR,bad\n",
            200,
        );
        let (text, r) = line_of(&p);
        assert!(
            text.ends_with("}\n") && text.matches('\n').count() == 1,
            "{text}"
        );
        let input = r.capture_data.endpoint_input.as_ref().unwrap();
        assert_eq!(
            (input.mode.as_str(), input.encoding.as_str()),
            ("INPUT", "JSON")
        );
        assert_eq!(
            input.observed_content_type,
            "Application/JSON; charset=utf-8"
        );
        assert_eq!(input.data.as_bytes(), p.input());
        let output = r.capture_data.endpoint_output.as_ref().unwrap();
        assert_eq!(
            (output.mode.as_str(), output.encoding.as_str()),
            ("OUTPUT", "CSV")
        );
        assert_eq!(r.event_metadata.inference_id, "id-\"7\"");
        assert_eq!(r.event_metadata.inference_time, "2026-11-25T10:59:59.999Z");
        assert_eq!(r.event_metadata.event_id.len(), 36);
        assert_eq!(
            (
                r.event_version.as_str(),
                r.variant.as_str(),
                r.model_version.as_str()
            ),
            ("0", "B", "sha256-abc")
        );
        assert_eq!((r.status, r.failed, r.shadow), (200, false, true));
        assert_eq!(r.latency_ms, 1.234, "whole microseconds");
        assert_eq!(r.session.as_deref(), Some("user-9"));
        assert_eq!(r.labels(), vec![Some("negative".into()), None]);
        // What the endpoint reads from the response before capture (`Exchange::labels`).
        let before = response_labels(p.output_content_type(), p.output(), p.status);
        assert_eq!(before, r.labels());
        // Two lines of one exchange differ in their event ids only.
        let (_, again) = line_of(&p);
        assert_ne!(again.event_metadata.event_id, r.event_metadata.event_id);
    }

    #[test]
    fn escaping_writes_what_serde_json_writes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let alphabet: Vec<char> = ('\0'..='\u{7f}')
            .chain(['é', '✓', '😀', '\u{2028}', '\u{ffff}'])
            .collect();
        let mut cases: Vec<String> = vec![
            String::new(),
            "\"".into(),
            "plain text longer than eight bytes, nothing to escape".into(),
            "\"\"\"\"\"\"\"\"\"\\\\".into(),
            "1234567\"".into(),
            "12345678\u{1f}".into(),
        ];
        for _ in 0..2000 {
            let n = rng.random_range(0..40);
            cases.push(
                (0..n)
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                    .collect(),
            );
        }
        for s in cases {
            let mut out = Vec::new();
            json_str(&mut out, &s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        for t in [
            "2026-11-25T10:59:59.999Z",
            "2026-01-01T00:00:00Z",
            "1999-12-31T23:59:59.000999Z",
            "0042-02-03T04:05:06.7Z",
        ] {
            let t: chrono::DateTime<chrono::Utc> = t.parse().unwrap();
            let mut out = Vec::new();
            rfc3339_millis(&mut out, &t);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            );
        }
        // A leap second: `:60`, as chrono writes it.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_250))
            .unwrap()
            .and_utc();
        let mut out = Vec::new();
        rfc3339_millis(&mut out, &leap);
        let written = String::from_utf8(out).unwrap();
        assert_eq!(written, "2016-12-31T23:59:60.250Z");
        assert_eq!(
            written,
            leap.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
    }

    #[test]
    fn binary_bodies_are_base64_and_failures_are_flagged() {
        let p = Pending::new(&super::super::Exchange {
            shadow: false,
            session: None,
            ..exchange(
                "application/json",
                &[0xff, 0xfe],
                "image/png",
                b"\x89PNG",
                503,
            )
        });
        let (text, r) = line_of(&p);
        assert!(
            !text.contains("\"shadow\"") && !text.contains("\"session\""),
            "{text}"
        );
        let input = r.capture_data.endpoint_input.as_ref().unwrap();
        assert_eq!(
            input.encoding, "BASE64",
            "not UTF-8, so base64 whatever the type"
        );
        assert_eq!(input.bytes().unwrap(), vec![0xff, 0xfe]);
        let output = r.capture_data.endpoint_output.as_ref().unwrap();
        assert_eq!(output.encoding, "BASE64");
        assert_eq!(output.bytes().unwrap(), b"\x89PNG");
        assert_eq!((r.status, r.failed), (503, true));
        assert_eq!(
            (p.variant(), p.session(), p.inference_id()),
            ("B", None, "id-\"7\"")
        );
        assert_eq!(
            (p.output_content_type(), p.output()),
            ("image/png", &b"\x89PNG"[..])
        );
        let before = response_labels(p.output_content_type(), p.output(), p.status);
        assert!(r.labels().is_empty() && before.is_empty());
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

    fn line_as(p: &Pending, format: &CaptureFormat) -> (String, CaptureRecord) {
        let mut line = Vec::new();
        p.encode_line(&mut line, format);
        let text = String::from_utf8(line).unwrap();
        let rec = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (text, rec)
    }

    #[test]
    fn the_capture_mode_writes_one_side_or_both() {
        let p = pending(
            "application/json",
            br#"{"instances":["good","bad"]}"#,
            "application/json",
            br#"{"predictions":[{"label":"pos"},{"label":"neg"}]}"#,
            200,
        );
        let mode = |mode| {
            line_as(
                &p,
                &CaptureFormat {
                    mode,
                    text_types: None,
                },
            )
        };
        let (text, input_only) = mode(CaptureMode::Input);
        assert!(!text.contains("endpointOutput"), "{text}");
        assert!(input_only.capture_data.endpoint_output.is_none());
        assert_eq!(input_only.texts(), ["good", "bad"]);
        assert!(input_only.labels().is_empty(), "no response captured");
        let (text, output_only) = mode(CaptureMode::Output);
        assert!(!text.contains("endpointInput"), "{text}");
        assert!(output_only.capture_data.endpoint_input.is_none());
        assert!(output_only.texts().is_empty(), "no request captured");
        assert_eq!(
            output_only.labels(),
            [Some("pos".to_string()), Some("neg".to_string())]
        );
        let (_, both) = mode(CaptureMode::InputAndOutput);
        assert_eq!(both.texts().len(), 2);
        assert_eq!(both.labels().len(), 2);
        // Everything but the sides and the event id is the same in every mode.
        for mut r in [input_only, output_only] {
            r.capture_data = both.capture_data.clone();
            r.event_metadata.event_id = both.event_metadata.event_id.clone();
            assert_eq!(r, both);
        }
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
        for (ct_in, ct_out, encodings) in [
            (
                "application/json; charset=utf-8",
                "TEXT/CSV",
                ("JSON", "CSV"),
            ),
            // Not listed, so base64, though the built-in default stores it as JSON.
            ("text/csv", "application/jsonlines", ("CSV", "BASE64")),
            ("application/x-ndjson", "text/plain", ("BASE64", "BASE64")),
        ] {
            let p = pending(ct_in, b"a,b", ct_out, lines, 200);
            let (_, r) = line_as(&p, &format);
            let (input, output) = (
                r.capture_data.endpoint_input.as_ref().unwrap(),
                r.capture_data.endpoint_output.as_ref().unwrap(),
            );
            assert_eq!(
                (input.encoding.as_str(), output.encoding.as_str()),
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
        let (_, default) = line_as(
            &pending("text/csv", b"a,b", "application/jsonlines", lines, 200),
            &CaptureFormat::default(),
        );
        assert_eq!(
            default.capture_data.endpoint_output.unwrap().encoding,
            "JSON",
            "without lists, any type naming json is text"
        );
    }

    /// Records read back out of a batch are the exchanges that went in: every field, and
    /// the same line as a record copied on its own (but for the event id).
    #[test]
    fn a_batch_gives_back_each_record_as_it_went_in() {
        let times = [
            "2026-11-25T10:59:59.999Z",
            "1969-12-31T23:59:59.5Z",
            "2026-11-26T00:00:00.000000001Z",
        ];
        let big = vec![b'q'; 70_000];
        let exchanges = [
            exchange(
                "application/json",
                br#"{"text":"ok"}"#,
                "text/csv",
                b"a\n",
                200,
            ),
            super::super::Exchange {
                shadow: false,
                session: None,
                latency: std::time::Duration::from_secs(3),
                ..exchange("text/plain", &big, "application/json", b"", 503)
            },
            super::super::Exchange {
                variant: "",
                inference_id: "",
                ..exchange("", b"", "", b"", 0)
            },
        ];
        let mut batch = Batch::default();
        assert!(batch.is_empty());
        for (e, t) in exchanges.iter().zip(times) {
            assert!(batch.push(e, t.parse().unwrap()));
        }
        assert_eq!(batch.len(), 3);
        let read: Vec<Pending<&[u8]>> = batch.iter().collect();
        assert_eq!(read.len(), 3);
        for ((r, e), t) in read.iter().zip(&exchanges).zip(times) {
            assert_eq!(r.variant(), e.variant);
            assert_eq!(r.model_version(), e.model_version);
            assert_eq!(r.inference_id(), e.inference_id);
            assert_eq!(r.input_content_type(), e.input_content_type);
            assert_eq!(r.input(), e.input);
            assert_eq!(r.output_content_type(), e.output_content_type);
            assert_eq!(r.output(), e.output);
            assert_eq!(r.session(), e.session);
            assert_eq!(
                (r.status, r.latency, r.shadow),
                (e.status, e.latency, e.shadow)
            );
            assert_eq!(r.time, t.parse::<chrono::DateTime<chrono::Utc>>().unwrap());
            let mut owned = e.to_pending();
            owned.time = r.time;
            let (mut a, mut b) = (Vec::new(), Vec::new());
            r.encode_line(&mut a, &CaptureFormat::default());
            owned.encode_line(&mut b, &CaptureFormat::default());
            let without_id = |line: Vec<u8>| -> serde_json::Value {
                let mut v: serde_json::Value = serde_json::from_slice(&line).unwrap();
                v["eventMetadata"]["eventId"].take();
                v
            };
            assert_eq!(without_id(a), without_id(b));
        }
        assert!(batch.size() > 70_000 && batch.capacity() >= batch.size());
    }
}
