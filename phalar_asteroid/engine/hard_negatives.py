"""Negatives that keep the rhythm and break the harmony, and the schedule that ramps them in.

In-batch negatives come from other tracks, so tempo and beat phase alone separate them from the
positive. Two harder kinds make the loss depend on harmony:

* same-track negatives (drawn by the data: the positive's own stems at other bars);
* transposed negatives: the positive moved up by 1 to 11 semitones. On a log-frequency
  spectrogram with a whole number of bins per semitone this is a shift along frequency, so it
  costs no audio processing; rhythm, timbre envelope and beat phase are untouched.
"""

import torch


def transpose_up(spec: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """Shift each scaled spectrogram up in frequency by its own number of bins.

    Upward only: the vacated lowest bins (below about 30 Hz on the default CQT, where rendered
    and recorded music rarely has energy) take the floor value 0 of :class:`DecibelScaling`,
    whereas a downward shift would leave a tell-tale empty band at the top of the spectrum.

    Args:
        spec (torch.Tensor): scaled spectrograms, floor at 0.
        bins (torch.Tensor): integer shifts, one per spectrogram, each in ``[0, n_bins)``.

    Returns:
        torch.Tensor: the shifted spectrograms; the top ``bins`` bins of each are dropped.

    Shape:
        - spec: :math:`(batch, n\\_bins, frames)`
        - bins: :math:`(batch,)`
        - output: :math:`(batch, n\\_bins, frames)`
    """
    n_bins = spec.shape[1]
    if len(bins) != len(spec):
        raise ValueError(f"{len(bins)} shifts for {len(spec)} spectrograms")
    if len(bins) and (int(bins.min()) < 0 or int(bins.max()) >= n_bins):
        raise ValueError(f"shifts must lie in [0, {n_bins}), got {bins.tolist()}")
    source = torch.arange(n_bins, device=spec.device)[None, :] - bins.to(spec.device)[:, None]
    index = source.clamp(min=0)[:, :, None].expand(-1, -1, spec.shape[2])
    shifted = spec.gather(1, index)
    return shifted * (source >= 0)[:, :, None].to(spec.dtype)


class HardNegativeSchedule:
    """Share of the hard negatives in use at a training step: 0, then a linear ramp to 1.

    Args:
        start_step (int): last step with in-batch negatives only.
        ramp_steps (int): steps of the linear ramp after ``start_step``; 0 switches at once.
    """

    def __init__(self, start_step: int = 0, ramp_steps: int = 0):
        if start_step < 0 or ramp_steps < 0:
            raise ValueError(
                f"start_step and ramp_steps must be >= 0, got {start_step} and {ramp_steps}"
            )
        self.start_step = start_step
        self.ramp_steps = ramp_steps

    def weight(self, step: int) -> float:
        """Share in ``[0, 1]`` at ``step`` (0 up to ``start_step`` included)."""
        if step <= self.start_step:
            return 0.0 if self.start_step > 0 or self.ramp_steps > 0 else 1.0
        if self.ramp_steps == 0:
            return 1.0
        return min(1.0, (step - self.start_step) / self.ramp_steps)
