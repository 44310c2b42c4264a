//! Architectures, training steps, artifacts and the Predictor.
mod common;

use models::arch::bert::load_pretrained;
use models::{
    Artifact, ArtifactWriter, BertConfig, FastTextConfig, Model, ModelConfig, ModelError,
    Predictor, TextTokenizer,
};
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Reduction, Tensor};

fn labels() -> Vec<String> {
    vec!["negative".into(), "positive".into()]
}

fn tokenizer() -> TextTokenizer {
    TextTokenizer::train_wordpiece(common::corpus().into_iter(), 300, 1).unwrap()
}

fn fasttext(tk: &TextTokenizer) -> ModelConfig {
    ModelConfig::FastText(FastTextConfig {
        vocab_size: tk.vocab_size(),
        bigram_buckets: 1000,
        dim: 16,
        dropout: 0.0,
    })
}

fn transformer(tk: &TextTokenizer) -> ModelConfig {
    let mut c = BertConfig::small(tk.vocab_size(), 32);
    c.hidden_size = 32;
    c.intermediate_size = 64;
    c.num_attention_heads = 2;
    ModelConfig::Transformer(c)
}

/// Forward shape, then a few AdamW steps on a fixed batch must reduce the loss.
fn check_shape_and_learning(mut model: Model, lr: f64) {
    let texts = common::corpus();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let enc = model.encode(&refs).unwrap();
    let seqs: Vec<&[i64]> = enc.iter().map(|e| e.ids.as_slice()).collect();
    let target = Tensor::from_slice(
        &(0..texts.len())
            .map(|i| ((i + 1) % 2) as i64)
            .collect::<Vec<_>>(),
    );
    let logits = model.net.logits(&seqs, false);
    assert_eq!(logits.size(), vec![texts.len() as i64, 2]);
    let mut opt = nn::AdamW::default().build(&model.vs, lr).unwrap();
    let loss_of = |m: &Model| {
        let _g = tch::no_grad_guard();
        m.net
            .logits(&seqs, false)
            .cross_entropy_loss::<Tensor>(&target, None, Reduction::Mean, -100, 0.0)
            .double_value(&[])
    };
    let before = loss_of(&model);
    for _ in 0..15 {
        let loss = model.net.logits(&seqs, true).cross_entropy_loss::<Tensor>(
            &target,
            None,
            Reduction::Mean,
            -100,
            0.0,
        );
        opt.backward_step(&loss);
        model.net.sparse_step(lr);
    }
    let after = loss_of(&model);
    assert!(after < before * 0.8, "loss {before} → {after}");
    model.vs.freeze();
}

#[test]
fn fasttext_forward_shape_and_training_reduces_loss() {
    tch::manual_seed(1);
    let tk = tokenizer();
    let m = Model::new(fasttext(&tk), labels(), 64, tk, Device::Cpu).unwrap();
    check_shape_and_learning(m, 0.05);
}

#[test]
fn transformer_forward_shape_and_training_reduces_loss() {
    tch::manual_seed(2);
    let tk = tokenizer();
    let m = Model::new(transformer(&tk), labels(), 32, tk, Device::Cpu).unwrap();
    check_shape_and_learning(m, 3e-3);
}

#[test]
fn pretrained_bert_forward_shape_and_fine_tuning_reduces_loss() {
    tch::manual_seed(3);
    let dir = common::minilm_dir();
    let cfg = BertConfig::from_file(&dir.join("config.json")).unwrap();
    let tk = TextTokenizer::load(&dir.join("tokenizer.json")).unwrap();
    let mut m = Model::new(ModelConfig::Bert(cfg), labels(), 32, tk, Device::Cpu).unwrap();
    let missing = load_pretrained(&mut m.vs, &dir.join("model.safetensors")).unwrap();
    assert_eq!(
        missing,
        vec!["classifier.bias", "classifier.weight", "logit_bias"]
    );
    check_shape_and_learning(m, 1e-4);
}

#[test]
fn pretrained_weights_with_wrong_shape_are_refused() {
    let dir = common::minilm_dir();
    let mut cfg = BertConfig::from_file(&dir.join("config.json")).unwrap();
    cfg.intermediate_size = 64;
    let tk = TextTokenizer::load(&dir.join("tokenizer.json")).unwrap();
    let mut m = Model::new(ModelConfig::Bert(cfg), labels(), 32, tk, Device::Cpu).unwrap();
    let err = load_pretrained(&mut m.vs, &dir.join("model.safetensors")).unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");
}

fn save(model: &Model, dir: &std::path::Path) -> Artifact {
    let mut w = ArtifactWriter::new(dir).unwrap();
    model.save_into(&mut w).unwrap();
    w.write_json("evaluation.json", &serde_json::json!({"metrics": {}}))
        .unwrap();
    w.finish().unwrap()
}

