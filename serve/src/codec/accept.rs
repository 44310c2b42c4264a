//! Content-Type and Accept negotiation.
use super::{InputFormat, OutputFormat};
use crate::error::ServeError;

/// The input format named by a `Content-Type` (missing: JSON).
pub fn input_format(content_type: Option<&str>) -> Result<InputFormat, ServeError> {
    Ok(InputFormat::of_content_type(content_type)?)
}

/// The best output format the `Accept` header allows (missing or `*/*`: JSON).
pub fn output_format(accept: Option<&str>) -> Result<OutputFormat, ServeError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(OutputFormat::Json);
    };
    let mut choices: Vec<(f32, usize, OutputFormat)> = Vec::new();
    for (i, item) in accept.split(',').enumerate() {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let fmt = match media.as_str() {
            "application/json" | "*/*" | "application/*" => Some(OutputFormat::Json),
            "application/jsonlines"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/x-ndjson" => Some(OutputFormat::JsonLines),
            "text/csv" | "text/*" => Some(OutputFormat::Csv),
            _ => None,
        };
        if let Some(f) = fmt.filter(|_| q > 0.0) {
            choices.push((q, i, f));
        }
    }
    choices
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|c| c.2)
        .ok_or_else(|| ServeError::NotAcceptable(accept.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(input_format(None).unwrap(), InputFormat::Json);
        assert_eq!(
            input_format(Some("application/json; charset=utf-8")).unwrap(),
            InputFormat::Json
        );
        assert_eq!(
            input_format(Some("application/jsonlines")).unwrap(),
            InputFormat::JsonLines
        );
        assert_eq!(input_format(Some("TEXT/CSV")).unwrap(), InputFormat::Csv);
        assert!(matches!(
            input_format(Some("image/png")),
            Err(ServeError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(output_format(None).unwrap(), OutputFormat::Json);
        assert_eq!(output_format(Some("*/*")).unwrap(), OutputFormat::Json);
        assert_eq!(output_format(Some("text/csv")).unwrap(), OutputFormat::Csv);
        assert_eq!(
            output_format(Some("application/json;q=0.5, application/jsonlines")).unwrap(),
            OutputFormat::JsonLines
        );
        assert_eq!(
            output_format(Some("image/png, text/csv;q=0.1")).unwrap(),
            OutputFormat::Csv
        );
        assert!(matches!(
            output_format(Some("image/png")),
            Err(ServeError::NotAcceptable(_))
        ));
    }
}
