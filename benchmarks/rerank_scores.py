"""Reader scores for retrieved candidates: the best span of every (question, passage) pair.

Runs where a GPU is (needs torch and transformers, not faiss): reads the
candidate files written by `benchmarks/rerank.py candidates` and writes, per
pair, the best span's score (start + end logit, as `Reader.read` scores it:
context tokens only, at most `max_answer_length` tokens) and its character
offsets in the passage. Windows of all pairs are batched together.

    python benchmarks/rerank_scores.py CANDIDATES.json.gz OUT.npz
"""

import argparse
import gzip
import json
import time

import numpy as np
import torch

from bertsearch.reader import Reader


def best_in_windows(reader, starts, ends, context_mask):
    """Best (score, start token, end token) of each window in a padded batch."""
    length = starts.shape[1]
    scores = starts[:, :, None] + ends[:, None, :]
    position = torch.arange(length, device=starts.device)
    width = position[None, :] - position[:, None]
    allowed = (width >= 0) & (width < reader.max_answer_length)
    valid = context_mask[:, :, None] & context_mask[:, None, :] & allowed[None]
    scores = scores.masked_fill(~valid, float("-inf")).flatten(1)
    best, index = scores.max(dim=1)
    return best, index // length, index % length


def score_pairs(reader, questions, passages, pairs, batch_size=512):
    """Best span score and character offsets for each (question index, passage index) pair."""
    windows = reader.windows([questions[q] for q, _ in pairs], [passages[p] for _, p in pairs])
    count = len(windows["input_ids"])
    owner = np.array(windows["overflow_to_sample_mapping"])
    order = sorted(range(count), key=lambda w: -len(windows["input_ids"][w]))
    score = np.full(len(pairs), -np.inf, dtype=np.float32)
    span = np.zeros((len(pairs), 2), dtype=np.int32)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in windows]
    with torch.inference_mode():
        for first in range(0, count, batch_size):
            batch = order[first : first + batch_size]
            features = reader.tokenizer.pad({k: [windows[k][w] for w in batch] for k in keys},
                                            return_tensors="pt").to(reader.device)
            output = reader.model(**features)
            # Context tokens: the second segment, less its closing [SEP] and the padding.
            mask = ((features["token_type_ids"] == 1) & (features["attention_mask"] == 1)
                    & (features["input_ids"] != reader.tokenizer.sep_token_id))
            best, start, end = best_in_windows(reader, output.start_logits.float(), output.end_logits.float(), mask)
            for row, w, s, a, b in zip(range(len(batch)), batch, best.tolist(), start.tolist(), end.tolist()):
                pair = owner[w]
                if s > score[pair]:
                    offsets = windows["offset_mapping"][w]
                    score[pair], span[pair] = s, (offsets[a][0], offsets[b][1])
    return score, span, count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates")
    parser.add_argument("out")
    parser.add_argument("--reader", default="bundled")
    parser.add_argument("--device")
    args = parser.parse_args()
    with gzip.open(args.candidates, "rt", encoding="utf-8") as file:
        data = json.load(file)
    reader = Reader(args.reader, device=args.device)
    ids = np.array(data["candidates"])  # (questions, k) positions into data["passages"], -1 = none
    pairs = [(q, int(p)) for q in range(len(ids)) for p in ids[q] if p >= 0]
    started = time.perf_counter()
    score, span, windows = score_pairs(reader, data["questions"], data["passages"], pairs)
    seconds = time.perf_counter() - started
    full = np.full(ids.shape, -np.inf, dtype=np.float32)
    spans = np.zeros(ids.shape + (2,), dtype=np.int32)
    rows = np.array([q for q, _ in pairs])
    cols = np.concatenate([np.flatnonzero(ids[q] >= 0) for q in range(len(ids))])
    full[rows, cols], spans[rows, cols] = score, span
    np.savez_compressed(args.out, score=full, span=spans)
    print(json.dumps({"file": args.candidates, "pairs": len(pairs), "windows": windows, "seconds": round(seconds, 1),
                      "device": reader.device, "precision": reader.precision,
                      "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}), flush=True)


if __name__ == "__main__":
    main()
