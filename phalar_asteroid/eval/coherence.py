"""Agreement of model scores with human coherence ratings (docs/protocols.md#coherence-correlation).

A listening test gives ratings on a Likert scale (e.g. 1-5) of how well a stem fits a mix, from
several listeners, each rating some or all of the items. Every listener's ratings are z-scored
(over the items that listener rated), which removes each listener's offset and scale; an item's
target is the mean z-rating over the listeners who rated it. A model's agreement is the Pearson
and the Spearman correlation (:func:`scipy.stats.pearsonr`, Spearman as Pearson of average ranks)
between its item scores and these targets.

Uncertainty comes from a crossed (two-way) bootstrap: each resample draws the listeners with
replacement and the items with replacement, z-scores the resampled ratings again and recomputes
every model's correlations, so the interval reflects both who listened and what was played;
intervals are bias-corrected percentile intervals. Two models are compared on the same resamples
(a paired bootstrap of the difference, with its interval and two-sided p); Williams' test for
two dependent correlations that share the ratings (Steiger, 1980, eq. 7) is given beside it, with
items as the only source of variance.

Tables are CSV files (UTF-8, header row): ``listener,item,rating`` for the ratings and
``item,mix,stem`` for the items (audio paths relative to the table's folder, or absolute); other
columns are ignored. numpy and scipy only.
"""

import csv
import os
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

RATING_COLUMNS = ("listener", "item", "rating")
ITEM_COLUMNS = ("item", "mix", "stem")
#: Fewest items a correlation is computed on.
MIN_ITEMS = 3


@dataclass
class RatingsTable:
    """The ratings of a listening test as a listener x item matrix.

    Attributes:
        listeners (tuple): listener ids, in order of first appearance.
        items (tuple): item ids, in order of first appearance.
        ratings (np.ndarray): float ``(n_listeners, n_items)``; NaN where a listener did not
            rate an item.
    """

    listeners: tuple
    items: tuple
    ratings: np.ndarray

    @property
    def n_ratings(self) -> int:
        """The number of ratings given."""
        return int(np.isfinite(self.ratings).sum())

    def select_items(self, items) -> "RatingsTable":
        """The same ratings restricted to (and ordered as) ``items``, which must all be rated."""
        column = {item: i for i, item in enumerate(self.items)}
        unknown = [item for item in items if item not in column]
        if unknown:
            raise ValueError(f"items without any rating: {unknown[:5]}")
        order = [column[item] for item in items]
        return RatingsTable(self.listeners, tuple(items), self.ratings[:, order])


