"""Stage 4: stem retrieval of every trained model and the no-learning baselines, on fixed lists.

For each dataset, the test lists of every protocol are merged into one table of unique clips,
each clip is loaded and embedded once per model, and every query is scored against its true
positive and its K-1 distractors (K = 8, 16, 64), plus the reference's in-batch protocol on the
other-track queries. PHALAR-family models are scored with the symmetric form (s_H) and the plain
training form; COCOLA with both too (its headline uses the form named in its conf).

Writes ``<out_dir>/final_metrics.json``, ``<out_dir>/results.md``,
``<out_dir>/accuracy_vs_k.png`` and each model's own ``<exp_dir>/final_metrics.json``.

Embeddings are kept in ``<out_dir>/embeddings/<dataset>/<label>.pt``, keyed by the clip table
and the scorer (a model's checkpoint bytes), so a rerun with one more model embeds only that one.
"""

import argparse
import glob
import hashlib
import json
import os
import sys

import numpy as np
import torch

from phalar_asteroid.data.datasets import Manifest
from phalar_asteroid.data.retrieval_lists import load_candidate, load_lists
from phalar_asteroid.eval.baselines import BASELINES
from phalar_asteroid.eval.retrieval import (
    ModelScorer,
    embed_clips,
    evaluate_in_batch,
    evaluate_list,
    paired_comparison,
)
from phalar_asteroid.inference.model import load_model
from phalar_asteroid.utils.config import load_conf
from phalar_asteroid.utils.io import atomic_output, write_json

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from local.report import write_plot, write_table  # noqa: E402

#: Training facts copied from each experiment's train_summary.json into the report.
SUMMARY_KEYS = (
    "global_step",
    "train_seconds",
    "seconds_to_target",
    "steps_to_target",
    "target_val_acc",
    "n_parameters",
)

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--exp_dirs", default="exp/train_*", help="Comma-separated dirs or globs")
parser.add_argument("--data_dir", default="data")
parser.add_argument("--datasets", required=True, help="Comma-separated dataset names")
parser.add_argument("--protocols", default="other-track,same-track")
parser.add_argument("--baselines", default="onset_corr,chroma_corr")
parser.add_argument("--out_dir", required=True)
parser.add_argument("--use_gpu", type=int, default=0)
parser.add_argument("--batch_size", type=int, default=32)


def experiment_dirs(spec: str) -> list:
    """Experiment folders holding a ``best_model.pth``, sorted."""
    found = set()
    for pattern in filter(None, spec.split(",")):
        for path in glob.glob(pattern):
            if os.path.isfile(os.path.join(path, "best_model.pth")):
                found.add(os.path.normpath(path))
    return sorted(found)


def load_experiment(exp_dir: str, device: str):
    """The trained model of an experiment (loaded as everywhere: ``inference.load_model``) and
    its headline scoring form."""
    loaded = load_model(os.path.join(exp_dir, "best_model.pth"), device)
    conf = load_conf(os.path.join(exp_dir, "conf.yml"))
    return loaded, bool(conf["similarity"]["eval_symmetric"])


def clip_table(lists_by_protocol: dict) -> tuple:
    """Unique clips of several lists of one split, and each list's candidate -> clip map."""
    keys, index, maps = [], {}, {}
    for protocol, lists in lists_by_protocol.items():
        rows = []
        for cand in lists["candidates"]:
            key = (cand["track_id"], round(cand["offset"], 6), tuple(cand["stems"]))
            if key not in index:
                index[key] = len(keys)
                keys.append(cand)
            rows.append(index[key])
        maps[protocol] = np.asarray(rows)
    return keys, maps


def paired_tests(results: dict, headline: dict, learned: list) -> list:
    """McNemar comparisons of every learned model against every other system, same queries.

    Each model is taken in its headline form; a pair of learned models is compared once.

    Returns:
        list of dict: ``a``, ``b``, ``dataset``, ``protocol``, ``k`` and the fields of
        :func:`~phalar_asteroid.eval.retrieval.paired_comparison`.
    """
    labels = list(results)
    rows = []
    for i, a in enumerate(labels):
        if a not in learned:
            continue
        for b in labels:
            if b == a or (b in learned and labels.index(b) < i):
                continue
            cells_a, cells_b = results[a][headline[a]], results[b][headline[b]]
            for dataset in sorted(set(cells_a) & set(cells_b)):
                for protocol in sorted(set(cells_a[dataset]) & set(cells_b[dataset])):
                    if protocol == "in-batch":
                        continue
                    for k, cell in cells_a[dataset][protocol].items():
                        other = cells_b[dataset][protocol].get(k)
                        if other is None:
                            continue
                        stats = paired_comparison(cell["hits"], other["hits"])
                        rows.append(dict(a=a, b=b, dataset=dataset, protocol=protocol, k=int(k)))
                        rows[-1].update(stats)
    return rows


