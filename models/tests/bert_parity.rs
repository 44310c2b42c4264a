//! The BERT port is exact: hidden states of the real MiniLM-L6 checkpoint match the
//! reference values computed once with PyTorch + transformers
//! (scripts/make_bert_reference.py → tests/data/minilm_reference.json).
mod common;

use models::arch::bert::{load_pretrained, BertConfig, BertModel};
use models::TextTokenizer;
use tch::{nn, Device, Tensor};

#[test]
fn minilm_hidden_states_match_transformers_within_1e_4() {
    let dir = common::minilm_dir();
    let cfg = BertConfig::from_file(&dir.join("config.json")).unwrap();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = BertModel::new(&vs.root(), &cfg).unwrap();
    let missing = load_pretrained(&mut vs, &dir.join("model.safetensors")).unwrap();
    assert!(missing.is_empty(), "encoder weights missing: {missing:?}");
    let tok = TextTokenizer::load(&dir.join("tokenizer.json")).unwrap();

    let reference: serde_json::Value =
        serde_json::from_str(include_str!("data/minilm_reference.json")).unwrap();
    let sentences = reference["sentences"].as_array().unwrap();
    assert!(sentences.len() >= 3);
    let _g = tch::no_grad_guard();
    for s in sentences {
        let text = s["text"].as_str().unwrap();
        let want_ids: Vec<i64> = s["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let enc = tok.encode_batch(&[text], 128).unwrap();
        assert_eq!(enc[0].ids, want_ids, "token ids differ for {text:?}");
        let ids = Tensor::from_slice(&want_ids).unsqueeze(0);
        let mask = ids.ones_like();
        let hidden = model.forward_t(&ids, &mask, false).squeeze_dim(0);
        let want: Vec<f32> = s["hidden"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
            })
            .collect();
        let got = Vec::<f32>::try_from(hidden.contiguous().view([-1])).unwrap();
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let max_err = got
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        let rel = max_err / scale;
        assert!(
            rel <= 1e-4,
            "{text:?}: max abs error {max_err}, relative {rel}"
        );
    }
}
