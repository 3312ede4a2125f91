"""Correlation with coherence ratings: tables, per-listener z-scores, crossed bootstrap, tests."""

import numpy as np
import pytest
from scipy import stats

from phalar_asteroid.eval import coherence
from phalar_asteroid.eval.coherence import (
    RatingsTable,
    correlate_models,
    crossed_bootstrap,
    drop_constant_listeners,
    item_targets,
    listener_zscores,
    paired_bootstrap_test,
    bootstrap_interval,
    read_items,
    read_ratings,
    williams_test,
)


def table(matrix) -> RatingsTable:
    matrix = np.asarray(matrix, dtype=float)
    listeners = tuple(f"L{i}" for i in range(len(matrix)))
    return RatingsTable(listeners, tuple(f"i{j}" for j in range(matrix.shape[1])), matrix)


def orthogonal_unit(rng, base: np.ndarray) -> np.ndarray:
    """A zero-mean, unit-SD vector exactly uncorrelated with the standardised ``base``."""
    noise = rng.standard_normal(len(base))
    noise -= noise.mean()
    noise -= (noise @ base) / (base @ base) * base
    return noise / noise.std()


def likert_test(rho: float, n_items: int = 120, n_listeners: int = 10, seed: int = 0):
    """A score and listeners whose shared latent item quality correlates exactly ``rho`` with it.

    Every listener has an own offset and gain, adds a little noise and rates 80 % of the items on
    a 1-5 scale (rounded and clipped).
    """
    rng = np.random.default_rng(seed)
    score = stats.zscore(rng.standard_normal(n_items))
    quality = rho * score + np.sqrt(1 - rho**2) * orthogonal_unit(rng, score)
    assert np.corrcoef(score, quality)[0, 1] == pytest.approx(rho, abs=1e-12)
    offsets = rng.uniform(-1.0, 1.0, (n_listeners, 1))
    gains = rng.uniform(0.5, 1.5, (n_listeners, 1))
    noise = 0.2 * rng.standard_normal((n_listeners, n_items))
    ratings = np.clip(np.round(3 + offsets + gains * (quality + noise)), 1, 5)
    ratings[rng.random(ratings.shape) > 0.8] = np.nan
    return score, quality, table(ratings)


def test_zscores_remove_listener_offsets_and_scales_exactly():
    # L1 is L0 plus 1, L2 is L0 stretched by 2 (on a 1-7 scale), L3 misses the last item.
    ratings = [[1, 2, 3, 4], [2, 3, 4, 5], [1, 3, 5, 7], [2, 4, 6, np.nan]]
    z = listener_zscores(ratings)
    expected = np.array([-3, -1, 1, 3]) / np.sqrt(5)  # population SD of (1, 2, 3, 4) is sqrt(5)/2
    np.testing.assert_allclose(z[:3], np.tile(expected, (3, 1)), atol=1e-12)
    np.testing.assert_allclose(z[3, :3], [-np.sqrt(1.5), 0, np.sqrt(1.5)], atol=1e-12)
    assert np.isnan(z[3, 3])
    targets = item_targets(ratings)
    np.testing.assert_allclose(targets[3], expected[3], atol=1e-12)  # the three who rated it
    np.testing.assert_allclose(targets[1], (3 * expected[1] + 0.0) / 4, atol=1e-12)


def test_constant_listener_is_dropped_with_a_warning_naming_them_or_refused():
    ratings = table([[1, 2, 3], [4, 4, 4], [np.nan, 5, np.nan], [3, 2, 1]])
    with pytest.warns(UserWarning, match=r"\['L1', 'L2'\]"):
        kept = drop_constant_listeners(ratings)
    assert kept.listeners == ("L0", "L3")
    np.testing.assert_array_equal(kept.ratings, [[1, 2, 3], [3, 2, 1]])
    with pytest.raises(ValueError, match=r"listener\(s\) \['L1', 'L2'\]"):
        drop_constant_listeners(ratings, refuse=True)
    with pytest.raises(ValueError, match="drop them first"):
        correlate_models(ratings, {"m": [1.0, 2.0, 3.0]})


