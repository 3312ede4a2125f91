"""Stage 4: PHALAR zero-shot beats (docs/protocols.md#beat-tracking).

1. Embed the metronome templates in one spectrogram batch (cached in ``<exp_dir>/templates.npz``).
2. For every track: one CQT, sliding 4.8 s windows every 20 ms through the encoder
   (``inference.FrameEmbedder``), the template × window Hermitian similarity map
   (``<exp_dir>/similarity/<track_id>.npz``, float32, so that decoder and envelope variants never
   re-run the encoder: ``local/variants.py``), its onset envelope
   (``<exp_dir>/envelopes/<track_id>.npz``).
3. Decode the envelope with librosa's DP tracker (``phalar_dp``, as the paper) and madmom's DBN
   (``phalar_dbn``) with the conf's ``decoder`` settings (library defaults unless changed),
   adding the templates' first-click time: ``<exp_dir>/beats/<system>/``.

Tracks already done are skipped; the splits are taken in turn (valid, test, valid, ...). The encoder throughput (windows per second, embedding only) is
printed and written to ``<exp_dir>/throughput.json``.
"""

import argparse
import itertools
import os

import numpy as np
import torch
from common import (
    PHALAR_SYSTEMS,
    beats_file,
    load_manifest,
    load_mix,
    parse_with_conf,
    phalar_decode,
    phalar_envelope,
    pick_device,
    write_beat_times,
)
from tqdm import tqdm

from phalar_asteroid.eval.beat import similarity_map
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


def interleave_splits(tracks) -> list:
    """Tracks taken in turn from each split (valid, test, valid, ...), keeping each split's order.

    An interrupted run then holds tracks of every split, enough to choose a decoder variant on
    one split and report it on another (``local/variants.py``).
    """
    by_split = {}
    for track in tracks:
        by_split.setdefault(track.get("split", ""), []).append(track)
    rounds = itertools.zip_longest(*by_split.values())
    return [track for group in rounds for track in group if track is not None]


def main(conf):
    args, win, env, dec = conf["main_args"], conf["windows"], conf["envelope"], conf["decoder"]
    device = pick_device(bool(args["use_gpu"]))
    model = load_model(args["model_path"], device).model
    sample_rate = int(model.sample_rate)
    embedder = FrameEmbedder(model, win["window_seconds"], win["hop_seconds"], win["batch_size"])
    fps = 1.0 / embedder.frame_period
    offset = conf["templates"]["first_click"]
    exp_dir = args["exp_dir"]
    bpms = template_bpms(conf["templates"]["bpm_min"], conf["templates"]["bpm_max"])
    templates = template_embeddings(
        model,
        args["model_path"],
        conf,
        args["templates_dir"],
        os.path.join(exp_dir, "templates.npz"),
    )
    done = 0
    for track in tqdm(interleave_splits(load_manifest(args["manifest"])), desc="PHALAR beats"):
        track_id = track["track_id"]
        envelope_path = os.path.join(exp_dir, "envelopes", f"{track_id}.npz")
        similarity_path = os.path.join(exp_dir, "similarity", f"{track_id}.npz")
        outputs = [beats_file(os.path.join(exp_dir, "beats"), s, track_id) for s in PHALAR_SYSTEMS]
        if all(os.path.isfile(p) for p in [envelope_path, similarity_path] + outputs):
            continue
        try:
            wav = load_mix(track, sample_rate)
            duration = len(wav) / sample_rate
            frames = embedder(wav)
        except ValueError as err:  # e.g. shorter than one window: no envelope, no beats
            print(f"{track_id}: {err}")
            similarity, duration = np.zeros((len(templates), 0)), 0.0
        else:
            similarity = similarity_map(model, templates, frames)
        envelope = phalar_envelope(similarity, bpms, fps, env)
        with atomic_output(similarity_path) as tmp:
            with open(tmp, "wb") as fhandle:
                np.savez(
                    fhandle,
                    similarity=similarity.astype(np.float32),  # exact: the model scores in float32
                    bpms=np.asarray(bpms),
                    fps=fps,
                    offset=offset,
                    duration=duration,
                )
        with atomic_output(envelope_path) as tmp:
            with open(tmp, "wb") as fhandle:
                np.savez(fhandle, envelope=envelope, fps=fps, offset=offset)
        for system, path in zip(PHALAR_SYSTEMS, outputs):
            decoder = system.split("_")[-1]  # phalar_dp, phalar_dbn
            beats = phalar_decode(envelope, fps, offset, dec, decoder, duration)
            write_beat_times(path, beats)
        done += 1
    embedder.report_throughput(os.path.join(exp_dir, "throughput.json"))
    print(f"PHALAR beats in {exp_dir}/beats ({done} new tracks)")


if __name__ == "__main__":
    main(parse_with_conf(parser))
