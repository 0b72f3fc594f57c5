import pytest
import torch

from bertsearch import device
from bertsearch.errors import InvalidSettingError
from bertsearch.reader import Reader


def test_a_reader_saved_in_half_precision_runs_in_float32_and_bf16_on_the_cpu(tiny_qa, tmp_path):
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    AutoModelForQuestionAnswering.from_pretrained(tiny_qa).half().save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_qa).save_pretrained(tmp_path)
    for precision in ("fp32", "bf16"):
        reader = Reader(str(tmp_path), device="cpu", precision=precision)
        assert next(reader.model.parameters()).dtype == torch.float32
        assert reader.read("Where is it?", ["It is in Paris."])  # bf16 autocast over fp16 weights used to fail


@pytest.mark.parametrize("native_bf16, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_precision_on_the_cpu_is_bf16_only_where_the_cpu_has_bf16_instructions(monkeypatch, native_bf16, expected):
    monkeypatch.delenv("BERTSEARCH_CPU_PRECISION", raising=False)
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: native_bf16)
    assert device.effective_precision("auto", "cpu") == expected
    assert device.effective_precision("auto", "cuda") == "fp16"
    assert device.effective_precision("fp32", "cpu") == "fp32"  # asked for: no choice made


def test_the_environment_overrides_the_cpu_precision(monkeypatch):
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setenv("BERTSEARCH_CPU_PRECISION", "fp32")
    assert device.effective_precision("auto", "cpu") == "fp32"
    monkeypatch.setenv("BERTSEARCH_CPU_PRECISION", "half")
    with pytest.raises(InvalidSettingError, match="BERTSEARCH_CPU_PRECISION must be one of fp32, bf16"):
        device.effective_precision("auto", "cpu")


def test_an_unknown_precision_setting_is_one_line_in_the_cli(monkeypatch, tmp_path, tiny_bert):
    from click.testing import CliRunner

    from bertsearch.cli import cli

    (tmp_path / "a.txt").write_text("some text to index")
    monkeypatch.setenv("BERTSEARCH_CPU_PRECISION", "half")
    result = CliRunner().invoke(cli, ["index", str(tmp_path / "a.txt"), "--index", str(tmp_path / "ix"),
                                      "--model", tiny_bert])
    assert result.exit_code != 0
    assert "BERTSEARCH_CPU_PRECISION must be one of" in result.output
    assert "Traceback" not in result.output
