"""Stage 4: PHALAR zero-shot beats (docs/protocols.md#beat-tracking).

1. Embed the metronome templates in one spectrogram batch (cached in ``<exp_dir>/templates.npz``).
2. For every track: one CQT, sliding 4.8 s windows every 20 ms through the encoder
   (``inference.FrameEmbedder``), the template × window Hermitian similarity map, its onset
   envelope (``<exp_dir>/envelopes/<track_id>.npz``).
3. Decode the envelope with librosa's DP tracker (``phalar_dp``, as the paper) and madmom's DBN
   (``phalar_dbn``), adding the templates' first-click time: ``<exp_dir>/beats/<system>/``.

Tracks already done are skipped. The encoder throughput (windows per second, embedding only) is
printed and written to ``<exp_dir>/throughput.json``.
"""

import argparse
import os

import numpy as np
import torch
from common import (
    PHALAR_SYSTEMS,
    beats_file,
    load_manifest,
    load_mix,
    parse_with_conf,
    pick_device,
    write_beat_times,
)
from tqdm import tqdm

from phalar_asteroid.eval.beat import dbn_beats, dp_beats, onset_envelope, similarity_map
from phalar_asteroid.eval.templates import embed_templates, load_templates, template_bpms
from phalar_asteroid.inference.frames import FrameEmbedder
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.utils.io import atomic_output

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--manifest", required=True)
parser.add_argument("--templates_dir", required=True)
parser.add_argument("--model_path", required=True, help="best_model.pth of a PHALAR experiment")
parser.add_argument("--exp_dir", required=True)
parser.add_argument("--use_gpu", type=int, default=1)


def template_embeddings(model, model_path, conf, templates_dir, cache) -> torch.Tensor:
    """The templates' embeddings, computed once per experiment and cached as ``.npz``.

    The cache records the model file, so that an experiment folder never mixes two models.
    """
    bpms = np.array(template_bpms(conf["templates"]["bpm_min"], conf["templates"]["bpm_max"]))
    model_path = os.path.abspath(model_path)
    if os.path.isfile(cache):
        stored = np.load(cache)
        if str(stored["model_path"]) != model_path:
            raise ValueError(
                f"{cache} was made with {stored['model_path']}, not {model_path}: "
                "give this model its own --tag"
            )
        if np.array_equal(stored["bpms"], bpms):
            return torch.from_numpy(stored["embeddings"])
    embeddings = embed_templates(model, load_templates(templates_dir, bpms))
    with atomic_output(cache) as tmp:
        with open(tmp, "wb") as fhandle:
            np.savez(fhandle, bpms=bpms, embeddings=embeddings.numpy(), model_path=model_path)
    return embeddings


def main(conf):
    args, win, env = conf["main_args"], conf["windows"], conf["envelope"]
    device = pick_device(bool(args["use_gpu"]))
    model = load_model(args["model_path"], device).model
    sample_rate = int(model.sample_rate)
    embedder = FrameEmbedder(model, win["window_seconds"], win["hop_seconds"], win["batch_size"])
    fps = 1.0 / embedder.frame_period
    offset = conf["templates"]["first_click"]
    exp_dir = args["exp_dir"]
    templates = template_embeddings(
        model,
        args["model_path"],
        conf,
        args["templates_dir"],
        os.path.join(exp_dir, "templates.npz"),
    )
    done = 0
    for track in tqdm(load_manifest(args["manifest"]), desc="PHALAR beats"):
        track_id = track["track_id"]
        envelope_path = os.path.join(exp_dir, "envelopes", f"{track_id}.npz")
        outputs = [beats_file(os.path.join(exp_dir, "beats"), s, track_id) for s in PHALAR_SYSTEMS]
        if os.path.isfile(envelope_path) and all(os.path.isfile(p) for p in outputs):
            continue
        try:
            frames = embedder(load_mix(track, sample_rate))
        except ValueError as err:  # e.g. shorter than one window: no envelope, no beats
            print(f"{track_id}: {err}")
            envelope = np.zeros(0)
        else:
            envelope = onset_envelope(
                similarity_map(model, templates, frames), env["n_sigma"], env["min_count"]
            )
        with atomic_output(envelope_path) as tmp:
            with open(tmp, "wb") as fhandle:
                np.savez(fhandle, envelope=envelope, fps=fps, offset=offset)
        decoded = {
            "phalar_dp": dp_beats(envelope, fps, offset, sample_rate) if envelope.size else [],
            "phalar_dbn": dbn_beats(envelope, fps, offset, env["dbn_floor"]),
        }
        for system, path in zip(PHALAR_SYSTEMS, outputs):
            write_beat_times(path, decoded[system])
        done += 1
    embedder.report_throughput(os.path.join(exp_dir, "throughput.json"))
    print(f"PHALAR beats in {exp_dir}/beats ({done} new tracks)")


if __name__ == "__main__":
    main(parse_with_conf(parser))
