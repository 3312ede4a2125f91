"""The training precision that is fastest on the machine at hand."""

import torch


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX tiles).

    Elsewhere (AVX2-only CPUs, for instance) oneDNN emulates bf16 convolutions, and a bf16-mixed
    training step of the harmony preset's PHALAR took 2.05x the CPU time of float32 (17.84 vs
    8.69 s on an AVX2 EPYC: ``benchmarks/train_throughput.py``).
    """
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, hence getattr
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def auto_precision(cuda: bool) -> str:
    """Lightning's ``precision`` for ``"auto"``: ``"bf16-mixed"`` on a GPU and on a CPU with
    native bf16, ``"32-true"`` otherwise.

    Args:
        cuda (bool): whether training runs on CUDA devices.

    Returns:
        str: ``"bf16-mixed"`` or ``"32-true"``.
    """
    return "bf16-mixed" if cuda or cpu_has_native_bf16() else "32-true"
