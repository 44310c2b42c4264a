//! Pipeline definitions: parameters and steps with explicit inputs and outputs, read from
//! TOML (or the built-in default), checked and turned into an executable [`Plan`].
//!
//! ```toml
//! name = "sentiment"
//! [parameters.epochs]
//! type = "integer"
//! default = 8
//!
//! [[steps]]
//! name = "train"
//! type = "train"
//! inputs = { train = "steps.process.outputs.train", validation = "steps.process.outputs.validation" }
//! config = { epochs = "$epochs" }
//! ```
//! An input is `params.<name>` (a data file named by a string parameter; its content
//! digest enters the cache key) or `steps.<step>.outputs.<output>`. In `config`, a string
//! `"$name"` is replaced by the parameter's value (and the key is dropped when the
//! parameter is unset); `"$$x"` is the literal `"$x"`.
use crate::dag;
use crate::error::{PipelineError, Result};
use crate::params::{ParamDef, ParamType, ParamValues};
use crate::steps::{StepConfig, StepKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The built-in pipeline: validate → process → train → (evaluate ∥ baseline) →
/// condition → register, or fail.
pub const DEFAULT_PIPELINE: &str = include_str!("default_pipeline.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineDef {
    pub name: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParamDef>,
    pub steps: Vec<StepDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: StepKind,
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    #[serde(default)]
    pub config: Map<String, Value>,
    /// Extra ordering edges beyond those implied by inputs.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Whether the step may be answered from the cache (types with side effects never are).
    #[serde(default = "yes")]
    pub cache: bool,
}

fn yes() -> bool {
    true
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputRef {
    /// A file named by a string parameter.
    Param(String),
    /// Another step's output.
    Step { step: String, output: String },
}

impl InputRef {
    pub fn parse(s: &str) -> Option<InputRef> {
        let parts: Vec<&str> = s.trim().split('.').collect();
        match parts.as_slice() {
            ["params", p] if !p.is_empty() => Some(InputRef::Param(p.to_string())),
            ["steps", s, "outputs", o] if !s.is_empty() && !o.is_empty() => Some(InputRef::Step {
                step: s.to_string(),
                output: o.to_string(),
            }),
            _ => None,
        }
    }
}

/// A resolved input of a planned step.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedInput {
    File(PathBuf),
    Step { step: usize, output: String },
}

/// A step ready to run: its typed configuration (parameters substituted, checked),
/// inputs resolved to files or upstream outputs, dependencies as indices.
#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub name: String,
    pub kind: StepKind,
    pub inputs: BTreeMap<String, PlannedInput>,
    pub config: StepConfig,
    /// Config key → parameter name, for explaining cache misses.
    pub config_params: BTreeMap<String, String>,
    pub deps: Vec<usize>,
    pub cache: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<PlannedStep>,
    /// A topological order of step indices.
    pub order: Vec<usize>,
}

impl Plan {
    pub fn index(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name)
    }
}

impl PipelineDef {
    pub fn default_pipeline() -> Self {
        Self::from_toml_str(DEFAULT_PIPELINE, Path::new("<built-in>"))
            .expect("the built-in pipeline is valid")
    }

