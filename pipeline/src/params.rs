//! Typed pipeline parameters: String, Integer, Float, Boolean, with defaults and
//! `name=value` overrides checked against their declared type.
use crate::error::{PipelineError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    #[serde(alias = "int")]
    Integer,
    Float,
    #[serde(alias = "bool")]
    Boolean,
}

impl std::fmt::Display for ParamType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Float => "float",
            ParamType::Boolean => "boolean",
        })
    }
}

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Boolean(bool),
    Integer(i64),
    Float(f64),
    String(String),
}

impl ParamValue {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ParamValue::Boolean(b) => serde_json::json!(b),
            ParamValue::Integer(i) => serde_json::json!(i),
            ParamValue::Float(f) => serde_json::json!(f),
            ParamValue::String(s) => serde_json::json!(s),
        }
    }

    /// This value as the given type (an integer is a valid float), or why not.
    fn coerce(self, ty: ParamType) -> std::result::Result<ParamValue, String> {
        match (ty, self) {
            (ParamType::String, v @ ParamValue::String(_))
            | (ParamType::Integer, v @ ParamValue::Integer(_))
            | (ParamType::Float, v @ ParamValue::Float(_))
            | (ParamType::Boolean, v @ ParamValue::Boolean(_)) => Ok(v),
            (ParamType::Float, ParamValue::Integer(i)) => Ok(ParamValue::Float(i as f64)),
            (ty, v) => Err(format!("expected a {ty}, got {v}")),
        }
    }

    /// Parses a command-line value as the given type.
    pub fn parse(ty: ParamType, raw: &str) -> std::result::Result<ParamValue, String> {
        let s = raw.trim();
        match ty {
            ParamType::String => Ok(ParamValue::String(raw.to_string())),
            ParamType::Integer => s
                .parse()
                .map(ParamValue::Integer)
                .map_err(|_| format!("expected an integer, got {raw:?}")),
            ParamType::Float => match s.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(ParamValue::Float(f)),
                _ => Err(format!("expected a finite float, got {raw:?}")),
            },
            ParamType::Boolean => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(ParamValue::Boolean(true)),
                "false" | "0" | "no" => Ok(ParamValue::Boolean(false)),
                _ => Err(format!("expected true or false, got {raw:?}")),
            },
        }
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Boolean(b) => write!(f, "{b}"),
            ParamValue::Integer(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamDef {
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Without a default the parameter is unset unless given; config keys that refer to an
    /// unset parameter are left out (so the step's own default applies).
    #[serde(default)]
    pub default: Option<ParamValue>,
    #[serde(default)]
    pub description: String,
}

/// Resolved parameter values by name (unset optional parameters are absent).
pub type ParamValues = BTreeMap<String, ParamValue>;

/// Splits `name=value`.
pub fn parse_assignment(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(PipelineError::Parameter {
            name: s.to_string(),
            message: "expected name=value".into(),
        }),
    }
}

/// Applies overrides (from the command line, as text) and typed values (e.g. from a
/// parameters file) to the declared defaults, checking names and types.
pub fn resolve(
    defs: &BTreeMap<String, ParamDef>,
    typed: &BTreeMap<String, ParamValue>,
    overrides: &[(String, String)],
) -> Result<ParamValues> {
    let lookup = |name: &String| {
        defs.get(name)
            .ok_or_else(|| PipelineError::UnknownParameter {
                name: name.clone(),
                known: defs.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    };
    let mut out: ParamValues = BTreeMap::new();
    for (name, def) in defs {
        if let Some(d) = &def.default {
            let v = d
                .clone()
                .coerce(def.ty)
                .map_err(|m| PipelineError::Parameter {
                    name: name.clone(),
                    message: format!("default: {m}"),
                })?;
            out.insert(name.clone(), v);
        }
    }
    for (name, value) in typed {
        let def = lookup(name)?;
        let v = value
            .clone()
            .coerce(def.ty)
            .map_err(|message| PipelineError::Parameter {
                name: name.clone(),
                message,
            })?;
        out.insert(name.clone(), v);
    }
    for (name, raw) in overrides {
        let def = lookup(name)?;
        let v = ParamValue::parse(def.ty, raw).map_err(|message| PipelineError::Parameter {
            name: name.clone(),
            message,
        })?;
        out.insert(name.clone(), v);
    }
    Ok(out)
}

/// Reads a parameters file: a TOML table of `name = value`.
pub fn read_file(path: &std::path::Path) -> Result<BTreeMap<String, ParamValue>> {
    let text = std::fs::read_to_string(path).map_err(|e| PipelineError::io(path, e))?;
    toml::from_str(&text).map_err(|source| PipelineError::Toml {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> BTreeMap<String, ParamDef> {
        let mut d = BTreeMap::new();
        let p = |ty, default| ParamDef {
            ty,
            default,
            description: String::new(),
        };
        d.insert(
            "epochs".into(),
            p(ParamType::Integer, Some(ParamValue::Integer(8))),
        );
        d.insert(
            "min_accuracy".into(),
            p(ParamType::Float, Some(ParamValue::Integer(1))),
        );
        d.insert(
            "auto_approve".into(),
            p(ParamType::Boolean, Some(ParamValue::Boolean(false))),
        );
        d.insert("lr".into(), p(ParamType::Float, None));
        d
    }

    #[test]
    fn defaults_overrides_and_types() {
        let over = vec![
            ("epochs".to_string(), "3".to_string()),
            ("auto_approve".into(), "true".into()),
        ];
        let v = resolve(&defs(), &BTreeMap::new(), &over).unwrap();
        assert_eq!(v["epochs"], ParamValue::Integer(3));
        assert_eq!(v["min_accuracy"], ParamValue::Float(1.0));
        assert_eq!(v["auto_approve"], ParamValue::Boolean(true));
        assert!(!v.contains_key("lr"));
    }

    #[test]
    fn unknown_and_mistyped_parameters_are_refused() {
        let e = resolve(&defs(), &BTreeMap::new(), &[("epoch".into(), "3".into())]).unwrap_err();
        assert!(e.to_string().contains("unknown parameter \"epoch\""), "{e}");
        let e = resolve(
            &defs(),
            &BTreeMap::new(),
            &[("epochs".into(), "three".into())],
        )
        .unwrap_err();
        assert!(e.to_string().contains("expected an integer"), "{e}");
        let mut typed = BTreeMap::new();
        typed.insert("auto_approve".into(), ParamValue::String("yes".into()));
        assert!(resolve(&defs(), &typed, &[]).is_err());
        assert!(parse_assignment("novalue").is_err());
    }
}
