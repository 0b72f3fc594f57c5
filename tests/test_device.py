import torch

from bertsearch.reader import Reader


def test_a_reader_saved_in_half_precision_runs_in_float32_and_bf16_on_the_cpu(tiny_qa, tmp_path):
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    AutoModelForQuestionAnswering.from_pretrained(tiny_qa).half().save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_qa).save_pretrained(tmp_path)
    for precision in ("fp32", "bf16"):
        reader = Reader(str(tmp_path), device="cpu", precision=precision)
        assert next(reader.model.parameters()).dtype == torch.float32
        assert reader.read("Where is it?", ["It is in Paris."])  # bf16 autocast over fp16 weights used to fail
