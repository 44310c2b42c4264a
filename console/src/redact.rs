//! The console never shows filesystem paths: an absolute path in a text (a log line, a
//! failure reason, a parameter value) is shown as `…/<file name>`.
use serde_json::Value;

fn path_char(c: char) -> bool {
    c.is_alphanumeric() || "._-/~+@%,".contains(c)
}

/// `text` with every absolute path (a `/` at the start or after a space, quote, `(`, `[`,
/// `=` or `:` followed by a space, and running over path characters) replaced by
/// `…/<last component>`. URLs (`http://…`) are left alone.
pub fn hide_paths(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        let starts = c == '/'
            && prev.is_none_or(|p| p.is_whitespace() || "\"'([=,{<".contains(p))
            && text[i + 1..]
                .chars()
                .next()
                .is_some_and(|n| n.is_alphanumeric() || n == '.' || n == '_');
        if !starts {
            out.push(c);
            prev = Some(c);
            continue;
        }
        let mut end = i + 1;
        while let Some(&(j, d)) = chars.peek() {
            if !path_char(d) {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        let path = text[i..end].trim_end_matches(['.', ',']);
        let rest = &text[i + path.len()..end];
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        out.push_str("…/");
        out.push_str(last);
        out.push_str(rest);
        prev = text[..end].chars().last();
    }
    out
}

/// Every string in `v` with its paths hidden.
pub fn redact_json(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(hide_paths(s)),
        Value::Array(a) => Value::Array(a.iter().map(redact_json).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), redact_json(x))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_file_names() {
        assert_eq!(
            hide_paths("reading /tmp/x/data.csv: no such file"),
            "reading …/data.csv: no such file"
        );
        assert_eq!(hide_paths("/home/u/reviews.csv"), "…/reviews.csv");
        assert_eq!(hide_paths("dir=\"/a/b/c/\" ok."), "dir=\"…/c\" ok.");
        assert_eq!(hide_paths("see /a/b."), "see …/b.");
        for kept in [
            "http://127.0.0.1:8080/ping",
            "a/b",
            "1/2 of them",
            "ratio 3 / 4",
        ] {
            assert_eq!(hide_paths(kept), kept);
        }
        let v = serde_json::json!({"input_data": "/srv/data/r.csv", "n": 3, "l": ["/x/y"]});
        assert_eq!(
            redact_json(&v),
            serde_json::json!({"input_data": "…/r.csv", "n": 3, "l": ["…/y"]})
        );
    }
}
