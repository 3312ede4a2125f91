"""auto_precision: bf16-mixed only where it is fast (a GPU, or a CPU with native bf16)."""

import pytest
import torch

from phalar_asteroid.engine.precision import auto_precision, cpu_has_native_bf16


@pytest.mark.parametrize(
    "avx512_bf16, amx, cuda, expected",
    [
        (False, False, False, "32-true"),  # AVX2-only CPU: bf16 is emulated
        (True, False, False, "bf16-mixed"),
        (False, True, False, "bf16-mixed"),
        (False, False, True, "bf16-mixed"),
    ],
)
def test_auto_precision(monkeypatch, avx512_bf16, amx, cuda, expected):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert auto_precision(cuda) == expected


def test_a_torch_without_the_probes_counts_as_no_native_bf16(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert cpu_has_native_bf16() is False and auto_precision(False) == "32-true"
