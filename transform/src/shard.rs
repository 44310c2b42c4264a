//! `--shard INDEX/COUNT`: COUNT processes (a Kubernetes Indexed Job) each take a
//! deterministic share of one job's input, and their outputs together are a single run's.
//!
//! - With at least COUNT input files (sorted by name), shard K takes files K, K+COUNT, …
//!   whole; their outputs have the names of an unsharded run.
//! - With fewer files, every shard takes a byte range of every file: shard K reads the
//!   records (lines) that start in `[K·len/COUNT, (K+1)·len/COUNT)` and writes
//!   `<input>.shard-K-of-COUNT.out` / `.err`; the parts of a file concatenated in K order
//!   are the single run's `<input>.out` / `.err`, byte for byte. A file that cannot be cut
//!   (gzip, `SplitType` None) goes whole to shard `i mod COUNT`; the other parts are empty.
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a shard (INDEX/COUNT, e.g. 0/4, INDEX below COUNT)");
        let (i, c) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            c.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// `shard-K-of-C`, K zero-padded to the width of C (so names sort in shard order).
    pub fn suffix(&self) -> String {
        let w = self.count.to_string().len();
        format!("shard-{:0w$}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The share of one file: the name its outputs take, and the byte range of the records
/// to read (`(0, u64::MAX)`: all; an empty range: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub stem: String,
    pub range: (u64, u64),
}

/// This shard's part of file `i` of `n` (`None`: another shard's file).
pub fn part(
    shard: Option<Shard>,
    i: usize,
    n: usize,
    name: &str,
    len: u64,
    cut: bool,
) -> Option<Part> {
    let whole = |stem: String| Part {
        stem,
        range: (0, u64::MAX),
    };
    let Some(s) = shard else {
        return Some(whole(name.to_string()));
    };
    let (k, c) = (s.index as u64, s.count as u64);
    if n as u64 >= c {
        return (i as u64 % c == k).then(|| whole(name.to_string()));
    }
    let stem = format!("{name}.{}", s.suffix());
    let range = if cut {
        let at = |k: u64| (len as u128 * k as u128 / c as u128) as u64;
        (at(k), at(k + 1))
    } else if i as u64 % c == k {
        (0, u64::MAX)
    } else {
        (0, 0)
    };
    Some(Part { stem, range })
}

/// Where the first record starting at or after `start` begins (`start` itself when a line
/// ends just before it), and how many lines come before it.
pub fn align(file: &mut File, start: u64) -> io::Result<(u64, u64)> {
    if start == 0 {
        return Ok((0, 0));
    }
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 256 * 1024];
    let (mut at, mut lines) = (0u64, 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((at, lines));
        }
        let chunk = &buf[..n];
        // Newlines before `start - 1` only count; the first one at or after it ends the
        // record that `start` falls in.
        let before = (start - 1).saturating_sub(at).min(n as u64) as usize;
        lines += memchr::memchr_iter(b'\n', &chunk[..before]).count() as u64;
        if let Some(j) = memchr::memchr(b'\n', &chunk[before..]) {
            return Ok((at + (before + j) as u64 + 1, lines + 1));
        }
        at += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_share() {
        assert_eq!("1/4".parse(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1", "a/2", "0/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let p = |k, count, i, n, name, cut| {
            let shard = Some(Shard { index: k, count });
            part(shard, i, n, name, 10, cut).map(|p| format!("{} {:?}", p.stem, p.range))
        };
        // Enough files: whole files, round robin, names unchanged.
        assert_eq!(
            p(1, 3, 4, 6, "e", true).unwrap(),
            "e (0, 18446744073709551615)"
        );
        assert_eq!(p(1, 3, 3, 6, "d", true), None);
        // Fewer files: byte ranges that tile the file; an uncuttable file goes whole.
        let parts: Vec<_> = (0..3).map(|k| p(k, 3, 0, 1, "a", true).unwrap()).collect();
        assert_eq!(
            parts,
            [
                "a.shard-0-of-3 (0, 3)",
                "a.shard-1-of-3 (3, 6)",
                "a.shard-2-of-3 (6, 10)"
            ]
        );
        assert_eq!(
            p(0, 3, 0, 1, "z", false).unwrap(),
            "z.shard-0-of-3 (0, 18446744073709551615)"
        );
        assert_eq!(p(1, 3, 0, 1, "z", false).unwrap(), "z.shard-1-of-3 (0, 0)");
        assert_eq!(
            p(3, 12, 0, 1, "a", true).unwrap(),
            "a.shard-03-of-12 (2, 3)"
        );
        assert_eq!(
            part(None, 0, 1, "a", 10, true).unwrap().range,
            (0, u64::MAX)
        );
    }

    #[test]
    fn ranges_start_at_record_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"ab\ncd\n\nefg").unwrap();
        let mut f = File::open(&p).unwrap();
        let got: Vec<_> = (0..=11).map(|s| align(&mut f, s).unwrap()).collect();
        let want = "[(0, 0), (3, 1), (3, 1), (3, 1), (6, 2), (6, 2), (6, 2), (7, 3), (10, 3), (10, 3), (10, 3), (10, 3)]";
        assert_eq!(format!("{got:?}"), want);
    }
}