def _read_csv(path: str, columns: tuple) -> list:
    """Rows of a CSV table as dicts, with the required columns checked; ``(line, row)`` pairs."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as fhandle:
        reader = csv.DictReader(fhandle)
        header = [name.strip() for name in reader.fieldnames or ()]
        missing = [name for name in columns if name not in header]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {missing} (header: {header}; expected {list(columns)})"
            )
        reader.fieldnames = header
        rows = [
            (reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader
        ]
    if not rows:
        raise ValueError(f"{path}: the table has a header but no rows")
    return rows


def read_ratings(path: str, scale_min: float = None, scale_max: float = None) -> RatingsTable:
    """Reads a ``listener,item,rating`` CSV table.

    Args:
        path (str): the CSV file.
        scale_min (float, optional): lowest rating of the scale; a lower one is an error.
        scale_max (float, optional): highest rating of the scale.

    Returns:
        RatingsTable: the ratings.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing column, an empty field, a rating that is not a number or is off the
            scale, or a listener who rated one item twice; the message names the file and line.
    """
    listeners, items, values = {}, {}, {}
    for line, row in _read_csv(path, RATING_COLUMNS):
        listener, item, text = (row[name] for name in RATING_COLUMNS)
        if not listener or not item:
            raise ValueError(f"{path} line {line}: empty listener or item")
        try:
            rating = float(text)
        except ValueError:
            raise ValueError(f"{path} line {line}: rating {text!r} is not a number") from None
        if not np.isfinite(rating):
            raise ValueError(f"{path} line {line}: rating {text!r} is not a finite number")
        low = scale_min is not None and rating < scale_min
        if low or (scale_max is not None and rating > scale_max):
            raise ValueError(
                f"{path} line {line}: rating {text} is off the scale [{scale_min}, {scale_max}]"
            )
        key = (listeners.setdefault(listener, len(listeners)), items.setdefault(item, len(items)))
        if key in values:
            raise ValueError(f"{path} line {line}: listener {listener!r} rated {item!r} twice")
        values[key] = rating
    matrix = np.full((len(listeners), len(items)), np.nan)
    for (row, column), rating in values.items():
        matrix[row, column] = rating
    return RatingsTable(tuple(listeners), tuple(items), matrix)


def read_items(path: str) -> dict:
    """Reads an ``item,mix,stem`` CSV table.

    Args:
        path (str): the CSV file; relative audio paths are relative to its folder.

    Returns:
        dict: ``{item: (mix path, stem path)}`` in table order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing column, an empty field or an item listed twice (file and line).
    """
    folder, found = os.path.dirname(os.path.abspath(path)), {}
    for line, row in _read_csv(path, ITEM_COLUMNS):
        item, mix, stem = (row[name] for name in ITEM_COLUMNS)
        if not item or not mix or not stem:
            raise ValueError(f"{path} line {line}: empty item, mix or stem")
        if item in found:
            raise ValueError(f"{path} line {line}: item {item!r} listed twice")
        found[item] = tuple(os.path.normpath(os.path.join(folder, p)) for p in (mix, stem))
    return found


def _row_zscores(ratings: np.ndarray) -> np.ndarray:
    """Z-scores of each row over its finite entries (population SD); rows without spread: NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        mean = np.nanmean(ratings, axis=1, keepdims=True)
        spread = np.nanstd(ratings, axis=1, keepdims=True)
    # A row with one distinct value (a constant listener) has no scale to divide by.
    spread = np.where(spread > 1e-12 * np.maximum(1.0, np.abs(mean)), spread, np.nan)
    return (ratings - mean) / spread


def constant_listeners(table: RatingsTable) -> list:
    """Listeners whose ratings cannot be z-scored: fewer than two items, or one value for all."""
    spread = np.isfinite(_row_zscores(table.ratings)).any(axis=1)
    return [listener for listener, ok in zip(table.listeners, spread) if not ok]


def drop_constant_listeners(table: RatingsTable, refuse: bool = False) -> RatingsTable:
    """The table without the listeners of :func:`constant_listeners`, with a warning naming them.

    Args:
        table (RatingsTable): the ratings.
        refuse (bool): raise instead of dropping them.

    Returns:
        RatingsTable: the listeners who can be z-scored.

    Raises:
        ValueError: ``refuse`` and some listener is constant, or no listener is left.
    """
    constant = constant_listeners(table)
    if constant and refuse:
        raise ValueError(
            f"listener(s) {constant} gave the same rating to every item they rated (or rated "
            "fewer than two): their ratings cannot be z-scored"
        )
    if constant:
        warnings.warn(
            f"dropped listener(s) {constant}: the same rating for every item they rated (or "
            "fewer than two items), so their ratings cannot be z-scored",
            stacklevel=2,
        )
    keep = [i for i, listener in enumerate(table.listeners) if listener not in constant]
    if not keep:
        raise ValueError("no listener left whose ratings vary")
    listeners = tuple(table.listeners[i] for i in keep)
    return RatingsTable(listeners, table.items, table.ratings[keep])


def listener_zscores(ratings: np.ndarray) -> np.ndarray:
    """Each listener's ratings z-scored over the items they rated.

    Args:
        ratings (np.ndarray): ``(n_listeners, n_items)``, NaN where not rated.

    Returns:
        np.ndarray: the same shape; NaN where not rated, and for the whole row of a listener
        without spread (see :func:`drop_constant_listeners`).
    """
    return _row_zscores(np.asarray(ratings, dtype=np.float64))


