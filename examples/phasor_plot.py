"""The phasor picture: a time shift of the input turns the pooled LSP components on the circle.

Learned Spectral Pooling (docs/model.md#learned-spectral-pooling) projects every backbone frame,
takes an orthonormal DFT over the N frames of a clip and keeps components k = 1..C. Shifting the
frame sequence circularly by s frames multiplies component k by exp(-2πi k s / N): timing is carried
by phase, component k turning k times as fast as component 1. This script shifts a clip circularly
by s = 0..N-1 whole backbone frames (``2**depth`` CQT hops: 0.32 s for PHALAR) and plots, for one
LSP channel, the phase of components k on the unit circle (one ring per k) next to the ideal angles
-2πks/N.

At the backbone's output the shift is only approximately circular: the CQT's reflect padding and
the convolutions' zero padding make the first and last frames differ from the rest whatever the
shift. They add to every coefficient a term that does not turn with the shift, so each coefficient
is ``static_k + A_k exp(-2πiks/N)``. Averaging over the full cycle of N shifts gives ``static_k``,
which is removed; the phase plotted is that of the turning part, measured from ``A_k`` (its value
at s = 0, fitted over all shifts). With an untrained model the static term is large; training
makes the content part dominate.

The turning comes from the DFT, not from training, so an untrained model shows it as well as a
checkpoint: ``--model`` is optional (default: PHALAR's paper configuration with random weights).
The clip is N = 2 (C + 1) + 1 frames long, the LSP's minimum, so no zero padding is involved.

Usage::

    python examples/phasor_plot.py --out phasors.png [--model ckpt.pth] [--audio song.wav]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from phalar_asteroid.data.render import synth_song  # noqa: E402
from phalar_asteroid.inference import load_model  # noqa: E402
from phalar_asteroid.models import PHALAR  # noqa: E402


def load_clip(path, n_samples, sample_rate, seed):
    """``n_samples`` of mono audio: from ``path`` (its start) or a synthetic song."""
    if path is None:
        song = synth_song(np.random.default_rng(seed), n_samples / sample_rate + 0.1, sample_rate)
        return sum(song.values())[:n_samples]
    import torchaudio

    wav, rate = sf.read(path, dtype="float32", always_2d=True)
    wav = torch.from_numpy(wav.mean(axis=1))
    if rate != sample_rate:
        wav = torchaudio.functional.resample(wav, rate, sample_rate)
    if len(wav) < n_samples:
        raise SystemExit(f"{path} is shorter than the {n_samples / sample_rate:.2f} s needed")
    return wav[:n_samples].numpy()


@torch.no_grad()
def pooled_components(model, clips):
    """LSP output of clips ``(B, T)`` as complex ``(B, D, C)``."""
    features = model.backbone(model.spectrogram(torch.as_tensor(clips)).unsqueeze(1))
    pooled = model.pool(features)
    return torch.complex(pooled[:, 0], pooled[:, 1]).numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="phasors.png", help="PNG to write")
    parser.add_argument("--model", help="checkpoint (default: untrained PHALAR)")
    parser.add_argument("--audio", help="audio file (default: a synthetic song)")
    parser.add_argument("--components", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--channel",
        type=int,
        help="LSP channel (default: the one whose coefficients turn most cleanly)",
    )
    parser.add_argument("--show", type=int, default=4, help="shifts plotted (all N are fitted)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    model = PHALAR().eval() if args.model is None else load_model(args.model, "cpu").model
    n_frames = model.pool.min_frames  # N: the DFT length, no padding
    frame = model.backbone.downsampling * model.model_args["hop_length"]  # samples per frame
    sample_rate = int(model.sample_rate)
    # N backbone frames need N * 2**depth CQT frames: (frames - 1) * hop + 1 samples.
    clip = load_clip(
        args.audio, n_frames * frame - model.model_args["hop_length"] + 1, sample_rate, args.seed
    )
    shifts = np.arange(n_frames)
    clips = np.stack([np.roll(clip, s * frame) for s in shifts]).astype(np.float32)
    coeffs = pooled_components(model, clips)  # (shifts, D, C)
    ks = np.asarray(args.components)
    ideal = -2 * np.pi * ks[None, :] * shifts[:, None] / n_frames  # (shifts, len(ks))
    turning = coeffs[:, :, ks - 1] - coeffs[:, :, ks - 1].mean(axis=0)  # static part removed
    reference = np.mean(turning * np.exp(-1j * ideal)[:, None, :], axis=0)  # A_k: (D, len(ks))
    errors = np.abs(np.angle(turning * np.exp(-1j * ideal)[:, None, :] / reference))
    median_error = np.median(errors.mean(axis=0), axis=0)  # over channels, per k
    # Plot the channel whose turning part is most of its shift-dependent power.
    share = np.abs(reference) ** 2 / np.mean(np.abs(turning) ** 2, axis=0)
    channel = int(share.mean(axis=1).argmax()) if args.channel is None else args.channel
    measured = np.angle(turning[:, channel, :] / reference[channel])

    fig = plt.figure(figsize=(6, 6.4))
    ax = fig.add_subplot(projection="polar")
    colors = plt.cm.viridis(np.linspace(0, 0.85, len(ks)))
    shown = shifts[: args.show + 1]
    for i, (k, color) in enumerate(zip(ks, colors)):
        radius = np.full(len(shown), 1.0 - 0.22 * i)
        # Unwrapped, so the lines trace the turn in its direction.
        ax.plot(np.unwrap(ideal[shown, i]), radius, "x--", color="0.55", ms=6, lw=0.8)
        ax.plot(
            np.unwrap(measured[shown, i]), radius, "o-", color=color, ms=5, lw=1.2, label=f"k = {k}"
        )
        for s in shown:
            ax.annotate(
                str(s),
                (measured[s, i], radius[s] + 0.06),
                fontsize=7,
                color=color,
                ha="center",
                va="center",
            )
    ax.set_rticks([])
    ax.set_rmax(1.1)
    ax.set_title(
        f"LSP channel {channel}: phase of component k (one ring per k) when the input is\n"
        f"shifted by s = 0..{shown[-1]} backbone frames (dots, numbered by s); "
        f"crosses: ideal -2πks/{n_frames}",
        fontsize=9,
    )
    ax.legend(loc="lower left", bbox_to_anchor=(-0.12, -0.12), fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    plt.close(fig)
    for k, error, mine in zip(ks, median_error, errors[:, channel].mean(axis=0)):
        print(
            f"component {k}: mean |phase - ideal| {mine:.3f} rad on channel {channel}, "
            f"median over channels {error:.3f} rad"
        )
    print(f"wrote {args.out}")
    return dict(zip(ks.tolist(), median_error.tolist()))


if __name__ == "__main__":
    main()