    pub fn from_toml_str(text: &str, origin: &Path) -> Result<Self> {
        let def: PipelineDef = toml::from_str(text).map_err(|source| PipelineError::Toml {
            path: origin.to_path_buf(),
            source,
        })?;
        def.check()?;
        Ok(def)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| PipelineError::io(path, e))?;
        Self::from_toml_str(&text, path)
    }

    pub fn step(&self, name: &str) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// Structural checks: names, references, declared inputs/outputs, cycles.
    pub fn check(&self) -> Result<()> {
        self.edges().map(|_| ())
    }

    /// Each step's dependencies (indices into `steps`): the producers of its inputs, its
    /// `depends_on`, and the condition it is a branch of; checked.
    pub fn dependencies(&self) -> Result<Vec<Vec<usize>>> {
        self.edges()
    }

    /// Step name → (the condition it is a branch of, the outcome that runs it).
    pub fn condition_branches(&self) -> Result<BTreeMap<String, (String, bool)>> {
        let mut out = BTreeMap::new();
        for s in self.steps.iter().filter(|s| s.kind == StepKind::Condition) {
            for (key, outcome) in [("if_true", true), ("if_false", false)] {
                for target in branch(&s.config, key).map_err(|m| PipelineError::step(&s.name, m))? {
                    out.insert(target, (s.name.clone(), outcome));
                }
            }
        }
        Ok(out)
    }

    /// Dependencies of every step (indices), after all structural checks.
    fn edges(&self) -> Result<Vec<Vec<usize>>> {
        let bad = |m: String| Err(PipelineError::Definition(m));
        if self.steps.is_empty() {
            return bad(format!("pipeline {:?} has no steps", self.name));
        }
        let mut names = BTreeSet::new();
        for s in &self.steps {
            if s.name.is_empty() || s.name.contains('.') {
                return bad(format!(
                    "step name {:?} must be non-empty without dots",
                    s.name
                ));
            }
            if !names.insert(s.name.as_str()) {
                return bad(format!("two steps are named {:?}", s.name));
            }
        }
        let index = |n: &str| self.steps.iter().position(|s| s.name == n);
        let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); self.steps.len()];
        for (i, s) in self.steps.iter().enumerate() {
            for required in s.kind.inputs() {
                if !s.inputs.contains_key(*required) {
                    return bad(format!(
                        "step {:?} ({}) needs input {required:?}",
                        s.name, s.kind
                    ));
                }
            }
            for (input, r) in &s.inputs {
                if !s.kind.inputs().contains(&input.as_str())
                    && !s.kind.optional_inputs().contains(&input.as_str())
                {
                    return bad(format!(
                        "step {:?} ({}) has no input {input:?}; it takes {:?}",
                        s.name,
                        s.kind,
                        s.kind
                            .inputs()
                            .iter()
                            .chain(s.kind.optional_inputs())
                            .collect::<Vec<_>>()
                    ));
                }
                match InputRef::parse(r) {
                    None => {
                        return bad(format!(
                            "step {:?} input {input:?}: {r:?} is neither params.<name> nor steps.<step>.outputs.<output>",
                            s.name
                        ))
                    }
                    Some(InputRef::Param(p)) => match self.parameters.get(&p) {
                        None => return bad(format!("step {:?} input {input:?} refers to unknown parameter {p:?}", s.name)),
                        Some(d) if d.ty != ParamType::String => {
                            return bad(format!("step {:?} input {input:?}: parameter {p:?} names a file and must be a string", s.name))
                        }
                        Some(_) => {}
                    },
                    Some(InputRef::Step { step, output }) => {
                        let Some(j) = index(&step) else {
                            return bad(format!("step {:?} input {input:?} refers to unknown step {step:?} (dangling reference)", s.name));
                        };
                        let up = &self.steps[j];
                        if !up.kind.outputs().contains(&output.as_str()) {
                            return bad(format!(
                                "step {:?} input {input:?}: step {step:?} ({}) has no output {output:?}; it has {:?}",
                                s.name,
                                up.kind,
                                up.kind.outputs()
                            ));
                        }
                        deps[i].insert(j);
                    }
                }
            }
            for d in &s.depends_on {
                let Some(j) = index(d) else {
                    return bad(format!("step {:?} depends on unknown step {d:?}", s.name));
                };
                deps[i].insert(j);
            }
            if s.kind == StepKind::Condition {
                for key in ["if_true", "if_false"] {
                    for target in
                        branch(&s.config, key).map_err(|m| PipelineError::step(&s.name, m))?
                    {
                        let Some(j) = index(&target) else {
                            return bad(format!(
                                "condition {:?} {key} names unknown step {target:?}",
                                s.name
                            ));
                        };
                        deps[j].insert(i);
                    }
                }
            }
            check_param_refs(&Value::Object(s.config.clone()), &self.parameters)
                .map_err(|m| PipelineError::step(&s.name, m))?;
        }
        let deps: Vec<Vec<usize>> = deps.into_iter().map(|d| d.into_iter().collect()).collect();
        if let Err(cycle) = dag::order(&deps) {
            let names: Vec<&str> = cycle.iter().map(|&i| self.steps[i].name.as_str()).collect();
            return bad(format!("the steps form a cycle: {}", names.join(" → ")));
        }
        Ok(deps)
    }

    /// Resolves parameters into an executable plan; every error is found here, before
    /// anything runs (including missing data files and invalid step configuration).
    pub fn plan(&self, values: &ParamValues) -> Result<Plan> {
        let deps = self.edges()?;
        let order = dag::order(&deps).map_err(|_| PipelineError::Definition("cycle".into()))?;
        let mut steps = Vec::with_capacity(self.steps.len());
        for (i, s) in self.steps.iter().enumerate() {
            let mut inputs = BTreeMap::new();
            for (name, r) in &s.inputs {
                let planned = match InputRef::parse(r) {
                    Some(InputRef::Param(p)) => {
                        let path = match values.get(&p) {
                            Some(crate::params::ParamValue::String(v)) if !v.trim().is_empty() => {
                                PathBuf::from(v)
                            }
                            _ => {
                                return Err(PipelineError::Parameter {
                                    name: p.clone(),
                                    message: format!(
                                        "step {:?} needs a data file here; set --param {p}=<path>",
                                        s.name
                                    ),
                                })
                            }
                        };
                        if !path.is_file() {
                            return Err(PipelineError::Parameter {
                                name: p.clone(),
                                message: format!(
                                    "data file {} does not exist (input {name:?} of step {:?})",
                                    path.display(),
                                    s.name
                                ),
                            });
                        }
                        PlannedInput::File(path)
                    }
                    Some(InputRef::Step { step, output }) => PlannedInput::Step {
                        step: self.steps.iter().position(|x| x.name == step).unwrap_or(0),
                        output,
                    },
                    None => unreachable!("checked by edges()"),
                };
                inputs.insert(name.clone(), planned);
            }
            let mut config_params = BTreeMap::new();
            for (k, v) in &s.config {
                if let Some(p) = v
                    .as_str()
                    .and_then(|x| x.strip_prefix('$'))
                    .filter(|x| !x.starts_with('$'))
                {
                    config_params.insert(k.clone(), p.to_string());
                }
            }
            let config = substitute(&Value::Object(s.config.clone()), values)
                .and_then(|c| StepConfig::parse(s.kind, c.unwrap_or(Value::Object(Map::new()))))
                .map_err(|m| PipelineError::step(&s.name, m))?;
            steps.push(PlannedStep {
                name: s.name.clone(),
                kind: s.kind,
                inputs,
                config,
                config_params,
                deps: deps[i].clone(),
                cache: s.cache && s.kind.cacheable(),
            });
        }
        Ok(Plan { steps, order })
    }
}