def item_targets(ratings: np.ndarray) -> np.ndarray:
    """Mean z-rating of each item over the listeners who rated it.

    Args:
        ratings (np.ndarray): ``(n_listeners, n_items)``, NaN where not rated.

    Returns:
        np.ndarray: ``(n_items,)``; NaN for an item no usable listener rated.
    """
    z = listener_zscores(ratings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # unrated items
        return np.nanmean(z, axis=0)


def _correlations(scores: np.ndarray, targets: np.ndarray) -> tuple:
    """Pearson and Spearman correlations of each row of ``scores`` ``(M, n)`` with ``targets``.

    One :func:`numpy.corrcoef` of the stacked rows (scipy's pearsonr per row costs milliseconds,
    which thousands of resamples multiply); Spearman's rho is Pearson's r of average ranks, as
    :func:`scipy.stats.spearmanr` computes it. A constant row gives NaN.
    """
    stacked = np.vstack([targets, scores])
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.corrcoef(stacked)[0, 1:]
        spearman = np.corrcoef(stats.rankdata(stacked, axis=-1))[0, 1:]
    # Rounding leaves a constant row a tiny variance, and corrcoef a meaningless value.
    constant = np.ptp(scores, axis=-1) == 0
    pearson[constant], spearman[constant] = np.nan, np.nan
    return pearson, spearman


def crossed_bootstrap(
    ratings: np.ndarray, scores: np.ndarray, n_resamples: int = 10000, seed: int = 0
) -> dict:
    """Correlations of several models' scores with the ratings, on crossed bootstrap resamples.

    Each resample draws ``n_listeners`` listeners and ``n_items`` items with replacement (a
    listener drawn twice counts twice), z-scores every drawn listener over the drawn items they
    rated, averages per drawn item and correlates with every model's scores of the drawn items.
    A drawn listener without spread on the drawn items is left out of that resample, and so is a
    drawn item that no kept listener rated; a resample with fewer than :data:`MIN_ITEMS` items
    or constant targets gives NaN.

    Args:
        ratings (np.ndarray): ``(n_listeners, n_items)``, NaN where not rated.
        scores (np.ndarray): ``(n_models, n_items)`` model scores, in the same item order.
        n_resamples (int): bootstrap resamples.
        seed (int): seed of :func:`numpy.random.default_rng`.

    Returns:
        dict: ``"pearson"`` and ``"spearman"``, each ``(n_resamples, n_models)``.

    Shape:
        - ratings: :math:`(L, I)`
        - scores: :math:`(M, I)`
    """
    ratings, scores = np.asarray(ratings, dtype=np.float64), np.atleast_2d(scores)
    n_listeners, n_items = ratings.shape
    if scores.shape[1] != n_items:
        raise ValueError(f"scores cover {scores.shape[1]} items, the ratings {n_items}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    out = {name: np.full((n_resamples, len(scores)), np.nan) for name in ("pearson", "spearman")}
    for b in range(n_resamples):
        listeners = rng.integers(0, n_listeners, n_listeners)
        items = rng.integers(0, n_items, n_items)
        targets = item_targets(ratings[np.ix_(listeners, items)])
        rated = np.isfinite(targets)
        if rated.sum() < MIN_ITEMS or np.ptp(targets[rated]) == 0:
            continue
        pearson, spearman = _correlations(scores[:, items[rated]], targets[rated])
        out["pearson"][b], out["spearman"][b] = pearson, spearman
    return out


def _bootstrap_cdf(samples: np.ndarray, value: float) -> float:
    """Share of bootstrap samples below ``value`` (ties count half), kept inside (0, 1)."""
    below, ties = np.sum(samples < value), np.sum(samples == value)
    return float((below + 0.5 * ties + 0.5) / (samples.size + 1))


def bootstrap_interval(samples: np.ndarray, estimate: float, level: float = 0.95) -> tuple:
    r"""Bias-corrected (BC) percentile interval of bootstrap samples (Efron, 1981).

    With :math:`z_0 = \Phi^{-1}(G(\hat\theta))`, the share :math:`G` of resamples below the
    estimate, the interval runs between the :math:`\Phi(2 z_0 \mp z_{1 - \alpha/2})`
    quantiles of the resamples (:math:`z_0 = 0` gives the percentile interval). A correlation
    with ratings averaged over resampled listeners falls short of the one on the data (a
    listener drawn twice adds noise but no information), as the correlation with a finite
    panel's mean falls short of the one with the whole population's: the correction moves the
    interval up by about that shortfall. NaN resamples are left out.

    Args:
        samples (np.ndarray): ``(n_resamples,)``.
        estimate (float): the statistic on the data themselves.
        level (float): coverage, in (0, 1).

    Returns:
        tuple: ``(low, high)``.
    """
    finite = np.asarray(samples)[np.isfinite(samples)]
    if finite.size == 0 or not np.isfinite(estimate):
        return float("nan"), float("nan")
    z0, z = stats.norm.ppf(_bootstrap_cdf(finite, estimate)), stats.norm.ppf((1 + level) / 2)
    low, high = np.percentile(finite, 100 * stats.norm.cdf([2 * z0 - z, 2 * z0 + z]))
    return float(low), float(high)


def paired_bootstrap_test(
    a: np.ndarray, b: np.ndarray, estimate: float, level: float = 0.95
) -> dict:
    r"""Bootstrap test of the difference of two correlations measured on the same resamples.

    The interval is :func:`bootstrap_interval` of the resampled differences; the two-sided
    p-value is the largest ``1 - level`` at which that interval still excludes zero,
    :math:`p = 2 \Phi(-|\Phi^{-1}(G(0)) - 2 z_0|)` (twice the smaller share of differences on
    either side of zero when :math:`z_0 = 0`; never 0 from finitely many resamples).

    Args:
        a (np.ndarray): ``(n_resamples,)`` correlations of model A.
        b (np.ndarray): ``(n_resamples,)`` correlations of model B on the same resamples.
        estimate (float): A's correlation minus B's on the data themselves.
        level (float): coverage of the interval.

    Returns:
        dict: ``diff_ci`` (interval of A - B), ``p_value`` and ``n_resamples`` (finite ones).
    """
    diff = np.asarray(a) - np.asarray(b)
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        return {"diff_ci": (float("nan"), float("nan")), "p_value": float("nan"), "n_resamples": 0}
    z0 = stats.norm.ppf(_bootstrap_cdf(diff, estimate))
    p_value = 2 * stats.norm.cdf(-abs(stats.norm.ppf(_bootstrap_cdf(diff, 0.0)) - 2 * z0))
    return {
        "diff_ci": bootstrap_interval(diff, estimate, level),
        "p_value": float(min(1.0, p_value)),
        "n_resamples": int(diff.size),
    }


def williams_test(r_ya: float, r_yb: float, r_ab: float, n: int) -> tuple:
    r"""Williams' t for two dependent correlations with one variable in common.

    Tests :math:`\rho_{ya} = \rho_{yb}` for correlations of the same targets ``y`` with two
    scores ``a`` and ``b`` measured on the same ``n`` items (Williams, 1959; Steiger, 1980,
    eq. 7):

    .. math::

        t = (r_{ya} - r_{yb}) \sqrt{\frac{(n - 1)(1 + r_{ab})}
            {2 \frac{n - 1}{n - 3} |R| + \bar r^2 (1 - r_{ab})^3}}, \quad
        |R| = 1 - r_{ya}^2 - r_{yb}^2 - r_{ab}^2 + 2 r_{ya} r_{yb} r_{ab}, \quad
        \bar r = (r_{ya} + r_{yb}) / 2,

    with :math:`n - 3` degrees of freedom. Items are the only source of variance here: the
    listeners are taken as fixed.

    Args:
        r_ya (float): correlation of the targets with the scores of A.
        r_yb (float): with the scores of B.
        r_ab (float): of the two scores with each other.
        n (int): number of items, at least 4.

    Returns:
        tuple: ``(t, two-sided p)``.
    """
    if n < 4:
        raise ValueError(f"Williams' test needs at least 4 items, got {n}")
    det = 1 - r_ya**2 - r_yb**2 - r_ab**2 + 2 * r_ya * r_yb * r_ab
    mean = (r_ya + r_yb) / 2
    denominator = 2 * (n - 1) / (n - 3) * det + mean**2 * (1 - r_ab) ** 3
    if denominator <= 0:  # identical scores (r_ab = 1): nothing to tell apart
        return 0.0, 1.0
    t = (r_ya - r_yb) * np.sqrt((n - 1) * (1 + r_ab) / denominator)
    return float(t), float(2 * stats.t.sf(abs(t), n - 3))


def correlate_models(
    table: RatingsTable,
    scores: dict,
    reference: str = None,
    n_resamples: int = 10000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Each model's Pearson and Spearman correlation with the ratings, intervals and paired tests.

    Args:
        table (RatingsTable): ratings of listeners who can be z-scored
            (:func:`drop_constant_listeners`), every item rated at least once.
        scores (dict): ``{model: (n_items,) scores}`` in ``table.items`` order.
        reference (str, optional): the model compared with every other (paired tests); the
            first one by default.
        n_resamples (int): crossed bootstrap resamples (shared by all models).
        seed (int): bootstrap seed.
        level (float): coverage of the intervals.

    Returns:
        dict: ``models`` (``{name: {pearson, pearson_ci, spearman, spearman_ci, pearson_p,
        spearman_p}}``, the p-values of scipy's tests with items as independent samples),
        ``comparisons`` (``{"A vs B": {statistic: {diff, diff_ci, p_value, ...}}}``, Pearson
        with Williams' test too), and the counts.
    """
    names = list(scores)
    if not names:
        raise ValueError("no model scores to correlate")
    matrix = np.stack([np.asarray(scores[name], dtype=np.float64) for name in names])
    if matrix.shape[1] != len(table.items):
        raise ValueError(f"scores cover {matrix.shape[1]} items, the ratings {len(table.items)}")
    if not np.isfinite(matrix).all():
        bad = [name for name, row in zip(names, matrix) if not np.isfinite(row).all()]
        raise ValueError(f"non-finite scores of model(s) {bad}")
    constant = [name for name, row in zip(names, matrix) if np.ptp(row) == 0]
    if constant:
        warnings.warn(
            f"model(s) {constant} give every item the same score: their correlations are "
            "undefined (NaN)",
            stacklevel=2,
        )
    if constant_listeners(table):
        raise ValueError(f"constant listener(s) {constant_listeners(table)}: drop them first")
    targets = item_targets(table.ratings)
    if not np.isfinite(targets).all():
        raise ValueError("some items have no rating: select the rated items first")
    if len(targets) < MIN_ITEMS:
        raise ValueError(f"{len(targets)} items: at least {MIN_ITEMS} are needed")
    boot = crossed_bootstrap(table.ratings, matrix, n_resamples, seed)
    report = {"models": {}, "comparisons": {}}
    for m, name in enumerate(names):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.ConstantInputWarning)  # warned about above
            pearson = stats.pearsonr(matrix[m], targets)
            spearman = stats.spearmanr(matrix[m], targets)
        report["models"][name] = {
            "pearson": float(pearson.statistic),
            "pearson_ci": bootstrap_interval(boot["pearson"][:, m], pearson.statistic, level),
            "pearson_p": float(pearson.pvalue),
            "spearman": float(spearman.statistic),
            "spearman_ci": bootstrap_interval(boot["spearman"][:, m], spearman.statistic, level),
            "spearman_p": float(spearman.pvalue),
        }
    reference = names[0] if reference is None else reference
    if reference not in scores:
        raise ValueError(f"reference model {reference!r} is not among {names}")
    r = names.index(reference)
    for m, name in enumerate(names):
        if m == r:
            continue
        comparison = {}
        ref, other = report["models"][reference], report["models"][name]
        for statistic in ("pearson", "spearman"):
            diff = ref[statistic] - other[statistic]
            test = paired_bootstrap_test(boot[statistic][:, r], boot[statistic][:, m], diff, level)
            comparison[statistic] = {"diff": diff, **test}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.ConstantInputWarning)
            r_ab = float(stats.pearsonr(matrix[r], matrix[m]).statistic)
        t, p = williams_test(
            report["models"][reference]["pearson"],
            report["models"][name]["pearson"],
            r_ab,
            len(targets),
        )
        comparison["pearson"].update(williams_t=t, williams_p=p, r_between_models=r_ab)
        report["comparisons"][f"{reference} vs {name}"] = comparison
    finite = np.isfinite(boot["pearson"]).all(axis=1)
    report.update(
        n_listeners=len(table.listeners),
        n_items=len(table.items),
        n_ratings=table.n_ratings,
        n_resamples=int(n_resamples),
        n_finite_resamples=int(finite.sum()),
        seed=int(seed),
        level=float(level),
        reference=reference,
    )
    return report
