//! Conditions: `JsonGet` on a step's JSON output by a dotted path, compared with a value.
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s.trim() {
            ">=" | "greater_than_or_equal_to" => Op::Ge,
            ">" | "greater_than" => Op::Gt,
            "<=" | "less_than_or_equal_to" => Op::Le,
            "<" | "less_than" => Op::Lt,
            "==" | "equals" => Op::Eq,
            _ => return None,
        })
    }
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Eq => "==",
        }
    }
}

/// The value at a dotted path (`metrics.accuracy.value`; numeric segments index arrays).
pub fn json_get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(v, |cur, seg| match cur {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
}

/// `left op right`: numbers compare numerically; `==` also compares strings and booleans.
pub fn compare(left: &Value, op: Op, right: &Value) -> Result<bool, String> {
    if let (Some(l), Some(r)) = (left.as_f64(), right.as_f64()) {
        return Ok(match op {
            Op::Ge => l >= r,
            Op::Gt => l > r,
            Op::Le => l <= r,
            Op::Lt => l < r,
            Op::Eq => l == r,
        });
    }
    match op {
        Op::Eq => Ok(left == right),
        _ => Err(format!(
            "cannot compare {left} {} {right}: both must be numbers",
            op.symbol()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_get_and_compare() {
        let doc = json!({"metrics": {"balanced_accuracy": {"value": 0.7}}, "a": [1, {"b": true}]});
        let v = json_get(&doc, "metrics.balanced_accuracy.value").unwrap();
        assert!(compare(v, Op::Ge, &json!(0.7)).unwrap());
        assert!(!compare(v, Op::Gt, &json!(0.7)).unwrap());
        assert!(compare(v, Op::Lt, &json!(1)).unwrap());
        assert!(compare(v, Op::Le, &json!(0.7)).unwrap());
        assert_eq!(json_get(&doc, "a.1.b"), Some(&json!(true)));
        assert!(compare(&json!(true), Op::Eq, &json!(true)).unwrap());
        assert!(compare(&json!("x"), Op::Gt, &json!(1)).is_err());
        assert!(json_get(&doc, "metrics.nope").is_none());
        assert_eq!(Op::parse("greater_than_or_equal_to"), Some(Op::Ge));
        assert_eq!(Op::parse("=>"), None);
    }
}
