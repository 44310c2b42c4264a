//! register: packages the model with its test evaluation, baseline and lineage as one
//! verified artifact (the layout serving loads) and registers it in a model package group
//! as PendingManualApproval, or Approved with `auto_approve`.
use super::{read_json, StepContext, StepOutcome};
use crate::error::Result;
use crate::lineage::package_lineage;
use crate::store::{ApprovalStatus, NewVersion};
use models::artifact::{self, Artifact, ArtifactWriter};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

/// The model package group versions go to unless the step says otherwise.
pub const DEFAULT_GROUP: &str = "sentiment";

/// `model_package_group` (a name without '/') and `auto_approve` (register as Approved
/// instead of PendingManualApproval).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterConfig {
    #[serde(deserialize_with = "group_name")]
    pub model_package_group: String,
    pub auto_approve: bool,
}

impl Default for RegisterConfig {
    fn default() -> Self {
        RegisterConfig {
            model_package_group: DEFAULT_GROUP.into(),
            auto_approve: false,
        }
    }
}

fn group_name<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let g = String::deserialize(d)?;
    if g.trim().is_empty() || g.contains('/') {
        return Err(serde::de::Error::custom(format!(
            "model_package_group must be a non-empty name without '/', got {g:?}"
        )));
    }
    Ok(g)
}

fn copy_into(w: &mut ArtifactWriter, name: &str, from: &std::path::Path) -> Result<()> {
    let bytes = std::fs::read(from).map_err(|e| crate::error::PipelineError::io(from, e))?;
    Ok(w.write_bytes(name, &bytes)?)
}

pub(super) fn run(ctx: &StepContext, cfg: &RegisterConfig) -> Result<StepOutcome> {
    let group = cfg.model_package_group.clone();
    let auto = cfg.auto_approve;
    let model_dir = ctx.input("model")?;
    let model = Artifact::open(model_dir)?;
    let evaluation = read_json(&ctx.input("evaluation")?.join(artifact::EVALUATION))?;
    let model_meta = model.read_json(artifact::METADATA)?.unwrap_or(Value::Null);
    let data = match ctx.inputs.get("dataset") {
        Some(d) => Some(read_json(&d.join("data.json"))?),
        None => None,
    };

    let store = ctx.metadata;
    let lineage = package_lineage(store, &model_meta, data.as_ref(), &ctx.input_digests)?;

    let out = ctx.output_path("package");
    let mut w = ArtifactWriter::new(&out)?;
    for name in model.manifest.files.keys() {
        if ![
            artifact::EVALUATION,
            artifact::EVALUATION_HTML,
            artifact::METADATA,
        ]
        .contains(&name.as_str())
        {
            copy_into(&mut w, name, &model_dir.join(name))?;
        }
    }
    w.write_json(artifact::EVALUATION, &evaluation)?;
    // The page of the same (test) evaluation, when the evaluate step wrote one.
    let page = ctx.input("evaluation")?.join(artifact::EVALUATION_HTML);
    if page.is_file() {
        copy_into(&mut w, artifact::EVALUATION_HTML, &page)?;
    }
    if let Some(b) = ctx.inputs.get("baseline") {
        for f in ["statistics.json", "constraints.json"] {
            copy_into(&mut w, &format!("baseline/{f}"), &b.join(f))?;
        }
    }
    let mut meta = model_meta.clone();
    if let Some(m) = meta.as_object_mut() {
        m.insert("lineage".into(), lineage.clone());
        m.insert("training_model_version".into(), json!(model.version()));
    }
    w.write_json(artifact::METADATA, &meta)?;
    let package = w.finish()?;
    let version = package.version();
    let digest = ctx.artifacts.commit(&out)?;

    let metrics: Map<String, Value> = evaluation["metrics"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    ["accuracy", "balanced_accuracy", "macro_f1"].contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), v["value"].clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut full = lineage;
    full["model_version"] = json!(version);
    full["model_package_group"] = json!(group);
    full["artifact_digest"] = json!(digest);
    full["execution"] = json!({
        "id": ctx.execution.id,
        "pipeline": ctx.execution.pipeline,
        "parameters": ctx.execution.parameters,
        "code_version": ctx.execution.code_version.to_string(),
        "trigger": ctx.execution.trigger,
    });
    full["code_version"] = json!(ctx.execution.code_version);
    let status = if auto {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::PendingManualApproval
    };
    let (mv, created) = store.register_version(&NewVersion {
        group: group.clone(),
        version: version.clone(),
        artifact_digest: digest.clone(),
        status,
        metrics: Value::Object(metrics),
        lineage: full,
        execution_id: ctx.execution.id.clone(),
        actor: if auto {
            "pipeline (auto_approve)".into()
        } else {
            "pipeline".into()
        },
    })?;
    if created {
        ctx.log(format!(
            "registered {group}/{} = {version} as {}",
            mv.number, mv.status
        ));
    } else {
        ctx.log(format!(
            "{version} is already registered as {group}/{} ({}, execution {}); nothing new",
            mv.number, mv.status, mv.execution_id
        ));
    }
    let mut committed = std::collections::BTreeMap::new();
    committed.insert("package".to_string(), digest.clone());
    Ok(StepOutcome {
        properties: json!({
            "model_version": version, "model_package_group": group, "number": mv.number,
            "status": mv.status, "newly_registered": created, "artifact_digest": digest,
        }),
        committed,
    })
}