def clips_fingerprint(clips: list, seconds: float, sample_rate: int) -> str:
    """Digest of a clip table: the same clips, length and rate give the same embeddings."""
    text = json.dumps({"clips": clips, "seconds": seconds, "rate": sample_rate}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def cached_embeddings(path: str, clips_key: str, scorer_key: str):
    """``(embeddings, seconds)`` saved for exactly these clips and scorer, else None."""
    if not os.path.isfile(path):
        return None
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if saved["clips"] != clips_key or saved["scorer"] != scorer_key:
        return None
    return saved["embeddings"], float(saved["seconds"])


def save_embeddings(path: str, embeddings, seconds: float, clips_key: str, scorer_key: str):
    """Writes the cache entry under a temporary name, then renames it."""
    entry = {"clips": clips_key, "scorer": scorer_key, "embeddings": embeddings, "seconds": seconds}
    with atomic_output(path) as tmp:
        torch.save(entry, tmp)


def main(args):
    device = "cuda" if args.use_gpu and torch.cuda.is_available() else "cpu"
    # What produces each scorer's embeddings (its checkpoint's SHA-256, or a baseline's name):
    # the key of the embedding cache.
    scorers, headline, info, fingerprints = {}, {}, {}, {}
    for exp_dir in experiment_dirs(args.exp_dirs):
        label = os.path.basename(exp_dir).removeprefix("train_")
        loaded, symmetric = load_experiment(exp_dir, device)
        scorers[label] = ModelScorer(
            loaded.model, symmetric=True, batch_size=args.batch_size, device=device
        )
        headline[label] = "sym" if symmetric else "plain"
        summary_path = os.path.join(exp_dir, "train_summary.json")
        info[label] = {"exp_dir": exp_dir, "model_name": type(loaded.model).__name__}
        fingerprints[label] = loaded.fingerprint
        if os.path.isfile(summary_path):
            with open(summary_path) as fhandle:
                summary = json.load(fhandle)
            info[label].update({k: summary.get(k) for k in SUMMARY_KEYS})
    for name in filter(None, args.baselines.split(",")):
        scorers[name] = BASELINES[name]()
        headline[name] = "plain"
        info[name] = {"model_name": "no learning"}
    if not scorers:
        raise ValueError(f"Nothing to evaluate: no best_model.pth under {args.exp_dirs}")

    results, seconds, n_embedded = {}, {}, 0
    for dataset in filter(None, args.datasets.split(",")):
        lists = {}
        for protocol in filter(None, args.protocols.split(",")):
            path = os.path.join(args.data_dir, "lists", f"{dataset}_test_{protocol}.json")
            if os.path.isfile(path):
                lists[protocol] = load_lists(path)
        if not lists:
            print(f"{dataset}: no test lists in {args.data_dir}/lists, skipped")
            continue
        manifest = Manifest.load(os.path.join(args.data_dir, "manifests", f"{dataset}_test.json"))
        by_id = manifest.by_id()
        first = next(iter(lists.values()))
        clips, maps = clip_table(lists)
        clips_key = clips_fingerprint(clips, first["seconds"], first["sample_rate"])
        keys = {label: fingerprints.get(label, label) for label in scorers}
        paths = {l: os.path.join(args.out_dir, "embeddings", dataset, f"{l}.pt") for l in scorers}
        embeddings, todo = {}, {}
        for label, scorer in scorers.items():
            cached = cached_embeddings(paths[label], clips_key, keys[label])
            if cached is None:
                todo[label] = scorer
            else:
                embeddings[label] = cached[0]
                seconds[label] = seconds.get(label, 0.0) + cached[1]
        if todo:
            spent = {}
            fresh = embed_clips(
                lambda i: load_candidate(by_id, clips[i], first["seconds"], first["sample_rate"]),
                len(clips),
                todo,
                batch_size=args.batch_size,
                desc=f"{dataset}: {len(clips)} clips, {len(todo)} scorers",
                seconds=spent,
            )
            for label, emb in fresh.items():
                save_embeddings(paths[label], emb, spent[label], clips_key, keys[label])
                seconds[label] = seconds.get(label, 0.0) + spent[label]
            embeddings.update(fresh)
        n_embedded += len(clips)
        for label, scorer in scorers.items():
            forms = {"plain": scorer}
            if isinstance(scorer, ModelScorer):
                forms = {"sym": scorer, "plain": scorer.with_form(False)}
            for form, form_scorer in forms.items():
                out = results.setdefault(label, {}).setdefault(form, {}).setdefault(dataset, {})
                for protocol, lst in lists.items():
                    out[protocol] = evaluate_list(
                        form_scorer, embeddings[label], lst, maps[protocol]
                    )
                if "other-track" in lists:
                    out["in-batch"] = evaluate_in_batch(
                        form_scorer,
                        embeddings[label],
                        lists["other-track"],
                        lists["other-track"]["ks"],
                        maps["other-track"],
                    )

    for label, total in seconds.items():
        info[label]["embed_seconds_per_clip"] = total / max(1, n_embedded)
    learned = [label for label in info if "exp_dir" in info[label]]
    final = {
        "headline_form": headline,
        "models": info,
        "results": results,
        "paired": paired_tests(results, headline, learned),
    }
    write_json(final, os.path.join(args.out_dir, "final_metrics.json"), indent=1)
    for label, meta in info.items():
        if "exp_dir" in meta:
            own = {"headline_form": headline[label], "results": results.get(label, {})}
            write_json(own, os.path.join(meta["exp_dir"], "final_metrics.json"), indent=1)
    table = write_table(final, os.path.join(args.out_dir, "results.md"))
    write_plot(final, os.path.join(args.out_dir, "accuracy_vs_k.png"))
    print(table)


if __name__ == "__main__":
    main(parser.parse_args())