def test_read_ratings_builds_the_listener_item_matrix(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("listener,item,rating,comment\nann,a,4,x\nann,b,2,\nbob,b,5,\nbob,c,1,\n")
    ratings = read_ratings(str(path), 1, 5)
    assert ratings.listeners == ("ann", "bob") and ratings.items == ("a", "b", "c")
    np.testing.assert_array_equal(ratings.ratings, [[4, 2, np.nan], [np.nan, 5, 1]])
    assert ratings.n_ratings == 4
    np.testing.assert_array_equal(
        ratings.select_items(["c", "a"]).ratings, [[np.nan, 4], [1, np.nan]]
    )


@pytest.mark.parametrize(
    "body, message",
    [
        ("listener,item,rating\nann,a,x\n", r"line 2: rating 'x' is not a number"),
        ("listener,item,rating\nann,a,3\nann,b,6\n", r"line 3: rating 6 is off the scale"),
        ("listener,item,rating\nann,a,3\nann,a,4\n", r"line 3: listener 'ann' rated 'a' twice"),
        ("listener,item,score\nann,a,3\n", r"missing column\(s\) \['rating'\]"),
        ("listener,item,rating\n", "no rows"),
    ],
)
def test_read_ratings_names_the_file_and_line_of_bad_input(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=message) as err:
        read_ratings(str(path), 1, 5)
    assert str(path) in str(err.value)


def test_read_items_resolves_paths_relative_to_the_table(tmp_path):
    (tmp_path / "test").mkdir()
    path = tmp_path / "test" / "items.csv"
    path.write_text("item,mix,stem\na,audio/m.wav,audio/s.wav\nb,/abs/m.wav,../s.wav\n")
    items = read_items(str(path))
    assert items == {
        "a": (
            str(tmp_path / "test" / "audio" / "m.wav"),
            str(tmp_path / "test" / "audio" / "s.wav"),
        ),
        "b": ("/abs/m.wav", str(tmp_path / "s.wav")),
    }
    path.write_text("item,mix,stem\na,m.wav,s.wav\na,m.wav,t.wav\n")
    with pytest.raises(ValueError, match="line 3: item 'a' listed twice"):
        read_items(str(path))


def test_bootstrap_correlations_are_scipys():
    rng = np.random.default_rng(3)
    scores, targets = rng.standard_normal((3, 30)), rng.standard_normal(30)
    scores[2] = np.round(scores[2])  # ties: average ranks
    pearson, spearman = coherence._correlations(scores, targets)
    for row, r, rho in zip(scores, pearson, spearman):
        assert r == pytest.approx(stats.pearsonr(row, targets).statistic, abs=1e-12)
        assert rho == pytest.approx(stats.spearmanr(row, targets).statistic, abs=1e-12)


@pytest.mark.parametrize("rho", [0.3, 0.7])
def test_crossed_bootstrap_recovers_the_constructed_correlation(rho):
    score, quality, ratings = likert_test(rho)
    report = correlate_models(ratings, {"score": score}, n_resamples=1000, seed=0)
    model = report["models"]["score"]
    low, high = model["pearson_ci"]
    assert low < rho < high
    assert high - low < 0.4
    assert model["pearson"] == pytest.approx(rho, abs=0.1)
    assert model["pearson"] == pytest.approx(
        stats.pearsonr(score, item_targets(ratings.ratings)).statistic, abs=1e-12
    )
    assert report["n_finite_resamples"] == 1000
    assert report["n_ratings"] == np.isfinite(ratings.ratings).sum()


def test_resampling_listeners_widens_the_interval():
    # Two camps of listeners who disagree: drawing listeners adds their disagreement, so the
    # crossed interval is wider than the one of items alone (a single listener drawn each time).
    rng = np.random.default_rng(5)
    score = stats.zscore(rng.standard_normal(80))
    other = orthogonal_unit(rng, score)
    camps = np.vstack([np.tile(score, (4, 1)), np.tile(other, (4, 1))])
    ratings = camps + 0.3 * rng.standard_normal(camps.shape)
    crossed = crossed_bootstrap(ratings, score[None], n_resamples=1000, seed=1)["pearson"][:, 0]
    mean_rating = crossed_bootstrap(ratings.mean(axis=0, keepdims=True), score[None], 1000, 1)
    items_only = mean_rating["pearson"][:, 0]
    estimate = stats.pearsonr(score, ratings.mean(axis=0)).statistic
    width = np.subtract(*bootstrap_interval(crossed, estimate)[::-1])
    assert width > 1.5 * np.subtract(*bootstrap_interval(items_only, estimate)[::-1])


def test_paired_test_tells_a_better_score_from_an_equal_one():
    rng = np.random.default_rng(11)
    _, quality, ratings = likert_test(0.99, n_items=100, seed=2)
    good_a = quality + 0.6 * rng.standard_normal(100)
    good_b = quality + 0.6 * rng.standard_normal(100)
    poor = quality + 2.5 * rng.standard_normal(100)
    scores = {"a": good_a, "b": good_b, "poor": poor}
    report = correlate_models(ratings, scores, reference="a", n_resamples=1000, seed=0)
    better, equal = report["comparisons"]["a vs poor"], report["comparisons"]["a vs b"]
    for statistic in ("pearson", "spearman"):
        assert better[statistic]["p_value"] < 0.05 and better[statistic]["diff_ci"][0] > 0
        assert equal[statistic]["p_value"] > 0.05
        low, high = equal[statistic]["diff_ci"]
        assert low < 0 < high
    assert better["pearson"]["williams_p"] < 0.05 < equal["pearson"]["williams_p"]
    diff = report["models"]["a"]["pearson"] - report["models"]["poor"]["pearson"]
    assert better["pearson"]["diff"] == pytest.approx(diff)


def test_paired_bootstrap_p_value_and_interval_by_hand():
    a, b = np.array([2.0, 2, 2, 0]), np.array([1.0, 1, 1, 1])
    # Differences 1, 1, 1, -1, estimate 1: G(1) = (1 + 3 / 2 + 1 / 2) / 5 = 0.6 and
    # G(0) = (1 + 1 / 2) / 5 = 0.3, so p = 2 Phi(-|ppf(0.3) - 2 ppf(0.6)|) = 2 Phi(-1.03106).
    result = paired_bootstrap_test(a, b, estimate=1.0)
    assert result["p_value"] == pytest.approx(0.302496, abs=1e-6)
    assert result["n_resamples"] == 4
    # Without bias (z0 = 0) the interval is the percentile one and p twice the smaller tail.
    diff = np.arange(1, 100) / 10.0 - 2.0  # -1.9 .. 7.9, median 3.0
    result = paired_bootstrap_test(diff, np.zeros(99), estimate=3.0)
    np.testing.assert_allclose(result["diff_ci"], np.percentile(diff, [2.5, 97.5]))
    assert result["p_value"] == pytest.approx(2 * (19 + 0.5 + 0.5) / 100)  # 19 below, 1 tie at 0


def test_bias_corrected_interval_moves_by_the_bias_of_the_resamples():
    # Resamples N(0.8, 0.05) and an estimate half an SD above their median: z0 = 0.5, so the
    # interval runs from the Phi(1 - 1.96) to the Phi(1 + 1.96) quantile, 0.8 + (-0.96, 2.96) SD.
    samples = 0.8 + 0.05 * stats.norm.ppf((np.arange(20000) + 0.5) / 20000)
    low, high = bootstrap_interval(samples, 0.825)
    assert low == pytest.approx(0.8 - 0.96 * 0.05, abs=1e-3)
    assert high == pytest.approx(0.8 + 2.96 * 0.05, abs=1e-3)
    # No bias: the percentile interval.
    unbiased = bootstrap_interval(samples, 0.8)
    np.testing.assert_allclose(unbiased, np.percentile(samples, [2.5, 97.5]), atol=1e-4)
    assert np.isnan(bootstrap_interval(np.full(5, np.nan), 0.8)).all()


def test_williams_test_keeps_its_level_under_the_null_and_is_antisymmetric():
    # Trivariate normal with equal correlations of y with a and b: rejections at 5 % ~ 5 %.
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.4, 0.4], [0.4, 1.0, 0.5], [0.4, 0.5, 1.0]])
    n, trials = 40, 2000
    samples = rng.multivariate_normal(np.zeros(3), cov, size=(trials, n))
    rejected = 0
    for sample in samples:
        r = np.corrcoef(sample.T)
        rejected += williams_test(r[0, 1], r[0, 2], r[1, 2], n)[1] < 0.05
    assert 0.035 < rejected / trials < 0.065
    t, p = williams_test(0.6, 0.3, 0.4, 50)
    assert t > 0 and p < 0.05
    assert williams_test(0.3, 0.6, 0.4, 50) == pytest.approx((-t, p))
    assert williams_test(0.5, 0.5, 1.0, 50) == (0.0, 1.0)


