"""neurona.metrics functions: hand-computed values, the input rules, bad input, and scikit-learn parity."""

import warnings

import numpy as np
import pytest

import neurona.metrics as M
from neurona.metrics import UndefinedMetricWarning


def run(fn, *args, **kwargs):
    """(value, [(warning class name, message)]) with every warning recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(*args, **kwargs)
    return value, [(w.category.__name__, str(w.message)) for w in caught]


def same(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- hand-computed, no scikit-learn needed

def test_binary_precision_recall_f1_by_hand():
    t = [1, 1, 1, 0, 0, 1]
    p = [1, 0, 1, 1, 0, 1]  # tp 3, fp 1, fn 1, tn 1
    assert M.accuracy(t, p) == pytest.approx(4 / 6)
    assert M.precision(t, p) == pytest.approx(3 / 4)
    assert M.recall(t, p) == pytest.approx(3 / 4)
    assert M.f1_score(t, p) == pytest.approx(0.75)
    assert M.precision(t, p, pos_label=0) == pytest.approx(1 / 2)
    assert M.accuracy(t, p, normalize=False) == 4.0


def test_macro_micro_weighted_by_hand():
    t = [0, 0, 1, 1, 1, 2]
    p = [0, 1, 1, 1, 2, 2]
    # class 0: tp1 fp0 fn1 ; class 1: tp2 fp1 fn1 ; class 2: tp1 fp1 fn0
    prec = np.array([1.0, 2 / 3, 1 / 2])
    rec = np.array([1 / 2, 2 / 3, 1.0])
    f1 = 2 * prec * rec / (prec + rec)
    np.testing.assert_allclose(M.precision(t, p, average=None), prec)
    np.testing.assert_allclose(M.recall(t, p, average=None), rec)
    assert M.f1_score(t, p, average="macro") == pytest.approx(f1.mean())
    assert M.f1_score(t, p, average="weighted") == pytest.approx(np.average(f1, weights=[2, 3, 1]))
    assert M.f1_score(t, p, average="micro") == pytest.approx(4 / 6)


def test_confusion_matrix_by_hand_and_normalised():
    t = [0, 0, 1, 1, 1, 2]
    p = [0, 1, 1, 1, 2, 2]
    cm = M.confusion_matrix(t, p)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert cm.dtype == np.int64
    np.testing.assert_allclose(M.confusion_matrix(t, p, normalize="true"), cm / cm.sum(1, keepdims=True))
    np.testing.assert_allclose(M.confusion_matrix(t, p, normalize="pred"), cm / cm.sum(0, keepdims=True))
    np.testing.assert_allclose(M.confusion_matrix(t, p, normalize="all"), cm / 6)
    np.testing.assert_array_equal(M.confusion_matrix(t, p, labels=[2, 0]), [[1, 0], [0, 1]])


def test_labels_one_hot_and_probabilities_are_told_apart():
    labels = np.array([0, 2, 1, 2])
    one_hot = np.eye(3)[labels]
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.4, 0.5, 0.1]])  # argmax 0 2 1 1
    assert M.accuracy(labels, probs) == 0.75
    assert M.accuracy(one_hot, probs) == 0.75
    assert M.accuracy(labels.astype(np.float32), probs) == 0.75  # whole-number floats are labels
    # binary probabilities, 1-D or one column, thresholded at 0.5 (0.5 itself is negative, as Keras)
    t = np.array([1, 0, 1, 0])
    p = np.array([0.51, 0.49, 0.5, 0.2])
    assert M.accuracy(t, p) == 0.75
    assert M.accuracy(t[:, None], p[:, None]) == 0.75
    assert M.recall(t, p) == 0.5


def test_classification_report_text_by_hand():
    text = M.classification_report([0, 1, 1, 2], [0, 1, 2, 2])
    assert text.splitlines() == [
        "              precision    recall  f1-score   support",
        "",
        "           0       1.00      1.00      1.00         1",
        "           1       1.00      0.50      0.67         2",
        "           2       0.50      1.00      0.67         1",
        "",
        "    accuracy                           0.75         4",
        "   macro avg       0.83      0.83      0.78         4",
        "weighted avg       0.88      0.75      0.75         4",
    ]
    d = M.classification_report([0, 1, 1, 2], [0, 1, 2, 2], output_dict=True, target_names=["a", "b", "c"])
    assert d["accuracy"] == 0.75 and d["b"]["recall"] == 0.5 and d["macro avg"]["support"] == 4.0


def test_zero_division_warns_as_scikit_learn():
    with pytest.warns(UndefinedMetricWarning, match="Precision is ill-defined and being set to 0.0 due to no "
                                                    "predicted samples") as record:
        assert M.precision([0, 1, 1], [0, 0, 0]) == 0.0
    assert record[0].filename == __file__  # the warning points at the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.precision([0, 1, 1], [0, 0, 0], zero_division=1) == 1.0
        assert np.isnan(M.precision([0, 1, 1], [0, 0, 0], zero_division=np.nan))
    value, caught = run(M.recall, [0, 0, 1], [0, 1, 2], average=None, labels=[0, 1, 3])
    np.testing.assert_allclose(value, [0.5, 0.0, 0.0])
    assert caught == [("UndefinedMetricWarning", "Recall is ill-defined and being set to 0.0 in labels with no "
                       "true samples. Use `zero_division` parameter to control this behavior.")]


def test_regression_by_hand():
    t, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0])
    assert M.mean_squared_error(t, y) == pytest.approx(0.5)
    assert M.mean_absolute_error(t, y) == pytest.approx(0.5)
    assert M.root_mean_squared_error(t, y) == pytest.approx(np.sqrt(0.5))
    assert M.r2_score(t, y) == pytest.approx(1 - 2 / 5)
    # the slides' rho = s_ty / (s_t s_y): deviations (-1.5, -.5, .5, 1.5) and (-1.5, .5, -.5, 1.5)
    assert M.pearson_r(t, y) == pytest.approx(4.0 / 5.0)
    assert M.r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0 and M.r2_score([2.0, 2.0], [1.0, 2.0]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="constant"):
        assert np.isnan(M.pearson_r([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


def test_ranking_by_hand():
    # pairs (pos, neg): (.35,.1) ok, (.35,.4) wrong, (.8,.1) ok, (.8,.4) ok -> 3/4
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert M.roc_auc([0, 0, 1, 1], np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]])) == 0.75
    fpr, tpr, thr = M.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    assert thr[0] == np.inf
    assert M.log_loss([0, 1], [0.2, 0.9]) == pytest.approx(-(np.log(0.8) + np.log(0.9)) / 2)
    assert M.log_loss(np.eye(3)[[0, 2]], [[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]) == pytest.approx(
        -(np.log(0.5) + np.log(0.8)) / 2)
    scores = [[0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.7, 0.2, 0.1]]
    assert M.top_k_accuracy([0, 1, 2], scores, k=1) == pytest.approx(1 / 3)
    assert M.top_k_accuracy([0, 1, 2], scores, k=2) == pytest.approx(2 / 3)


@pytest.mark.parametrize("call", [
    lambda: M.accuracy([0, 1, 1], [0, 1]),
    lambda: M.f1_score([0, 1], [0, 1], sample_weight=[1.0]),
    lambda: M.mean_squared_error([1.0, 2.0], [1.0]),
    lambda: M.confusion_matrix(np.zeros(3), np.zeros(4)),
    lambda: M.roc_auc([0, 1, 1], [0.2, 0.7]),
])
def test_different_lengths_raise(call):
    with pytest.raises(ValueError, match="samples|shape"):
        call()


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="average='mean' is not supported"):
        M.f1_score([0, 1], [0, 1], average="mean")
    with pytest.raises(ValueError, match="'samples' is for multilabel"):
        M.precision([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="Target is multiclass .* average='binary'"):
        M.f1_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="pos_label=2 is not a valid label"):
        M.recall([0, 1], [0, 1], pos_label=2)
    with pytest.raises(ValueError, match=r"neither class labels nor probabilities"):
        M.accuracy([0, 1], [1.5, -0.2])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*logits"):
        M.log_loss([0, 1], [[2.0, -1.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="rows must sum to 1.*row 1"):
        M.log_loss([0, 1], [[0.2, 0.8], [0.5, 0.6]])
    with pytest.raises(ValueError, match="sum up to 1.0"):
        M.roc_auc([0, 1, 2], [[0.2, 0.3, 0.6], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    with pytest.raises(ValueError, match="non-finite"):
        M.mean_squared_error([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        M.accuracy([], [])
    with pytest.raises(ValueError, match="normalize='rows'"):
        M.confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(ValueError, match="zero_division=2"):
        M.precision([0, 1], [0, 1], zero_division=2)
    with pytest.raises(ValueError, match="multioutput='sum'"):
        M.mean_squared_error([1.0], [1.0], multioutput="sum")


# ---------------------------------------------------------------- scikit-learn parity

@pytest.fixture(scope="module")
def sk():
    return pytest.importorskip("sklearn.metrics")


def _random_case(seed, n=80, k=4):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k, n)
    p = np.where(rng.random(n) < 0.5, t, rng.integers(0, k, n))
    return t, p, rng.random(n) * 2


EDGE_CASES = {
    "class never predicted": ([0, 1, 2, 2, 1, 0, 2], [0, 1, 1, 1, 1, 0, 0]),
    "class never present": ([0, 0, 1, 1, 0, 1], [0, 2, 1, 1, 2, 0]),
    "single class, all right": ([1, 1, 1, 1], [1, 1, 1, 1]),
    "single class zero": ([0, 0, 0], [0, 0, 0]),
    "binary, nothing predicted positive": ([0, 1, 1, 0], [0, 0, 0, 0]),
    "binary, no true positives": ([0, 0, 0, 0], [0, 1, 0, 1]),
    "strings": (["cat", "dog", "dog", "bird"], ["cat", "cat", "dog", "dog"]),
}


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted", "binary"])
@pytest.mark.parametrize("zero_division", ["warn", 0, 1, np.nan])
@pytest.mark.parametrize("case", list(EDGE_CASES) + ["random 0", "random 1"])
def test_precision_recall_f1_equal_sklearn_with_warnings(sk, case, average, zero_division):
    if case.startswith("random"):
        t, p, _ = _random_case(int(case[-1]), k=2 if average == "binary" else 4)
    else:
        t, p = EDGE_CASES[case]
    pos = "dog" if case == "strings" else 1
    if average == "binary" and len(set(t) | set(p)) > 2:
        pytest.skip("multiclass data: average='binary' raises (tested elsewhere)")
    for ours, theirs in ((M.precision, sk.precision_score), (M.recall, sk.recall_score), (M.f1_score, sk.f1_score)):
        kwargs = {"average": average, "zero_division": zero_division, "pos_label": pos}
        mine, mine_w = run(ours, t, p, **kwargs)
        ref, ref_w = run(theirs, t, p, **kwargs)
        same(mine, ref)
        assert mine_w == ref_w


@pytest.mark.parametrize("seed", range(3))
def test_weights_labels_and_beta_equal_sklearn(sk, seed):
    t, p, w = _random_case(seed)
    for kwargs in ({"sample_weight": w}, {"labels": [2, 0]}, {"labels": [0, 1, 5]}, {"sample_weight": w.round()}):
        for average in (None, "macro", "micro", "weighted"):
            mine, mine_w = run(M.precision_recall_fscore_support, t, p, average=average, **kwargs)
            ref, ref_w = run(sk.precision_recall_fscore_support, t, p, average=average, **kwargs)
            for a, b in zip(mine, ref):
                same(a, b) if b is not None else None
            assert mine_w == ref_w
    same(M.fbeta_score(t, p, beta=2.0, average="macro"), sk.fbeta_score(t, p, beta=2.0, average="macro"))
    assert M.accuracy(t, p, sample_weight=w) == pytest.approx(sk.accuracy_score(t, p, sample_weight=w), abs=1e-15)


def test_probabilities_near_half_equal_sklearn_on_thresholded(sk):
    rng = np.random.default_rng(5)
    t = rng.integers(0, 2, 200)
    prob = np.clip(0.5 + rng.normal(0, 0.01, 200) + 0.004 * (2 * t - 1), 0, 1)
    prob[:5] = 0.5
    hard = (prob > 0.5).astype(int)
    for ours, theirs in ((M.accuracy, sk.accuracy_score), (M.precision, sk.precision_score),
                         (M.recall, sk.recall_score), (M.f1_score, sk.f1_score)):
        same(ours(t, prob), theirs(t, hard))
    same(M.roc_auc(t, prob), sk.roc_auc_score(t, prob))
    same(M.log_loss(t, prob), sk.log_loss(t, prob))


@pytest.mark.parametrize("case", list(EDGE_CASES) + ["random"])
def test_classification_report_equals_sklearn(sk, case):
    t, p = EDGE_CASES[case] if case != "random" else _random_case(3)[:2]
    for kwargs in ({}, {"digits": 4}, {"output_dict": True}, {"zero_division": 0}):
        mine, mine_w = run(M.classification_report, t, p, **kwargs)
        ref, ref_w = run(sk.classification_report, t, p, **kwargs)
        assert mine == ref
        assert mine_w == ref_w


def test_classification_report_options_equal_sklearn(sk):
    t, p, w = _random_case(4, n=200)
    names = ["zero", "one", "two", "three"]
    for kwargs in ({"target_names": names}, {"labels": [0, 1]}, {"labels": [3, 0, 1, 2], "target_names": names},
                   {"sample_weight": w}, {"sample_weight": w, "output_dict": True}):
        assert M.classification_report(t, p, **kwargs) == sk.classification_report(t, p, **kwargs)


@pytest.mark.parametrize("case", list(EDGE_CASES) + ["random"])
def test_confusion_matrix_equals_sklearn(sk, case):
    t, p, w = _random_case(6) if case == "random" else (*EDGE_CASES[case], None)
    for normalize in (None, "true", "pred", "all"):
        mine, mine_w = run(M.confusion_matrix, t, p, normalize=normalize, sample_weight=w)
        ref, ref_w = run(sk.confusion_matrix, t, p, normalize=normalize, sample_weight=w)
        np.testing.assert_array_equal(mine, ref)
        assert mine.dtype == ref.dtype
        assert mine_w == ref_w
    labels = list(dict.fromkeys([p[0], t[-1]])) if case != "random" else [3, 1, 0]
    (mine, mine_w), (ref, ref_w) = run(M.confusion_matrix, t, p, labels=labels), run(sk.confusion_matrix, t, p,
                                                                                         labels=labels)
    np.testing.assert_array_equal(mine, ref)
    assert mine_w == ref_w


@pytest.mark.parametrize("seed", range(3))
def test_regression_equals_sklearn(sk, seed):
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(50, 3))
    y = t + rng.normal(scale=0.5, size=(50, 3))
    w = rng.random(50)
    for ours, theirs in ((M.mean_squared_error, sk.mean_squared_error),
                         (M.mean_absolute_error, sk.mean_absolute_error),
                         (M.root_mean_squared_error, sk.root_mean_squared_error), (M.r2_score, sk.r2_score)):
        for kwargs in ({}, {"sample_weight": w}, {"multioutput": "raw_values"}, {"multioutput": [0.2, 0.3, 0.5]}):
            same(ours(t, y, **kwargs), theirs(t, y, **kwargs))
        same(ours(t[:, 0], y[:, 0]), theirs(t[:, 0], y[:, 0]))
    same(M.r2_score(t, y, multioutput="variance_weighted"), sk.r2_score(t, y, multioutput="variance_weighted"))
    const = np.c_[np.ones(50), t[:, 1]]
    for force in (True, False):
        with np.errstate(all="ignore"):
            same(M.r2_score(const, y[:, :2], force_finite=force, multioutput="raw_values"),
                 sk.r2_score(const, y[:, :2], force_finite=force, multioutput="raw_values"))


def test_pearson_r_equals_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    t = rng.normal(size=100)
    y = 0.7 * t + rng.normal(size=100)
    assert M.pearson_r(t, y) == pytest.approx(stats.pearsonr(t, y).statistic, rel=1e-12)
    assert M.pearson_r(t, -t) == pytest.approx(-1.0)


@pytest.mark.parametrize("seed", range(3))
def test_roc_curve_and_auc_equal_sklearn(sk, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, 120)
    s = np.round(rng.random(120) * 0.6 + 0.4 * t, 1)  # rounded: many tied scores
    w = rng.random(120)
    for kwargs in ({}, {"sample_weight": w}, {"drop_intermediate": False}):
        for a, b in zip(M.roc_curve(t, s, **kwargs), sk.roc_curve(t, s, **kwargs)):
            same(a, b)
    same(M.roc_auc(t, s), sk.roc_auc_score(t, s))
    same(M.roc_auc(t, s, sample_weight=w), sk.roc_auc_score(t, s, sample_weight=w))
    labels = np.where(t == 1, "yes", "no")
    for a, b in zip(M.roc_curve(labels, s, pos_label="yes"), sk.roc_curve(labels, s, pos_label="yes")):
        same(a, b)


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_roc_auc_log_loss_top_k_equal_sklearn(sk, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 4, 150)
    logits = rng.normal(size=(150, 4)) + 1.5 * np.eye(4)[t]
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    w = rng.random(150)
    for average in ("macro", "weighted", "micro", None):
        for weights in (None, w):
            same(M.roc_auc(t, prob, average=average, sample_weight=weights),
                 sk.roc_auc_score(t, prob, average=average, sample_weight=weights, multi_class="ovr"))
    same(M.roc_auc(np.eye(4)[t], prob), sk.roc_auc_score(t, prob, multi_class="ovr"))
    for weights in (None, w):
        same(M.log_loss(t, prob, sample_weight=weights), sk.log_loss(t, prob, sample_weight=weights))
    same(M.log_loss(t, prob, normalize=False), sk.log_loss(t, prob, normalize=False))
    same(M.log_loss(np.eye(4)[t], prob), sk.log_loss(t, prob))
    p32 = prob.astype(np.float32)
    assert M.log_loss(t, p32) == pytest.approx(sk.log_loss(t, p32), rel=1e-6)
    tied = np.round(prob, 1)
    for k in (1, 2, 3):
        for weights in (None, w):
            same(M.top_k_accuracy(t, tied, k=k, sample_weight=weights),
                 sk.top_k_accuracy_score(t, tied, k=k, sample_weight=weights))
    same(M.top_k_accuracy(t, prob, k=2, normalize=False), sk.top_k_accuracy_score(t, prob, k=2, normalize=False))


def test_ranking_edge_cases_equal_sklearn(sk):
    # a class missing from y_true: labels= tells the columns
    t = np.array([0, 2, 2, 0, 2])
    prob = np.array([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.1, 0.4], [0.2, 0.2, 0.6]])
    same(M.log_loss(t, prob, labels=[0, 1, 2]), sk.log_loss(t, prob, labels=[0, 1, 2]))
    same(M.top_k_accuracy(t, prob, k=1, labels=[0, 1, 2]), sk.top_k_accuracy_score(t, prob, k=1, labels=[0, 1, 2]))
    # a single class in y_true: AUC undefined
    mine, mine_w = run(M.roc_auc, [1, 1, 1], [0.2, 0.6, 0.9])
    ref, ref_w = run(sk.roc_auc_score, [1, 1, 1], [0.2, 0.6, 0.9])
    assert np.isnan(mine) and np.isnan(ref) and mine_w == ref_w
    mine, mine_w = run(M.roc_curve, [0, 0, 0], [0.2, 0.6, 0.9])
    ref, ref_w = run(sk.roc_curve, [0, 0, 0], [0.2, 0.6, 0.9])
    [same(a, b) for a, b in zip(mine, ref)]
    assert mine_w == ref_w
    # binary top-k with one score column, and the k >= classes warning
    same(M.top_k_accuracy([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.1], k=1),
         sk.top_k_accuracy_score([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.1], k=1))
    mine, mine_w = run(M.top_k_accuracy, [0, 1, 2], prob[:3], k=3)
    ref, ref_w = run(sk.top_k_accuracy_score, [0, 1, 2], prob[:3], k=3)
    assert mine == ref and mine_w == ref_w
    with pytest.raises(ValueError, match="only one label"):
        M.log_loss([1, 1], [0.3, 0.8])


def test_sklearn_names_are_aliases():
    assert M.accuracy_score is M.accuracy and M.precision_score is M.precision and M.roc_auc_score is M.roc_auc


class ProbabilityModel:
    """Anything with predict(x): here a fixed softmax over 3 classes, class 2 never predicted."""

    def predict(self, x, batch_size=None):
        scores = np.c_[x[:, 0], x[:, 1], np.full(len(x), -9.0)]
        return np.exp(scores) / np.exp(scores).sum(1, keepdims=True)


def test_report_gathers_everything_for_a_classifier():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = rng.integers(0, 3, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        out = M.report(ProbabilityModel(), x, np.eye(3)[y], target_names=["a", "b", "c"])
        pred = ProbabilityModel().predict(x).argmax(1)
        assert out["accuracy"] == M.accuracy(y, pred)
        np.testing.assert_array_equal(out["labels"], [0, 1, 2])
        np.testing.assert_allclose(out["precision"], M.precision(y, pred, average=None, labels=[0, 1, 2]))
        np.testing.assert_allclose(out["f1"], M.f1_score(y, pred, average=None, labels=[0, 1, 2]))
        np.testing.assert_array_equal(out["support"], np.bincount(y, minlength=3))
        np.testing.assert_array_equal(out["confusion_matrix"], M.confusion_matrix(y, pred, labels=[0, 1, 2]))
        assert out["classification_report"] == M.classification_report(y, pred, labels=[0, 1, 2],
                                                                        target_names=["a", "b", "c"])
        assert out["macro avg"]["f1-score"] == pytest.approx(out["f1"].mean())
    with pytest.raises(TypeError, match="predict"):
        M.report(object(), x, y)
    with pytest.raises(ValueError, match="60 samples but y_pred has 59|has 60 samples"):
        M.report(ProbabilityModel(), x[:59], y)
