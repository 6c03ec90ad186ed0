"""The `precision` setting: which dtype policy a run trains under, and that it is recorded."""

from __future__ import annotations

import json

import keras
import pytest

import kerazoo
from kerazoo import config
from kerazoo.training import steps


def test_a_mixed_bfloat16_run_records_its_policy_and_learns(tmp_path):
    before = keras.config.dtype_policy().name
    result = kerazoo.train(
        "mnist_cnn",
        "mnist_sample",
        precision="mixed_bfloat16",
        epochs=1,
        max_examples=200,
        out=tmp_path,
        plots=False,
        verbose=0,
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["precision"] == "mixed_bfloat16"
    assert json.loads((tmp_path / "config.json").read_text())["precision"] == "mixed_bfloat16"
    # The hidden layers computed in bfloat16; the softmax and the weights stayed float32.
    layers = {layer.name: layer for layer in result.model._flatten_layers()}
    assert layers["output"].compute_dtype == "float32"
    assert any(layer.compute_dtype == "bfloat16" for layer in layers.values())
    assert metrics["test_accuracy"] > 0.2  # 10 classes: chance is 0.1
    # The policy was set around the model's creation only.
    assert keras.config.dtype_policy().name == before


def test_float32_is_the_default_and_is_recorded(tmp_path):
    kerazoo.train("binary_mlp", epochs=1, max_examples=200, out=tmp_path, plots=False, verbose=0)
    assert json.loads((tmp_path / "metrics.json").read_text())["precision"] == "float32"


def test_auto_follows_the_cpu_flags(tmp_path, monkeypatch):
    with_bf16 = tmp_path / "bf16"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512vl\n")
    without = tmp_path / "plain"
    without.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2\n")
    assert steps.cpu_has_bf16(str(with_bf16))
    assert not steps.cpu_has_bf16(str(without))
    assert not steps.cpu_has_bf16(str(tmp_path / "missing"))
    assert steps.resolve_precision("mixed_float16") == "mixed_float16"
    if not keras.distribution.list_devices("gpu"):
        monkeypatch.setattr(steps, "cpu_has_bf16", lambda: True)
        assert steps.resolve_precision("auto") == "mixed_bfloat16"
        monkeypatch.setattr(steps, "cpu_has_bf16", lambda: False)
        assert steps.resolve_precision("auto") == "float32"


@pytest.mark.parametrize("table", [config.RunConfig, config.SearchConfig])
def test_an_unknown_precision_is_refused(table):
    with pytest.raises(ValueError, match=r"precision must be one of .*Received: precision='fp16'"):
        config.make(table, "mnist_cnn", {"precision": "fp16"})
