//! Request bodies: records pre-encoded once, joined per request.

use bytes::{BufMut, Bytes, BytesMut};

use crate::config::{ContentType, Order};
use crate::pick::{pick, Stream};

/// Encodes records and builds the body of the n-th request.
#[derive(Debug)]
pub(crate) struct Bodies {
    /// Each record already encoded for the content type.
    encoded: Vec<Bytes>,
    /// With one record per request, the whole bodies, ready to clone.
    single: Vec<Bytes>,
    content_type: ContentType,
    per_request: usize,
    order: Order,
    seed: u64,
}

impl Bodies {
    /// Pre-encodes `texts` (must not be empty).
    pub(crate) fn new(
        texts: &[String],
        content_type: ContentType,
        per_request: usize,
        order: Order,
        seed: u64,
    ) -> Self {
        let encoded: Vec<Bytes> = texts.iter().map(|t| encode(content_type, t)).collect();
        let mut bodies = Self {
            encoded,
            single: Vec::new(),
            content_type,
            per_request,
            order,
            seed,
        };
        if per_request == 1 {
            bodies.single = bodies
                .encoded
                .iter()
                .map(|r| bodies.join(std::slice::from_ref(r)))
                .collect();
        }
        bodies
    }

    /// Body of request number `index`.
    pub(crate) fn body(&self, index: u64) -> Bytes {
        let n = self.encoded.len();
        if self.per_request == 1 {
            return self.single[pick(self.order, self.seed, Stream::Record, index, n)].clone();
        }
        let first = index.wrapping_mul(self.per_request as u64);
        let records: Vec<Bytes> = (0..self.per_request as u64)
            .map(|k| {
                let i = pick(
                    self.order,
                    self.seed,
                    Stream::Record,
                    first.wrapping_add(k),
                    n,
                );
                self.encoded[i].clone()
            })
            .collect();
        self.join(&records)
    }

    fn join(&self, records: &[Bytes]) -> Bytes {
        let len: usize = records.iter().map(|r| r.len() + 1).sum();
        let mut out = BytesMut::with_capacity(len + 16);
        match self.content_type {
            ContentType::Json => {
                out.put_slice(b"{\"instances\":[");
                for (i, r) in records.iter().enumerate() {
                    if i > 0 {
                        out.put_u8(b',');
                    }
                    out.put_slice(r);
                }
                out.put_slice(b"]}");
            }
            ContentType::Jsonlines | ContentType::Csv => {
                for r in records {
                    out.put_slice(r);
                    out.put_u8(b'\n');
                }
            }
        }
        out.freeze()
    }
}

/// One record in the body's encoding, without separators.
fn encode(content_type: ContentType, text: &str) -> Bytes {
    match content_type {
        ContentType::Json | ContentType::Jsonlines => {
            // Serializing a &str cannot fail.
            Bytes::from(serde_json::to_vec(text).unwrap_or_default())
        }
        ContentType::Csv => {
            let mut field = String::with_capacity(text.len() + 2);
            field.push('"');
            field.push_str(&text.replace('"', "\"\""));
            field.push('"');
            Bytes::from(field)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> Vec<String> {
        vec!["a \"quoted\"".into(), "b".into(), "c,\nd".into()]
    }

    fn body(ct: ContentType, per: usize, i: u64) -> String {
        let b = Bodies::new(&texts(), ct, per, Order::RoundRobin, 0);
        String::from_utf8(b.body(i).to_vec()).unwrap()
    }

    #[test]
    fn json_bodies() {
        assert_eq!(
            body(ContentType::Json, 1, 0),
            r#"{"instances":["a \"quoted\""]}"#
        );
        assert_eq!(
            body(ContentType::Json, 2, 1),
            r#"{"instances":["c,\nd","a \"quoted\""]}"#
        );
        let v: serde_json::Value = serde_json::from_str(&body(ContentType::Json, 3, 5)).unwrap();
        assert_eq!(v["instances"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn jsonlines_bodies() {
        assert_eq!(
            body(ContentType::Jsonlines, 2, 0),
            "\"a \\\"quoted\\\"\"\n\"b\"\n"
        );
    }

    #[test]
    fn csv_bodies_parse_back() {
        let text = body(ContentType::Csv, 3, 0);
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let got: Vec<String> = r.records().map(|x| x.unwrap()[0].to_string()).collect();
        assert_eq!(got, texts());
    }

    #[test]
    fn random_order_is_reproducible() {
        let a = Bodies::new(&texts(), ContentType::Json, 2, Order::Random, 3);
        let b = Bodies::new(&texts(), ContentType::Json, 2, Order::Random, 3);
        for i in 0..20 {
            assert_eq!(a.body(i), b.body(i));
        }
    }
}
