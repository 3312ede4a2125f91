"""Stage 3: correlation of every model's scores with the ratings, intervals and paired tests.

Ratings are read from the ``listener,item,rating`` table (checked against the Likert scale), a
listener with one rating for everything is dropped with a warning (or refused), items of the
items table that nobody rated are left out (named), and
:func:`phalar_asteroid.eval.coherence.correlate_models` gives each model's Pearson and Spearman
correlation with the mean per-listener z-rating, crossed (listener x item) bootstrap intervals and
the paired tests of the reference model (PHALAR) against every other one. With ``--simulated 1``
(the demo) the simulated listeners' own ``fit`` column is correlated too, as an oracle ceiling,
and every output says that the ratings are simulated. When the items table has a ``condition``
column (e.g. true stem / system A / system B), the mean target and the mean score of every model
per condition are given too, each z-scored over all items.

Writes ``<exp_dir>/results.json``, ``<exp_dir>/per_item.csv`` (item, ratings, mean z-rating,
every model's score) and ``<exp_dir>/summary.md``.
"""

import argparse
import csv
import json
import os
import warnings

import numpy as np
from common import SIMULATED_NOTE, model_list, parse_with_conf

from phalar_asteroid.eval.coherence import (
    correlate_models,
    drop_constant_listeners,
    item_targets,
    read_items,
    read_ratings,
)
from phalar_asteroid.utils.io import atomic_output, to_jsonable, write_json

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--ratings", required=True, help="ratings CSV (listener,item,rating)")
parser.add_argument("--items", required=True, help="items CSV (item,mix,stem)")
parser.add_argument("--models", default="phalar,cocola,onset_corr,chroma_corr")
parser.add_argument("--scores_dir", required=True, help="Stage 2's score tables")
parser.add_argument("--exp_dir", required=True)
parser.add_argument("--simulated", type=int, default=0, help="1: the ratings are simulated")

#: What each model is called in the summary.
LABELS = {
    "phalar": "PHALAR",
    "cocola": "COCOLA",
    "onset_corr": "onset correlation (no learning)",
    "chroma_corr": "chroma correlation (no learning)",
    "oracle": "simulated listeners' fit (oracle ceiling)",
}


def read_scores(scores_dir: str, name: str, items) -> tuple:
    """A model's scores of ``items`` (in that order) and the info of stage 2."""
    table = os.path.join(scores_dir, f"{name}.csv")
    if not os.path.isfile(table):
        raise FileNotFoundError(f"Missing {table}: run stage 2 with --models including {name}")
    with open(table, newline="") as fhandle:
        scores = {row["item"]: float(row["score"]) for row in csv.DictReader(fhandle)}
    missing = [item for item in items if item not in scores]
    if missing:
        raise ValueError(f"{table}: no score of item(s) {missing[:5]}: run stage 2 again")
    with open(table[: -len(".csv")] + ".json") as fhandle:
        info = json.load(fhandle)
    return np.array([scores[item] for item in items]), info


def item_column(items_path: str, column: str, items) -> list:
    """One extra column of the items table for ``items``, or None when the table has none."""
    with open(items_path, newline="", encoding="utf-8-sig") as fhandle:
        rows = {row["item"]: row.get(column) for row in csv.DictReader(fhandle)}
    values = [rows[item] for item in items]
    return None if any(v is None for v in values) else values


def condition_means(conditions: list, columns: dict) -> dict:
    """Mean of each column, z-scored over all items, per condition (in order of appearance).

    Puts targets and scores on one scale, so that a table shows which conditions a model ranks
    as the listeners do.
    """
    labels = np.array(conditions)
    # A constant column (an untrained model) is all zeros, not its rounding noise blown up.
    z = {n: (v - v.mean()) / (v.std() if np.ptp(v) > 0 else np.inf) for n, v in columns.items()}
    return {
        c: {
            "n_items": int(np.sum(labels == c)),
            **{n: float(v[labels == c].mean()) for n, v in z.items()},
        }
        for c in dict.fromkeys(conditions)
    }


def print_warnings(caught) -> None:
    for warning in caught:
        print(f"warning: {warning.message}")


def interval(value, ci) -> str:
    if not np.isfinite(value):
        return "undefined (constant scores)"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def p_text(p: float) -> str:
    return f"{p:.4f}" if np.isfinite(p) else "–"


