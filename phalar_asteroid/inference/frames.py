"""Frame embeddings of whole tracks for the downstream tasks (zero-shot beats, chord probing).

Frame ``i`` of a track is the PHALAR embedding of the window that starts at ``i * hop_seconds``
(4.8 s windows every 20 ms by default), all cut from one spectrogram of the track
(:meth:`~phalar_asteroid.models.phalar.PHALAR.embed_windows`). :class:`FrameEmbedder` also
times the encoder, so that every recipe reports its throughput the same way.
"""

import time

import torch

from ..utils.io import write_json


class FrameEmbedder:
    """Sliding-window embeddings of whole tracks with a PHALAR model, timed.

    Args:
        model (PHALAR): in eval mode, on its device.
        window_seconds (float): window length, a whole number of the model's hops.
        hop_seconds (float): frame period, a whole number of the model's hops.
        batch_size (int): windows per backbone call.

    Raises:
        ValueError: a model without a spectrogram front end (COCOLA), or a window or hop that is
            not a whole number of the model's hops.
    """

    def __init__(self, model, window_seconds: float, hop_seconds: float, batch_size: int = 64):
        if not hasattr(model, "embed_windows"):
            raise ValueError(
                f"{type(model).__name__} has no sliding-window embedding: frame embeddings need "
                "a PHALAR model"
            )
        self.model = model
        self.window_frames = model.frames(window_seconds, "window_seconds")
        self.hop_frames = model.frames(hop_seconds, "hop_seconds")
        self.frame_period = float(hop_seconds)
        self.batch_size = int(batch_size)
        self.n_windows = 0
        self.seconds = 0.0

    @property
    def device(self) -> torch.device:
        """Where the model runs."""
        return next(self.model.parameters()).device

    def __call__(self, wav) -> torch.Tensor:
        """Frame embeddings of one track.

        Args:
            wav (np.ndarray or torch.Tensor): mono waveform ``(time,)`` at the model's rate.

        Returns:
            torch.Tensor: ``(n_frames, dim)`` on the CPU, complex64 for complex models.

        Raises:
            ValueError: the track is shorter than one window.
        """
        wav = torch.as_tensor(wav)
        start = time.perf_counter()
        frames = self.model.embed_windows(wav, self.window_frames, self.hop_frames, self.batch_size)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - start
        self.n_windows += len(frames)
        return frames.cpu()

    def throughput(self) -> dict:
        """Windows embedded, seconds spent in the encoder, and their ratio, so far."""
        return {
            "windows": self.n_windows,
            "seconds": self.seconds,
            "windows_per_second": self.n_windows / self.seconds if self.seconds else 0.0,
            "device": str(self.device),
            "torch_threads": torch.get_num_threads(),
        }

    def report_throughput(self, path: str) -> None:
        """Prints the throughput and writes it as JSON to ``path`` (nothing when idle)."""
        if not self.n_windows:
            return
        stats = self.throughput()
        print(
            f"Encoder throughput: {stats['windows_per_second']:.1f} windows/s "
            f"({self.n_windows} windows, {self.device.type})"
        )
        write_json(stats, path, indent=1)
