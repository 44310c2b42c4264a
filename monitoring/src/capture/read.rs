//! Reading capture trees: `<root>/<endpoint>/<variant>/YYYY/MM/DD/HH/<file>.jsonl`, as
//! Sentio's writer and SageMaker lay them out (any file name ending in `.jsonl`). Files
//! may still be being written: a last line without its newline is half a record (left
//! out if it does not parse) or, in a file made by hand, a whole one (kept).
use super::CaptureRecord;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The hour folders of a file (`YYYY/MM/DD/HH`, exactly those widths), from the file up.
fn hour_folders(file: &Path) -> Option<(i32, u32, u32, u32)> {
    let mut parts = file
        .parent()?
        .iter()
        .rev()
        .zip([2, 2, 2, 4])
        .map(|(c, width)| {
            let c = c.to_str().filter(|c| c.len() == width)?;
            c.parse::<u32>().ok()
        });
    let (h, d, m, y) = (
        parts.next()??,
        parts.next()??,
        parts.next()??,
        parts.next()??,
    );
    Some((i32::try_from(y).ok()?, m, d, h))
}

/// The end of the hour a capture file belongs to, from its folders
/// (`…/YYYY/MM/DD/HH/<file>.jsonl`); `None` for a file laid out otherwise. Every record of
/// the file is older than this: the first record of a later hour starts a new file.
pub fn hour_end(file: &Path) -> Option<chrono::DateTime<chrono::Utc>> {
    let (y, m, d, h) = hour_folders(file)?;
    let start = chrono::NaiveDate::from_ymd_opt(y, m, d)?
        .and_hms_opt(h, 0, 0)?
        .and_utc();
    Some(start + chrono::Duration::hours(1))
}

/// The variant folder of a capture file (the folder above `YYYY`), if it is laid out so.
pub fn variant_of(file: &Path) -> Option<&str> {
    hour_folders(file)?;
    file.ancestors().nth(5)?.file_name()?.to_str()
}

/// Every `.jsonl` file under `dir`, sorted by path (so by variant, then time).
pub fn jsonl_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Calls `f` with each line of a file as bytes, without its newline, and whether the line
/// is finished (see the module's note on files being written).
pub fn for_each_line(path: &Path, mut f: impl FnMut(&[u8], bool)) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let finished = line.last() == Some(&b'\n');
        if finished {
            line.pop();
        }
        f(&line, finished);
    }
}

/// Reads the lines of a file that start at byte `from`, calling `f(line, finished)` for
/// each (without its newline); returns the offset after the last line consumed. A finished
/// line is always consumed; a last line without its newline (a file being written) only
/// when `f` says it is whole (it parses), so it is read again, complete, next time.
pub fn read_lines_from(
    path: &Path,
    from: u64,
    mut f: impl FnMut(&[u8], bool) -> bool,
) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path)?;
    if file.metadata()?.len() <= from {
        return Ok(from);
    }
    file.seek(SeekFrom::Start(from))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut line = Vec::with_capacity(4096);
    let mut at = from;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(at);
        }
        let finished = line.last() == Some(&b'\n');
        if finished {
            line.pop();
        }
        let blank = line.trim_ascii().is_empty();
        // `f` sees every line with text; a finished line is consumed whatever it says.
        let consumed = if blank {
            finished
        } else {
            f(&line, finished) || finished
        };
        if consumed {
            at += n as u64;
        } else {
            return Ok(at);
        }
    }
}

/// The lines of one capture file as records: calls `f` on each, fills in a record's
/// variant from the file's folder when the record has none (SageMaker's records), and
/// returns how many finished lines are not capture records.
pub fn visit_file(path: &Path, mut f: impl FnMut(CaptureRecord)) -> std::io::Result<u64> {
    let variant = variant_of(path).map(str::to_string);
    let mut bad = 0;
    for_each_line(path, |line, finished| {
        if line.trim_ascii().is_empty() {
            return;
        }
        match serde_json::from_slice::<CaptureRecord>(line) {
            Ok(mut r) => {
                if r.variant.is_empty() {
                    if let Some(v) = &variant {
                        r.variant.clone_from(v);
                    }
                }
                f(r)
            }
            Err(_) if finished => bad += 1,
            Err(_) => {} // still being written
        }
    })?;
    Ok(bad)
}

/// Calls `f` on every record under `dir`; returns how many lines are not capture records.
pub fn visit_dir(dir: &Path, mut f: impl FnMut(CaptureRecord)) -> std::io::Result<u64> {
    let mut bad = 0;
    for path in jsonl_files(dir)? {
        bad += visit_file(&path, &mut f)?;
    }
    Ok(bad)
}

/// Every record under `dir`.
pub fn read_dir(dir: &Path) -> std::io::Result<Vec<CaptureRecord>> {
    let mut v = Vec::new();
    visit_dir(dir, |r| v.push(r))?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureFormat, Exchange};
    use std::io::Write;

    fn line(id: &str, input: &[u8]) -> Vec<u8> {
        let r = CaptureRecord::new(
            &Exchange::json("A", "v1", id, input, b"{}"),
            &CaptureFormat::default(),
        );
        let mut l = serde_json::to_vec(&r).unwrap();
        l.push(b'\n');
        l
    }

    #[test]
    fn hours_and_variants_come_from_the_folders() {
        let f = Path::new("cap/ep/B/2026/11/26/09/part.jsonl");
        assert_eq!(hour_end(f), Some("2026-11-26T10:00:00Z".parse().unwrap()));
        assert_eq!(variant_of(f), Some("B"));
        for other in ["elsewhere/part.jsonl", "runs/1/2/3/4/part.jsonl"] {
            assert_eq!(hour_end(Path::new(other)), None, "{other}");
            assert_eq!(variant_of(Path::new(other)), None, "{other}");
        }
    }

    #[test]
    fn a_file_being_written_and_stray_lines_do_not_break_a_read() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("A/2026/11/26/03");
        std::fs::create_dir_all(&d).unwrap();
        let mut f = File::create(d.join("part.jsonl")).unwrap();
        for id in ["a", "b", "c"] {
            f.write_all(&line(id, r#"{"text":"très bien"}"#.as_bytes()))
                .unwrap();
        }
        f.write_all(b"not a record\n\n").unwrap();
        // The writer is mid-way through a line, even mid-way through the "é" of a text.
        let half = line("d", "é".as_bytes());
        let cut = half.iter().position(|&b| b >= 0x80).unwrap() + 1;
        f.write_all(&half[..cut]).unwrap();
        drop(f);
        // A file made by hand whose last record has no newline: that record counts.
        let whole = line("e", b"{}");
        std::fs::write(d.join("by-hand.jsonl"), &whole[..whole.len() - 1]).unwrap();
        let mut ids = Vec::new();
        let bad = visit_dir(dir.path(), |r| ids.push(r.join_id().to_string())).unwrap();
        assert_eq!(
            (ids, bad),
            (vec!["e".into(), "a".into(), "b".into(), "c".into()], 1)
        );
    }
}
