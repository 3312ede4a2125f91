"""Stage 2: every model's score of every (mix, stem) item of the items table.

Each item is scored by ``phalar_asteroid.inference.score.PairScorer``: mix and stem trimmed to the
shorter one, cut into the same 10 s windows (5 s hop), and the model's symmetric score averaged
over the aligned windows where both are active (the Hermitian form for PHALAR). Items are scored
in order of their mix, so that a mix shared by several items is embedded once.

Writes ``<out_dir>/<model>.csv`` (``item,score,n_windows``) and ``<out_dir>/<model>.json`` (what
the model is, its fingerprint and that of the items table). A model whose two files exist for the
same model and items is kept; a different model under the same experiment is refused.
"""

import argparse
import csv
import json
import os
import time

from common import model_list, parse_with_conf, pick_device
from scorers import build_scorer
from tqdm import tqdm

from phalar_asteroid.eval.coherence import read_items
from phalar_asteroid.inference.audio import check_audio_file
from phalar_asteroid.inference.score import PairScorer
from phalar_asteroid.utils.io import atomic_output, sha256_file, write_json

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--items", required=True, help="items CSV (item,mix,stem)")
parser.add_argument("--models", default="phalar,cocola,onset_corr,chroma_corr")
parser.add_argument("--model_path", default="phalar-embedded", help="PHALAR checkpoint or name")
parser.add_argument("--cocola_path", default="", help="COCOLA checkpoint; empty: untrained")
parser.add_argument("--out_dir", required=True, help="Where the score tables go")
parser.add_argument("--use_gpu", type=int, default=1)


def stored_info(path: str):
    """The info of a finished score table, or None."""
    if not (os.path.isfile(path) and os.path.isfile(path[: -len(".json")] + ".csv")):
        return None
    with open(path) as fhandle:
        return json.load(fhandle)


def score_items(model, items: dict, batch_size: int, name: str) -> list:
    """``(item, score, n_windows)`` of every item, in table order.

    Raises:
        ValueError: an item that cannot be scored, named with its files.
    """
    scorer, scores = PairScorer(model, batch_size=batch_size), {}
    by_mix = sorted(items, key=lambda item: items[item][0])
    for item in tqdm(by_mix, desc=name, unit="item"):
        mix, stem = items[item]
        try:
            scored = scorer(mix, stem)
        except ValueError as err:
            raise ValueError(f"item {item!r}: {err}") from None
        scores[item] = (item, f"{scored.score:.6g}", scored.n_windows)
    return [scores[item] for item in items]


def main(conf):
    args = conf["main_args"]
    items = read_items(args["items"])
    for mix, stem in items.values():  # every file, before any model is loaded
        check_audio_file(mix)
        check_audio_file(stem)
    items_sha = sha256_file(args["items"])
    device = pick_device(bool(args["use_gpu"]))
    for name in model_list(args["models"]):
        model, info = build_scorer(
            name, args["model_path"], args["cocola_path"], conf["scoring"]["cocola_seed"], device
        )
        info = {
            **info,
            "model": name,
            "items": os.path.abspath(args["items"]),
            "items_sha256": items_sha,
        }
        table = os.path.join(args["out_dir"], f"{name}.csv")
        stored = stored_info(table[: -len(".csv")] + ".json")
        if stored is not None:
            if stored["fingerprint"] != info["fingerprint"]:
                raise ValueError(
                    f"{table} holds the scores of {stored['source']}, not {info['source']}: "
                    "give this model its own --tag"
                )
            if stored["items_sha256"] == items_sha:
                print(f"{name}: {table} kept ({info['source']})")
                continue
        tic = time.perf_counter()
        rows = score_items(model, items, conf["scoring"]["batch_size"], name)
        seconds = time.perf_counter() - tic
        with atomic_output(table) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as fhandle:
                writer = csv.writer(fhandle)
                writer.writerow(("item", "score", "n_windows"))
                writer.writerows(rows)
        write_json(
            {**info, "seconds": seconds, "device": str(device)}, table[:-4] + ".json", indent=1
        )
        print(f"{name}: {len(rows)} items scored in {seconds:.1f} s ({info['source']})")


if __name__ == "__main__":
    main(parse_with_conf(parser))
