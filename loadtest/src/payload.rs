//! Loading review texts from the built-in set, a CSV file or a jsonlines
//! file. Files are read as streams; at most [`MAX_RECORDS`] are kept.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use tracing::{info, warn};

use crate::config::PayloadSource;
use crate::error::Error;

/// Records kept from a payload file; the rest are ignored (and logged).
pub const MAX_RECORDS: usize = 1_000_000;

/// Used when no payload file is given.
const BUILTIN: &[&str] = &[
    "Absolutely love this dress, the fit is perfect and the fabric feels great.",
    "The sweater pilled after one wash. Very disappointed with the quality.",
    "It's okay. The color is nice but it runs a little large.",
    "Beautiful blouse, got so many compliments. Ordering another color!",
    "Returned it: the zipper broke the first time I wore it.",
    "Comfortable jeans, true to size, would buy again.",
    "Not what the picture showed; the material is thin and see-through.",
    "Cute top for the price, though the stitching could be better.",
];

/// Review texts and how many candidates were skipped while loading.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    pub texts: Vec<String>,
    pub skipped: u64,
}

/// Loads the records of `source`.
pub(crate) fn load(source: &PayloadSource) -> Result<Records, Error> {
    let records = match source {
        PayloadSource::Builtin => Records {
            texts: BUILTIN.iter().map(|s| s.to_string()).collect(),
            skipped: 0,
        },
        PayloadSource::Csv { path, column } => load_csv(path, column)?,
        PayloadSource::JsonLines { path, field } => load_jsonl(path, field)?,
    };
    if records.skipped > 0 {
        warn!(
            skipped = records.skipped,
            kept = records.texts.len(),
            "payload records skipped (empty, malformed or missing the field)"
        );
    }
    info!(records = records.texts.len(), "payload loaded");
    Ok(records)
}

fn open(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|source| Error::PayloadIo {
        path: path.to_path_buf(),
        source,
    })
}

fn finish(path: &Path, field: &str, records: Records) -> Result<Records, Error> {
    if records.texts.is_empty() {
        return Err(Error::NoRecords {
            path: path.to_path_buf(),
            field: field.to_string(),
            skipped: records.skipped,
        });
    }
    if records.texts.len() == MAX_RECORDS {
        warn!(
            max = MAX_RECORDS,
            "payload file truncated to the record limit"
        );
    }
    Ok(records)
}

fn load_csv(path: &Path, column: &str) -> Result<Records, Error> {
    let csv_err = |source| Error::PayloadCsv {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::new(open(path)?));
    let headers = reader.headers().map_err(csv_err)?.clone();
    let index = headers
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| Error::MissingColumn {
            path: path.to_path_buf(),
            column: column.to_string(),
            available: headers
                .iter()
                .map(|h| format!("{h:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let mut records = Records {
        texts: Vec::new(),
        skipped: 0,
    };
    for row in reader.records() {
        if records.texts.len() == MAX_RECORDS {
            break;
        }
        let row = match row {
            Ok(row) => row,
            Err(e) if e.is_io_error() => return Err(csv_err(e)),
            Err(_) => {
                records.skipped += 1;
                continue;
            }
        };
        match row.get(index).map(str::trim) {
            Some(text) if !text.is_empty() => records.texts.push(text.to_string()),
            _ => records.skipped += 1,
        }
    }
    finish(path, column, records)
}

fn load_jsonl(path: &Path, field: &str) -> Result<Records, Error> {
    let reader = BufReader::new(open(path)?);
    let mut records = Records {
        texts: Vec::new(),
        skipped: 0,
    };
    for line in reader.lines() {
        if records.texts.len() == MAX_RECORDS {
            break;
        }
        let line = line.map_err(|source| Error::PayloadIo {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Option<serde_json::Value> = serde_json::from_str(&line).ok();
        match value
            .as_ref()
            .and_then(|v| v.get(field))
            .and_then(|v| v.as_str())
        {
            Some(text) if !text.trim().is_empty() => records.texts.push(text.to_string()),
            _ => records.skipped += 1,
        }
    }
    finish(path, field, records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn csv_with_quotes_newlines_and_blanks() {
        let f = file("id,Review Text,Rating\n1,\"Nice, really\",5\n2,,3\n3,\"two\nlines\",4\n");
        let r = load_csv(f.path(), "Review Text").unwrap();
        assert_eq!(r.texts, vec!["Nice, really", "two\nlines"]);
        assert_eq!(r.skipped, 1);
    }

    #[test]
    fn csv_missing_column_names_the_columns() {
        let f = file("id,text\n1,a\n");
        let err = load_csv(f.path(), "Review Text").unwrap_err();
        assert!(matches!(err, Error::MissingColumn { .. }));
        assert!(err.to_string().contains("\"text\""), "{err}");
    }

    #[test]
    fn jsonl_skips_bad_lines() {
        let f = file("{\"text\":\"a\"}\n\nnot json\n{\"other\":1}\n{\"text\":\"b\"}\n");
        let r = load_jsonl(f.path(), "text").unwrap();
        assert_eq!(r.texts, vec!["a", "b"]);
        assert_eq!(r.skipped, 2);
    }

    #[test]
    fn empty_file_is_an_error() {
        let f = file("{\"x\":\"a\"}\n");
        assert!(matches!(
            load_jsonl(f.path(), "text"),
            Err(Error::NoRecords { skipped: 1, .. })
        ));
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let missing = Path::new("/nonexistent/reviews.csv");
        assert!(matches!(
            load_csv(missing, "Review Text"),
            Err(Error::PayloadIo { .. })
        ));
    }
}