def test_correlate_models_refuses_scores_that_do_not_fit():
    ratings = table([[1, 2, 3, 4], [2, 1, 4, 3]])
    with pytest.raises(ValueError, match="cover 3 items, the ratings 4"):
        correlate_models(ratings, {"m": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"non-finite scores of model\(s\) \['m'\]"):
        correlate_models(ratings, {"m": [1.0, 2.0, np.nan, 4.0]})
    with pytest.raises(ValueError, match="reference model 'x'"):
        correlate_models(ratings, {"m": [1.0, 2.0, 3.0, 4.0]}, reference="x", n_resamples=10)


def test_a_model_with_one_score_for_every_item_has_undefined_correlations():
    score, _, ratings = likert_test(0.5, n_items=30)
    flat = np.full(30, 5.94076)  # as an untrained network may give (mean rounding: tiny spread)
    with pytest.warns(UserWarning, match=r"model\(s\) \['flat'\] give every item the same score"):
        report = correlate_models(ratings, {"s": score, "flat": flat}, n_resamples=200)
    assert np.isnan(report["models"]["flat"]["pearson"])
    assert np.isnan(report["models"]["flat"]["pearson_ci"]).all()
    comparison = report["comparisons"]["s vs flat"]["pearson"]
    assert comparison["n_resamples"] == 0 and np.isnan(comparison["p_value"])
    assert np.isfinite(report["models"]["s"]["pearson_ci"]).all()
