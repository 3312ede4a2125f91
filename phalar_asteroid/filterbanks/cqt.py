"""Constant-Q transform as an Asteroid filterbank."""

from typing import Optional

import numpy as np
import torch
from asteroid_filterbanks.enc_dec import Filterbank

#: Default hop in samples (10 ms at 16 kHz).
DEFAULT_STRIDE = 160


# Scripted when traced, as asteroid-filterbanks' own shape helpers: a trace would otherwise fix
# the input's rank (eager indexing records the resolved, positive axis).
@torch.jit.script_if_tracing
def reflect_pad_time(wav: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflect-pads the last axis of a tensor of any rank by ``pad`` on both sides."""
    shape = list(wav.shape)
    padded = torch.nn.functional.pad(wav.reshape(-1, 1, shape[-1]), [pad, pad], mode="reflect")
    return padded.reshape(shape[:-1] + [padded.shape[-1]])


@torch.jit.script_if_tracing
def stacked_magnitude(spec: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Magnitude of ``(*, 2 * n_bins, frames)`` real-then-imaginary rows, ``(*, n_bins, frames)``."""
    re, im = spec.narrow(-2, 0, n_bins), spec.narrow(-2, n_bins, n_bins)
    return torch.sqrt(re.pow(2) + im.pow(2))


class CQTFB(Filterbank):
    r"""Complex constant-Q filterbank, analysis only, matching nnAudio's ``CQT1992v2``.

    The kernels come from nnAudio's own construction (``create_cqt_kernels``): Hann-windowed
    complex exponentials of length :math:`l_k = \lceil Q f_s / f_k \rceil`, L1-normalised and
    centred in a common frame of ``kernel_size`` samples. ``filters()`` returns the real parts,
    then the imaginary parts (Asteroid's stacking convention), so ``Encoder(CQTFB())`` works.
    ``pre_analysis`` reflect-pads by ``kernel_size // 2`` and ``post_analysis`` returns the
    magnitude times :math:`\sqrt{l_k}` ("librosa" normalisation). Both act on the last axes
    only, so ``Encoder(CQTFB())`` takes every rank Asteroid's encoders take, traced or not.

    ``Encoder`` convolves with the full 32,768-tap kernels, about 91 % of which is zeros for the
    higher bins. :meth:`analysis` gives the same output with every group of bins cropped to its
    own support, which is what :class:`~phalar_asteroid.models.PHALAR` uses.

    Args:
        n_filters (int, optional): Asteroid's filter count, ``2 * n_bins`` (real and imaginary
            rows); derived from ``n_bins`` when omitted.
        kernel_size (int, optional): checked against the kernel frame nnAudio derives (32,768
            for the defaults); derived when omitted.
        stride (int, optional): hop in samples; None (what ``make_enc_dec`` passes when a config
            leaves it out) means 160, 10 ms at 16 kHz.
        sample_rate (float): sample rate in Hz.
        n_bins (int, optional): number of CQT bins (96 when neither it nor ``n_filters`` is
            given).
        bins_per_octave (int): bins per octave.
        fmin (float): centre frequency of the lowest bin in Hz.
        filter_scale (float): scales Q.
        norm (int): kernel normalisation order (1: L1, as nnAudio).
        group_size (int): bins per cropped convolution in :meth:`analysis`.
        **kwargs: ignored, as Asteroid's ``make_enc_dec`` expects.

    Shape:
        - ``Encoder(CQTFB())`` input: :math:`(batch, 1, time)`, output
          :math:`(batch, n\_bins, time // hop + 1)`; as for Asteroid's encoders, :math:`(time,)`
          gives :math:`(n\_bins, frames)` and :math:`(*, chan, time)` with ``chan > 1`` gives
          :math:`(*, chan, n\_bins, frames)`.
    """

    def __init__(
        self,
        n_filters: int = None,
        kernel_size: int = None,
        stride: Optional[int] = None,
        sample_rate: float = 16000.0,
        n_bins: int = None,
        bins_per_octave: int = 12,
        fmin: float = 16.35,
        filter_scale: float = 1.0,
        norm: int = 1,
        group_size: int = 12,
        **kwargs,
    ):
        from nnAudio.utils import create_cqt_kernels

        if n_bins is None:
            n_bins = n_filters // 2 if n_filters else 96
        if n_filters is not None and n_filters != 2 * n_bins:
            raise ValueError(f"n_filters must be 2 * n_bins = {2 * n_bins}, got {n_filters}")
        q = float(filter_scale) / (2 ** (1 / bins_per_octave) - 1)
        kernels, frame, lengths, freqs = create_cqt_kernels(
            q, sample_rate, fmin, n_bins, bins_per_octave, norm, "hann", None
        )
        if kernel_size is not None and kernel_size != frame:
            raise ValueError(
                f"kernel_size={kernel_size} does not match the CQT kernel frame {frame} implied by "
                f"fmin={fmin}, filter_scale={filter_scale} and sample_rate={sample_rate}"
            )
        stride = DEFAULT_STRIDE if stride is None else stride
        super().__init__(2 * n_bins, int(frame), stride=stride, sample_rate=sample_rate)
        self.n_feats_out = n_bins
        self.n_bins = n_bins
        self.bins_per_octave = bins_per_octave
        self.fmin = fmin
        self.filter_scale = filter_scale
        self.norm = norm
        self.group_size = group_size
        self.frequencies = np.asarray(freqs)
        # nnAudio correlates with conj(kernel); storing -imag makes the stacked rows a plain filter.
        stacked = np.concatenate([kernels.real, -kernels.imag]).astype(np.float32)
        # Derived from the config: kept out of state_dicts (25 MB of a 33 MB checkpoint otherwise).
        self.register_buffer("_filters", torch.from_numpy(stacked).unsqueeze(1), persistent=False)
        self.register_buffer("lengths", lengths.float(), persistent=False)
        self._groups = self._support_groups(kernels)

    @property
    def min_samples(self) -> int:
        """Shortest accepted input: reflect padding needs more than ``kernel_size // 2``."""
        return self.kernel_size // 2 + 1

    def _support_groups(self, kernels: np.ndarray) -> list:
        """Splits bins into groups of ``group_size`` with the span of their non-zero taps."""
        nonzero = np.abs(kernels) > 0
        groups = []
        for first in range(0, self.n_bins, self.group_size):
            rows = nonzero[first : first + self.group_size].any(axis=0)
            taps = np.flatnonzero(rows)
            groups.append((first, min(first + self.group_size, self.n_bins), taps[0], taps[-1] + 1))
        return groups

    def filters(self) -> torch.Tensor:
        return self._filters

    def pre_analysis(self, wav: torch.Tensor) -> torch.Tensor:
        pad = self.kernel_size // 2
        if wav.shape[-1] <= pad:
            raise ValueError(
                f"CQT input needs more than {pad} samples ({pad / self.sample_rate:.3f} s) for "
                f"its reflect padding, got {wav.shape[-1]}"
            )
        return reflect_pad_time(wav, pad)

    def post_analysis(self, spec: torch.Tensor) -> torch.Tensor:
        return stacked_magnitude(spec, self.n_bins) * torch.sqrt(self.lengths).unsqueeze(-1)

    def analysis(self, wav: torch.Tensor) -> torch.Tensor:
        """CQT magnitude with each group of bins convolved over its own support only.

        Numerically the same as ``Encoder(self)(wav)`` (up to float summation order) at a
        fraction of the multiply-adds.

        Args:
            wav (torch.Tensor): waveform.

        Returns:
            torch.Tensor: CQT magnitude.

        Shape:
            - Input: :math:`(batch, time)`
            - Output: :math:`(batch, n\\_bins, time // hop + 1)`
        """
        n_frames = wav.shape[-1] // self.stride + 1
        padded = self.pre_analysis(wav.unsqueeze(1))
        kernels = self._filters.to(padded.dtype)
        n = self.n_bins
        outputs = []
        for first, last, start, stop in self._groups:
            rows = torch.cat(
                (kernels[first:last, :, start:stop], kernels[n + first : n + last, :, start:stop])
            )
            out = torch.nn.functional.conv1d(padded[..., start:], rows, stride=self.stride)
            outputs.append(out[..., :n_frames])
        spec = torch.cat(
            [o[:, : o.shape[1] // 2] for o in outputs] + [o[:, o.shape[1] // 2 :] for o in outputs],
            dim=1,
        )
        return self.post_analysis(spec)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            n_bins=self.n_bins,
            bins_per_octave=self.bins_per_octave,
            fmin=self.fmin,
            filter_scale=self.filter_scale,
            norm=self.norm,
            group_size=self.group_size,
        )
        return config
