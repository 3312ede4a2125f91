"""StemCoherence of true, delayed and other-track stems on rendered test-split tracks.

Each stem active in every window of a track is held out against the sum of the other stems;
the same stem delayed by 1/4, 1/2 and 1 beat, and the same-numbered stem of the next track,
are scored against the same mix. Prints the metric's summary per condition and paired
differences (bootstrap 95 % interval, Wilcoxon p, pairs won); docs/metrics.md reports a run.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/stem_coherence_shifts.py [MODEL [TRACKS [SECONDS [OUT]]]]
    # docs/metrics.md: ... phalar-embedded 8 15 out.json (the defaults, plus a JSON file)
"""

import json
import sys
import time

import numpy as np
import scipy.stats
import torch

from phalar_asteroid.data.render.plan import plan_tracks
from phalar_asteroid.data.render.track import render_track
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.metrics import StemCoherence
from phalar_asteroid.inference.audio import frame_windows
from phalar_asteroid.data.silence import SILENCE_DB, rms_db

torch.set_num_threads(1)
# Positional arguments, all optional: model, tracks per flavour, seconds, output JSON.
args = sys.argv[1:] + ["phalar-embedded", "8", "15", ""][len(sys.argv) - 1 :]
model_path, n_per_flavour, seconds, out = args[0], int(args[1]), float(args[2]), args[3]
SR = 16000
loaded = load_model(model_path, device="cpu")
SHIFTS = (0.25, 0.5, 1.0)  # in beats
results = {"model_sha256": loaded.fingerprint, "seconds": seconds}
for flavour in ("chorale", "band"):
    plans = [p for p in plan_tracks(200, 11, flavour) if p.split == "test"][:n_per_flavour]
    t = time.time()
    tracks = []
    for p in plans:
        tr = render_track(p, max_seconds=seconds)
        stems = [torch.from_numpy(s.audio.astype(np.float32) / 32768) for s in tr.stems]
        # Stems active in every window (a voice entering at the excerpt's end would fall silent
        # once delayed); the mixes still sum every stem but the held-out one.
        active = [bool((rms_db(frame_windows(s.numpy(), SR)) >= SILENCE_DB).all()) for s in stems]
        stems = (stems, active)
        tracks.append((p.piece, stems, 60.0 / tr.tempo * tr.beat_unit))
    print(
        flavour,
        "rendered",
        len(tracks),
        round(time.time() - t),
        "s",
        [t_[0] for t_ in tracks],
        flush=True,
    )
    conds = {"true": StemCoherence(SR, loaded)}
    conds.update({f"late_{f}_beat": StemCoherence(SR, loaded) for f in SHIFTS})
    conds["other_track"] = StemCoherence(SR, loaded)
    for i, (_, (all_stems, active), beat) in enumerate(tracks):
        o_stems, o_active = tracks[(i + 1) % len(tracks)][1]
        others = [s for s, a in zip(o_stems, o_active) if a]
        keep = [k for k in range(len(all_stems)) if active[k]]
        stems = [all_stems[k] for k in keep]
        mixes = torch.stack([sum(all_stems[:k] + all_stems[k + 1 :]) for k in keep])
        conds["true"].update(mixes, torch.stack(stems))
        for f in SHIFTS:
            late = round(f * beat * SR)
            conds[f"late_{f}_beat"].update(
                mixes, torch.stack([torch.cat((torch.zeros(late), s[:-late])) for s in stems])
            )
        conds["other_track"].update(
            mixes, torch.stack([others[k % len(others)] for k in range(len(stems))])
        )
    scores = {k: torch.cat(m.scores).numpy() for k, m in conds.items()}
    res = {k: {kk: round(vv.item(), 4) for kk, vv in m.compute().items()} for k, m in conds.items()}
    paired = {}
    for a, b in [
        ("true", "late_0.5_beat"),
        ("late_0.5_beat", "other_track"),
        ("true", "other_track"),
        ("true", "late_0.25_beat"),
        ("late_0.25_beat", "other_track"),
        ("late_1.0_beat", "other_track"),
    ]:
        d = scores[a] - scores[b]
        boot = scipy.stats.bootstrap((d,), np.mean, n_resamples=10000, random_state=0)
        paired[f"{a} - {b}"] = dict(
            mean=round(float(d.mean()), 3),
            ci95=[round(float(x), 3) for x in boot.confidence_interval],
            wilcoxon_p=float(scipy.stats.wilcoxon(d).pvalue),
            wins=int((d > 0).sum()),
            n=len(d),
        )
    results[flavour] = dict(
        tracks=[t_[0] for t_ in tracks],
        summary=res,
        paired=paired,
        scores={k: v.round(4).tolist() for k, v in scores.items()},
    )
    print(
        json.dumps({k: v for k, v in results[flavour].items() if k != "scores"}, indent=1),
        flush=True,
    )
if out:
    with open(out, "w") as fhandle:
        json.dump(results, fhandle, indent=1)
