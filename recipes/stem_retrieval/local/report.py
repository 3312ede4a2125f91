"""Markdown table and accuracy-vs-K plot of the retrieval results (``final_metrics.json``)."""

import matplotlib

from phalar_asteroid.utils.io import atomic_output

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _fmt_time(seconds) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


def _sections(final: dict) -> list:
    """(dataset, protocol) pairs present in the results, in a stable order."""
    seen = []
    for forms in final["results"].values():
        for datasets in forms.values():
            for dataset, protocols in datasets.items():
                for protocol in protocols:
                    if (dataset, protocol) not in seen:
                        seen.append((dataset, protocol))
    return sorted(seen)


def _cost_table(final: dict) -> list:
    """Markdown lines: parameters, training steps and time, time to the val_acc target, and the
    evaluation's embedding time per clip, for every model."""
    targets = {m.get("target_val_acc") for m in final["models"].values()} - {None}
    target = f"≥ {targets.pop():g}" if len(targets) == 1 else "target"
    head = ["model", "parameters", "steps", "train time", f"time to val_acc {target}"]
    head += ["eval embedding (s/clip)"]
    lines = ["### Cost", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, meta in final["models"].items():
        params = meta.get("n_parameters")
        per_clip = meta.get("embed_seconds_per_clip")
        row = [
            label,
            "—" if params is None else f"{params:,}",
            str(meta.get("global_step", "—")),
            _fmt_time(meta.get("train_seconds")),
            (
                _fmt_time(meta.get("seconds_to_target"))
                if meta.get("seconds_to_target") is not None or "target_val_acc" not in meta
                else "not reached"
            ),
            "—" if per_clip is None else f"{per_clip:.3f}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return lines + [""]


def _paired_table(final: dict) -> list:
    """Markdown lines: every learned model against every other system on the same queries."""
    rows = final.get("paired", [])
    if not rows:
        return []
    head = ["A", "B", "dataset", "protocol", "K", "A − B (points)", "only A / only B", "McNemar p"]
    lines = ["### Paired tests (same queries)", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "---|" * len(head))
    for r in rows:
        cells = [
            r["a"],
            r["b"],
            r["dataset"],
            r["protocol"],
            str(r["k"]),
            f"{100 * r['diff']:+.1f} ± {100 * r['ci95']:.1f}",
            f"{r['a_only']} / {r['b_only']}",
            f"{r['p_value']:.2g}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def write_table(final: dict, path: str) -> str:
    """Writes the results as markdown tables (one per dataset and protocol).

    Rows are the models in their headline form, then learned models in their other form.
    Cells give top-1 accuracy in % with the 95 % interval half-width; MRR is at the largest K.
    Then the paired tests (exact McNemar, :func:`paired_comparison`) and each model's training
    and evaluation cost.

    Args:
        final (dict): content of ``final_metrics.json``.
        path (str): output ``.md`` file (written to a temporary name, then renamed).

    Returns:
        str: the markdown text.
    """
    lines = []
    for dataset, protocol in _sections(final):
        ks = sorted(
            {
                int(k)
                for forms in final["results"].values()
                for f in forms.values()
                for k in f.get(dataset, {}).get(protocol, {})
            }
        )
        if not ks:
            continue
        lines += [f"### {dataset} — {protocol}", ""]
        head = ["model", "form"] + [f"top-1 K={k} (%)" for k in ks] + [f"MRR K={ks[-1]}"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        rows, chance = [], {}
        for label, forms in final["results"].items():
            main = final["headline_form"][label]
            for form in [main] + [f for f in forms if f != main]:
                cell = forms[form].get(dataset, {}).get(protocol)
                if not cell:
                    continue
                row = [label if form == main else f"{label} (alt)", form]
                for k in ks:
                    r = cell.get(str(k))
                    row.append(
                        "—" if r is None else f"{100 * r['top1']:.1f} ± {100 * r['ci95']:.1f}"
                    )
                    if r is not None:
                        chance[k] = (r["chance"], r["mean_k"])
                last = cell.get(str(ks[-1]))
                row.append("—" if last is None else f"{last['mrr']:.3f}")
                rows.append((form != main, row))
        for _, row in sorted(rows, key=lambda r: r[0]):
            lines.append("| " + " | ".join(row) + " |")
        # Small splits can offer fewer than K-1 distractors: chance is 1/K_eff, K_eff shown.
        chance_row = (
            ["chance", ""]
            + [
                f"{100 * chance[k][0]:.1f} (K_eff {chance[k][1]:.1f})" if k in chance else "—"
                for k in ks
            ]
            + [""]
        )
        lines += ["| " + " | ".join(chance_row) + " |", ""]
    lines += _paired_table(final)
    lines += _cost_table(final)
    text = "\n".join(lines)
    with atomic_output(path) as tmp, open(tmp, "w") as fhandle:
        fhandle.write(text + "\n")
    return text


def write_plot(final: dict, path: str) -> None:
    """Plots top-1 accuracy vs K per model (headline forms), one panel per dataset/protocol.

    Args:
        final (dict): content of ``final_metrics.json``.
        path (str): output image (written to a temporary name, then renamed).
    """
    sections = _sections(final)
    fig, axes = plt.subplots(
        1, max(1, len(sections)), figsize=(4 * max(1, len(sections)), 3.6), squeeze=False
    )
    for ax, (dataset, protocol) in zip(axes[0], sections):
        chance = {}
        for label, forms in final["results"].items():
            cell = forms[final["headline_form"][label]].get(dataset, {}).get(protocol, {})
            ks = sorted(int(k) for k in cell)
            if not ks:
                continue
            acc = [100 * cell[str(k)]["top1"] for k in ks]
            err = [100 * cell[str(k)]["ci95"] for k in ks]
            ax.errorbar(ks, acc, yerr=err, marker="o", capsize=3, label=label)
            chance.update({k: 100 * cell[str(k)]["chance"] for k in ks})
        if chance:
            ks = sorted(chance)
            ax.plot(ks, [chance[k] for k in ks], "k:", label="chance")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("K (candidates)")
        ax.set_ylabel("top-1 accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(f"{dataset} — {protocol}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=120)
    finally:
        plt.close(fig)
