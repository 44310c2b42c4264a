//! [`Block`]: captured exchanges copied flat, one after another, on their way from a
//! serving thread to the writer thread.
use super::Exchange;
use chrono::{DateTime, Utc};

/// Texts of an exchange, in their order in a record.
const FIELDS: usize = 8;
/// A record's head: the end of each text (`u32` each, from the end of the head), status
/// (`u16`), shadow and has-session flags (`u8` each), latency in nanoseconds (`u64`) and
/// the capture time (seconds `i64`, nanoseconds `u32`), all little-endian.
const HEAD: usize = 4 * FIELDS + 2 + 1 + 1 + 8 + 8 + 4;

/// Exchanges copied flat into one growing buffer: a serving thread appends to its own
/// block and hands it over whole, so a captured request costs one copy, with no
/// allocation, channel message or cross-thread free of its own.
#[derive(Debug, Default)]
pub struct Block {
    data: Vec<u8>,
    records: usize,
}

impl Block {
    pub fn with_capacity(bytes: usize) -> Block {
        Block {
            data: Vec::with_capacity(bytes),
            records: 0,
        }
    }

    /// Copies an exchange captured at `time`.
    pub fn push(&mut self, e: &Exchange<'_>, time: &DateTime<Utc>) {
        let fields: [&[u8]; FIELDS] = [
            e.variant.as_bytes(),
            e.model_version.as_bytes(),
            e.inference_id.as_bytes(),
            e.input_content_type.as_bytes(),
            e.input,
            e.output_content_type.as_bytes(),
            e.output,
            e.session.unwrap_or_default().as_bytes(),
        ];
        let total: usize = fields.iter().map(|f| f.len()).sum();
        self.data.reserve(HEAD + total);
        let mut end = 0usize;
        for f in fields {
            end += f.len();
            // Bodies are bounded by the request limit, far below 4 GiB.
            self.data
                .extend_from_slice(&u32::try_from(end).unwrap_or(u32::MAX).to_le_bytes());
        }
        self.data.extend_from_slice(&e.status.to_le_bytes());
        self.data.push(u8::from(e.shadow));
        self.data.push(u8::from(e.session.is_some()));
        let latency = u64::try_from(e.latency.as_nanos()).unwrap_or(u64::MAX);
        self.data.extend_from_slice(&latency.to_le_bytes());
        self.data.extend_from_slice(&time.timestamp().to_le_bytes());
        self.data
            .extend_from_slice(&time.timestamp_subsec_nanos().to_le_bytes());
        for f in fields {
            self.data.extend_from_slice(f);
        }
        self.records += 1;
    }

    pub fn records(&self) -> usize {
        self.records
    }

    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Empties the block, keeping its memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.records = 0;
    }

    /// Calls `f` with every exchange of the block and its capture time, in order.
    pub fn for_each(&self, mut f: impl FnMut(&Exchange<'_>, &DateTime<Utc>)) {
        let mut at = 0;
        while let Some((e, time, next)) = self.record_at(at) {
            f(&e, &time);
            at = next;
        }
    }

    /// The record starting at `at`, its time and where the next one starts. (`None` past
    /// the end; a block is only ever written by [`Block::push`].)
    fn record_at(&self, at: usize) -> Option<(Exchange<'_>, DateTime<Utc>, usize)> {
        let head = self.data.get(at..at + HEAD)?;
        let u32_at = |i: usize| -> Option<usize> {
            Some(u32::from_le_bytes(head.get(i..i + 4)?.try_into().ok()?) as usize)
        };
        let mut ends = [0usize; FIELDS];
        for (i, end) in ends.iter_mut().enumerate() {
            *end = u32_at(4 * i)?;
        }
        let p = 4 * FIELDS;
        let status = u16::from_le_bytes(head.get(p..p + 2)?.try_into().ok()?);
        let shadow = head[p + 2] != 0;
        let has_session = head[p + 3] != 0;
        let latency = u64::from_le_bytes(head.get(p + 4..p + 12)?.try_into().ok()?);
        let secs = i64::from_le_bytes(head.get(p + 12..p + 20)?.try_into().ok()?);
        let nanos = u32::from_le_bytes(head.get(p + 20..p + 24)?.try_into().ok()?);
        let text = self.data.get(at + HEAD..at + HEAD + ends[FIELDS - 1])?;
        let bytes = |i: usize| -> &[u8] {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            text.get(start..ends[i]).unwrap_or_default()
        };
        // The texts came in as `&str`.
        let str = |i: usize| std::str::from_utf8(bytes(i)).unwrap_or_default();
        let e = Exchange {
            variant: str(0),
            model_version: str(1),
            inference_id: str(2),
            input_content_type: str(3),
            input: bytes(4),
            output_content_type: str(5),
            output: bytes(6),
            status,
            latency: std::time::Duration::from_nanos(latency),
            shadow,
            session: has_session.then(|| str(7)),
        };
        let time = DateTime::from_timestamp(secs, nanos)?;
        Some((e, time, at + HEAD + ends[FIELDS - 1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_gives_back_every_exchange_it_was_given() {
        let t0: DateTime<Utc> = "2026-11-26T05:59:59.123456789Z".parse().unwrap();
        let mut block = Block::default();
        let bodies: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; i as usize * 7]).collect();
        for (i, body) in bodies.iter().enumerate() {
            let id = format!("id-{i}");
            let e = Exchange {
                session: (i % 3 == 0).then_some("key"),
                shadow: i % 5 == 0,
                status: 200 + i as u16,
                latency: std::time::Duration::from_nanos(1_000_003 * i as u64),
                output_content_type: "text/csv",
                ..Exchange::json("A", "v1", &id, body, b"{}")
            };
            block.push(&e, &(t0 + chrono::Duration::milliseconds(i as i64)));
        }
        assert_eq!(block.records(), 50);
        let mut seen = 0;
        block.for_each(|e, time| {
            let i = seen;
            assert_eq!(e.inference_id, format!("id-{i}"));
            assert_eq!((e.variant, e.model_version), ("A", "v1"));
            assert_eq!(e.input, &bodies[i][..]);
            assert_eq!((e.output, e.output_content_type), (&b"{}"[..], "text/csv"));
            assert_eq!(e.session, (i % 3 == 0).then_some("key"));
            assert_eq!(e.shadow, i % 5 == 0);
            assert_eq!(e.status, 200 + i as u16);
            assert_eq!(e.latency.as_nanos(), 1_000_003 * i as u128);
            assert_eq!(*time, t0 + chrono::Duration::milliseconds(i as i64));
            seen += 1;
        });
        assert_eq!(seen, 50);
        block.clear();
        assert!(block.is_empty());
        block.for_each(|_, _| panic!("cleared"));
    }
}