/// Step names listed under a condition's `if_true` / `if_false`.
pub(crate) fn branch(
    config: &Map<String, Value>,
    key: &str,
) -> std::result::Result<Vec<String>, String> {
    match config.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key} must list step names"))
            })
            .collect(),
        Some(_) => Err(format!("{key} must be a list of step names")),
    }
}

fn check_param_refs(
    v: &Value,
    params: &BTreeMap<String, ParamDef>,
) -> std::result::Result<(), String> {
    match v {
        Value::String(s) => match s.strip_prefix('$') {
            Some(p) if !p.starts_with('$') && !params.contains_key(p) => {
                Err(format!("config refers to unknown parameter {p:?}"))
            }
            _ => Ok(()),
        },
        Value::Array(a) => a.iter().try_for_each(|x| check_param_refs(x, params)),
        Value::Object(m) => m.values().try_for_each(|x| check_param_refs(x, params)),
        _ => Ok(()),
    }
}

/// Replaces `"$name"` strings by parameter values; `None` for an unset parameter.
fn substitute(v: &Value, values: &ParamValues) -> std::result::Result<Option<Value>, String> {
    Ok(match v {
        Value::String(s) => match s.strip_prefix('$') {
            Some(rest) if rest.starts_with('$') => Some(Value::String(rest.to_string())),
            Some(p) => values.get(p).map(|x| x.to_json()),
            None => Some(v.clone()),
        },
        Value::Array(a) => {
            let mut out = Vec::new();
            for x in a {
                out.push(substitute(x, values)?.ok_or("a list item refers to an unset parameter")?);
            }
            Some(Value::Array(out))
        }
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                if let Some(y) = substitute(x, values)? {
                    out.insert(k.clone(), y);
                }
            }
            Some(Value::Object(out))
        }
        _ => Some(v.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(extra: &str) -> std::result::Result<PipelineDef, String> {
        let text = format!(
            r#"
name = "t"
[parameters.data]
type = "string"
[parameters.n]
type = "integer"
default = 2
{extra}
"#
        );
        PipelineDef::from_toml_str(&text, Path::new("t.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_default_pipeline_is_valid_and_ordered() {
        let d = PipelineDef::default_pipeline();
        let deps = d.edges().unwrap();
        let order = dag::order(&deps).unwrap();
        let pos = |n: &str| order.iter().position(|&i| d.steps[i].name == n).unwrap();
        assert!(pos("validate") < pos("process"));
        assert!(pos("train") < pos("evaluate"));
        assert!(pos("evaluate") < pos("quality_gate"));
        assert!(pos("quality_gate") < pos("register"));
        assert!(pos("baseline") < pos("register"));
    }

    #[test]
    fn dangling_and_cyclic_references_are_refused() {
        let e = def(r#"
[[steps]]
name = "a"
type = "process"
inputs = { dataset = "steps.nope.outputs.dataset" }
"#)
        .unwrap_err();
        assert!(e.contains("unknown step \"nope\""), "{e}");
        let e = def(r#"
[[steps]]
name = "a"
type = "evaluate"
inputs = { model = "steps.b.outputs.model", test = "steps.b.outputs.model" }
[[steps]]
name = "b"
type = "train"
inputs = { train = "steps.a.outputs.evaluation", validation = "steps.a.outputs.evaluation" }
"#)
        .unwrap_err();
        assert!(e.contains("cycle"), "{e}");
        let e = def(r#"
[[steps]]
name = "a"
type = "validate"
inputs = { data = "params.data" }
config = { x = "$missing" }
"#)
        .unwrap_err();
        assert!(e.contains("unknown parameter \"missing\""), "{e}");
    }

    #[test]
    fn substitution_drops_unset_parameters() {
        let mut values = ParamValues::new();
        values.insert("n".into(), crate::params::ParamValue::Integer(3));
        let v = serde_json::json!({"a": "$n", "b": "$unset", "c": "$$lit", "d": {"e": "$n"}});
        let out = substitute(&v, &values).unwrap().unwrap();
        assert_eq!(out, serde_json::json!({"a": 3, "c": "$lit", "d": {"e": 3}}));
    }
}