def summary_lines(report: dict, info: dict, oracle: dict, simulated: bool, conditions) -> list:
    """The markdown summary: one row per model, the paired tests, the per-condition means."""
    level = round(100 * report["level"])
    lines = []
    if simulated:
        lines += [f"**{SIMULATED_NOTE}.**", ""]
    lines += [
        f"{report['n_items']} items, {report['n_ratings']} ratings by {report['n_listeners']} "
        f"listeners; ratings z-scored per listener, averaged per item; {level} % bias-corrected "
        f"percentile intervals from {report['n_resamples']} crossed bootstrap resamples (listeners and "
        f"items drawn with replacement, seed {report['seed']}).",
        "",
        f"| model | Pearson r [{level} % CI] | Spearman ρ [{level} % CI] | source |",
        "|---|---|---|---|",
    ]
    rows = dict(report["models"], **(oracle or {}))
    for name, row in rows.items():
        source = info.get(name, {}).get("source", "the demo's construction")
        lines.append(
            f"| {LABELS.get(name, name)} | {interval(row['pearson'], row['pearson_ci'])} | "
            f"{interval(row['spearman'], row['spearman_ci'])} | {source} |"
        )
    if report["comparisons"]:
        lines += [
            "",
            f"Paired tests on the same resamples (difference {report['reference']} − other; "
            "p: two-sided bootstrap; Williams: Steiger (1980) eq. 7 on Pearson's r, items only):",
            "",
            f"| comparison | Δr [{level} % CI] | p | Williams t, p | Δρ [{level} % CI] | p |",
            "|---|---|---|---|---|---|",
        ]
        for label, test in report["comparisons"].items():
            p, s = test["pearson"], test["spearman"]
            lines.append(
                f"| {label} | {interval(p['diff'], p['diff_ci'])} | {p_text(p['p_value'])} | "
                f"{p['williams_t']:.2f}, {p_text(p['williams_p'])} | "
                f"{interval(s['diff'], s['diff_ci'])} | {p_text(s['p_value'])} |"
            )
    if conditions:
        names = list(next(iter(conditions.values())))[2:]
        lines += [
            "",
            "Mean per condition, every column z-scored over all items (targets: mean z-rating):",
            "",
            "| condition | items | targets | " + " | ".join(names) + " |",
            "|---|---|---" + "|---" * len(names) + "|",
        ]
        for condition, row in conditions.items():
            values = " | ".join(f"{row[name]:+.2f}" for name in ["targets", *names])
            lines.append(f"| {condition} | {row['n_items']} | {values} |")
    return lines


def main(conf):
    args, statistics = conf["main_args"], conf["statistics"]
    simulated = bool(args["simulated"])
    names = model_list(args["models"])
    table = read_ratings(args["ratings"], statistics["scale_min"], statistics["scale_max"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = drop_constant_listeners(table, statistics["constant_listeners"] == "refuse")
    print_warnings(caught)
    items = read_items(args["items"])
    unknown = [item for item in table.items if item not in items]
    if unknown:
        raise ValueError(f"{args['ratings']}: item(s) {unknown[:5]} are not in {args['items']}")
    unrated = [item for item in items if item not in table.items]
    if unrated:
        print(f"warning: {len(unrated)} item(s) nobody rated are left out: {unrated[:5]}")
    rated = [item for item in items if item in table.items]
    table = table.select_items(rated)
    scores, info = {}, {}
    for name in names:
        scores[name], info[name] = read_scores(args["scores_dir"], name, rated)
    reference = statistics["reference"] if statistics["reference"] in names else names[0]
    common = dict(n_resamples=statistics["n_resamples"], seed=statistics["bootstrap_seed"])
    common["level"] = statistics["level"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = correlate_models(table, scores, reference=reference, **common)
    print_warnings(caught)
    targets = item_targets(table.ratings)
    oracle = None
    if simulated:
        fit = [float(value) for value in item_column(args["items"], "fit", rated)]
        # The same seed draws the same resamples: the ceiling is measured like the models.
        oracle = correlate_models(table, {"oracle": fit}, **common)["models"]
    labels = item_column(args["items"], "condition", rated)
    conditions = labels and condition_means(labels, {"targets": targets, **scores})
    results = {
        "ratings": os.path.abspath(args["ratings"]),
        "items": os.path.abspath(args["items"]),
        "simulated": simulated,
        "note": SIMULATED_NOTE if simulated else "ratings of a listening test",
        "scale": [statistics["scale_min"], statistics["scale_max"]],
        "listeners": list(table.listeners),
        "unrated_items": unrated,
        "model_info": info,
        "oracle": oracle,
        "conditions": conditions,
        **report,
    }
    os.makedirs(args["exp_dir"], exist_ok=True)
    path = os.path.join(args["exp_dir"], "results.json")
    write_json(to_jsonable(results), path, indent=1, allow_nan=False)  # NaN: null
    with atomic_output(os.path.join(args["exp_dir"], "per_item.csv")) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fhandle:
            writer = csv.writer(fhandle)
            writer.writerow(("item", "n_ratings", "mean_z_rating", *names))
            n_ratings = np.isfinite(table.ratings).sum(axis=0)
            for i, item in enumerate(rated):
                writer.writerow(
                    (item, int(n_ratings[i]), f"{targets[i]:.6f}")
                    + tuple(f"{scores[n][i]:.6g}" for n in names)
                )
    lines = summary_lines(report, info, oracle, simulated, conditions)
    with atomic_output(os.path.join(args["exp_dir"], "summary.md")) as tmp:
        with open(tmp, "w", encoding="utf-8") as fhandle:
            fhandle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(parse_with_conf(parser))