#[test]
fn artifact_round_trip_gives_identical_predictions() {
    tch::manual_seed(4);
    let tmp = tempfile::tempdir().unwrap();
    for (i, make) in [fasttext as fn(&TextTokenizer) -> ModelConfig, transformer]
        .iter()
        .enumerate()
    {
        let tk = tokenizer();
        let mut model = Model::new(make(&tk), labels(), 32, tk, Device::Cpu).unwrap();
        model.set_logit_bias(&[0.25, -0.25]).unwrap();
        let in_memory = Predictor::from_model(model, "mem");
        let dir = tmp.path().join(format!("m{i}"));
        let art = save(in_memory.model(), &dir);
        let texts = [
            "love this dress",
            "the zipper broke",
            "",
            "unknown words ☃☃",
        ];
        let want = in_memory.predict(&texts).unwrap();
        let loaded = Predictor::load(&dir, Device::Cpu).unwrap();
        assert_eq!(loaded.predict(&texts).unwrap(), want);
        assert_eq!(loaded.version(), art.version());
        assert_eq!(loaded.labels(), labels().as_slice());
        for p in &want {
            let sum: f32 = p.probabilities.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5);
        }
    }
}

/// Rewrites the manifest's digest of one file, so only the consistency checks can catch a
/// tampered file.
fn refresh_manifest(dir: &std::path::Path, file: &str) {
    let path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["files"][file] =
        serde_json::json!(models::artifact::file_digest(&dir.join(file)).unwrap());
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
}

#[test]
fn corrupt_or_mismatched_artifacts_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let tk = tokenizer();
    let model = Model::new(fasttext(&tk), labels(), 32, tk, Device::Cpu).unwrap();
    let dir = tmp.path().join("model");
    save(&model, &dir);
    Predictor::load(&dir, Device::Cpu).unwrap();

    // A flipped byte in the weights.
    let w = dir.join("model.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x55;
    std::fs::write(&w, &bytes).unwrap();
    let err = Predictor::load(&dir, Device::Cpu).err().unwrap();
    assert!(matches!(err, ModelError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    // A missing file.
    save(&model, &dir);
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let err = Predictor::load(&dir, Device::Cpu).err().unwrap();
    assert!(
        err.to_string().contains("tokenizer.json is missing"),
        "{err}"
    );

    // Labels that disagree with the config (manifest rewritten to match, so only the
    // consistency check can catch it).
    save(&model, &dir);
    std::fs::write(dir.join("labels.json"), br#"["a","b","c"]"#).unwrap();
    refresh_manifest(&dir, "labels.json");
    let err = Predictor::load(&dir, Device::Cpu).err().unwrap();
    assert!(matches!(err, ModelError::Mismatch { .. }), "{err}");

    // Weights of another architecture under a valid manifest.
    save(&model, &dir);
    let tk = tokenizer();
    let other = Model::new(transformer(&tk), labels(), 32, tk, Device::Cpu).unwrap();
    other.vs.save(dir.join("model.safetensors")).unwrap();
    refresh_manifest(&dir, "model.safetensors");
    let err = Predictor::load(&dir, Device::Cpu).err().unwrap();
    assert!(matches!(err, ModelError::Mismatch { .. }), "{err}");

    // Not an artifact at all.
    let err = Predictor::load(tmp.path(), Device::Cpu).err().unwrap();
    assert!(err.to_string().contains("manifest.json"), "{err}");
}

/// Rewrites one field of `config.json`'s model and re-hashes the manifest, as an attacker
/// who can write the artifact folder would.
fn craft_config(dir: &std::path::Path, field: &str, value: serde_json::Value) {
    let path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["model"][field] = value;
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    refresh_manifest(dir, "config.json");
}

#[test]
fn crafted_configurations_are_refused_before_any_allocation() {
    let tmp = tempfile::tempdir().unwrap();
    let tk = tokenizer();
    let model = Model::new(fasttext(&tk), labels(), 32, tk, Device::Cpu).unwrap();
    let dir = tmp.path().join("model");
    let cases = [
        (
            "bigram_buckets",
            serde_json::json!(1_000_000_000_000_000u64),
            "bigram_buckets",
        ),
        ("dim", serde_json::json!(0), "dim is 0"),
        ("dropout", serde_json::json!(1.5), "dropout"),
        ("vocab_size", serde_json::json!(u64::MAX), "vocab_size"),
        // Within the bounds, but more than the weights file holds.
        (
            "bigram_buckets",
            serde_json::json!(40_000_000),
            "bytes of weights",
        ),
    ];
    for (field, value, expected) in cases {
        save(&model, &dir);
        craft_config(&dir, field, value.clone());
        let err = Predictor::load(&dir, Device::Cpu).err().unwrap();
        assert!(
            matches!(
                err,
                ModelError::Corrupt { .. } | ModelError::Mismatch { .. }
            ),
            "{field}={value}: {err}"
        );
        assert!(err.to_string().contains(expected), "{field}={value}: {err}");
    }
}

#[test]
fn non_finite_output_is_an_error_for_that_input_only() {
    let tk = tokenizer();
    let mut model = Model::new(fasttext(&tk), labels(), 32, tk, Device::Cpu).unwrap();
    model.set_logit_bias(&[f32::NAN, 0.0]).unwrap();
    let p = Predictor::from_model(model, "nan");
    let enc = p.encode(&["love it"]).unwrap();
    let out = p.predict_encoded(&[enc[0].ids.as_slice()]).unwrap();
    assert!(matches!(out[0], Err(ModelError::NonFinite)));
    assert!(p.predict(&["love it"]).is_err());
}
