"""Stateful metrics: accumulated over uneven batches they equal the whole-array functions, and Keras 3."""

import json
import re

import numpy as np
import pytest

import neurona.metrics as M

SPLITS = [0, 7, 30, 31, 64, 200]  # uneven batches, one of a single sample


def accumulate(metric, *arrays, sample_weight=None):
    metric.reset_state()
    for a, b in zip(SPLITS[:-1], SPLITS[1:]):
        w = None if sample_weight is None else sample_weight[a:b]
        metric.update_state(*(x[a:b] for x in arrays), sample_weight=w)
    return metric.result()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n, k = 200, 4
    t = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.2 * np.eye(k)[t]
    prob = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    bt = rng.integers(0, 2, n)
    bprob = np.clip(0.5 + rng.normal(0, 0.2, n) + 0.1 * (2 * bt - 1), 0, 1).astype(np.float32)
    bprob[:3] = 0.5
    y = rng.normal(size=(n, 2))
    return {"t": t, "onehot": np.eye(k, dtype=np.float32)[t], "prob": prob, "bt": bt, "bprob": bprob,
            "y": y, "yhat": y + rng.normal(scale=0.4, size=(n, 2)), "w": rng.random(n)}


def test_accuracies_accumulate_to_the_whole_array_value(data):
    t, prob, bt, bprob, w = data["t"], data["prob"], data["bt"], data["bprob"], data["w"]
    assert accumulate(M.BinaryAccuracy(), bt[:, None], bprob[:, None]) == pytest.approx(M.accuracy(bt, bprob))
    assert accumulate(M.BinaryAccuracy(), bt, bprob, sample_weight=w) == pytest.approx(
        M.accuracy(bt, bprob, sample_weight=w))
    assert accumulate(M.CategoricalAccuracy(), data["onehot"], prob) == pytest.approx(M.accuracy(t, prob))
    assert accumulate(M.SparseCategoricalAccuracy(), t, prob) == pytest.approx(M.accuracy(t, prob))
    assert accumulate(M.SparseCategoricalAccuracy(), t[:, None], prob, sample_weight=w) == pytest.approx(
        M.accuracy(t, prob, sample_weight=w))
    assert accumulate(M.Accuracy(), t, prob.argmax(1)) == pytest.approx(M.accuracy(t, prob))
    for k in (1, 2, 3):
        assert accumulate(M.TopKCategoricalAccuracy(k=k), data["onehot"], prob) == pytest.approx(
            M.top_k_accuracy(t, prob, k=k))
        assert accumulate(M.SparseTopKCategoricalAccuracy(k=k), t, prob) == pytest.approx(
            M.top_k_accuracy(t, prob, k=k))


def test_precision_recall_f1_accumulate_to_the_whole_array_value(data):
    t, prob, bt, bprob, w = data["t"], data["prob"], data["bt"], data["bprob"], data["w"]
    assert accumulate(M.Precision(), bt, bprob) == pytest.approx(M.precision(bt, bprob), abs=1e-12)
    assert accumulate(M.Recall(), bt[:, None], bprob[:, None]) == pytest.approx(M.recall(bt, bprob), abs=1e-12)
    assert accumulate(M.Precision(), bt, bprob, sample_weight=w) == pytest.approx(
        M.precision(bt, bprob, sample_weight=w), abs=1e-12)
    # class_id: one class of a softmax output, as a binary problem
    assert accumulate(M.Recall(class_id=2), data["onehot"], prob) == pytest.approx(
        M.recall(t == 2, prob[:, 2]), abs=1e-12)
    for average in ("macro", "weighted", "micro"):
        assert accumulate(M.F1Score(average=average), data["onehot"], prob) == pytest.approx(
            M.f1_score(t, prob, average=average), abs=1e-6)
    np.testing.assert_allclose(accumulate(M.F1Score(), t, prob), M.f1_score(t, prob, average=None), atol=1e-6)
    np.testing.assert_allclose(accumulate(M.F1Score(average="macro"), data["onehot"], prob, sample_weight=w),
                               M.f1_score(t, prob, average="macro", sample_weight=w), atol=1e-6)
    assert accumulate(M.ArrayMetric(M.f1_score, average="macro"), t, prob) == M.f1_score(t, prob, average="macro")


def test_auc_is_close_to_the_exact_area(data):
    bt, bprob = data["bt"], data["bprob"]
    assert accumulate(M.AUC(), bt, bprob) == pytest.approx(M.roc_auc(bt, bprob), abs=5e-3)
    assert accumulate(M.AUC(num_thresholds=2000), bt, bprob, sample_weight=data["w"]) == pytest.approx(
        M.roc_auc(bt, bprob, sample_weight=data["w"]), abs=1e-3)
    auc_ml = accumulate(M.AUC(multi_label=True), data["onehot"], data["prob"])
    assert auc_ml == pytest.approx(M.roc_auc(data["t"], data["prob"].astype(np.float64)), abs=5e-3)
    # a perfect ranking
    m = M.AUC()
    m.update_state(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert m.result() == pytest.approx(1.0)


def test_regression_metrics_accumulate_to_the_whole_array_value(data):
    y, yhat, w = data["y"], data["yhat"], data["w"]
    assert accumulate(M.MeanSquaredError(), y, yhat) == pytest.approx(M.mean_squared_error(y, yhat))
    assert accumulate(M.MeanAbsoluteError(), y, yhat, sample_weight=w) == pytest.approx(
        M.mean_absolute_error(y, yhat, sample_weight=w))
    assert accumulate(M.RootMeanSquaredError(), y[:, 0], yhat[:, 0]) == pytest.approx(
        M.root_mean_squared_error(y[:, 0], yhat[:, 0]))
    assert accumulate(M.R2Score(), y, yhat) == pytest.approx(M.r2_score(y, yhat))
    assert accumulate(M.R2Score(), y[:, :1], yhat[:, 0], sample_weight=w) == pytest.approx(
        M.r2_score(y[:, 0], yhat[:, 0], sample_weight=w))
    np.testing.assert_allclose(accumulate(M.R2Score(class_aggregation=None), y, yhat),
                               M.r2_score(y, yhat, multioutput="raw_values"))
    assert accumulate(M.ArrayMetric(M.pearson_r), y[:, 0], yhat[:, 0]) == pytest.approx(
        M.pearson_r(y[:, 0], yhat[:, 0]))


def test_mean_sum_and_loss_tracking():
    m = M.Mean()
    m.update_state([1, 3, 5, 7])
    assert m.result() == 4.0
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == pytest.approx((16 + 4) / 6)
    loss = M.Mean(name="loss")  # batch losses weighted by batch size, as Keras's loss tracker
    loss.update_state(0.5, sample_weight=32)
    loss.update_state(2.0, sample_weight=8)
    assert loss.result() == pytest.approx((0.5 * 32 + 2.0 * 8) / 40)
    s = M.Sum()
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert s.result() == 4.0
    s.reset_state()
    assert s.result() == 0.0


def test_reset_state_call_and_empty_result():
    m = M.BinaryAccuracy()
    assert m.result() == 0.0
    assert m(np.array([1, 0]), np.array([0.9, 0.8])) == 0.5
    m.reset_state()
    assert m.result() == 0.0
    for metric in (M.Precision(), M.Recall(), M.F1Score(average="macro"), M.AUC(), M.get("accuracy"), M.Mean(),
                   M.R2Score(), M.ArrayMetric(M.roc_auc)):
        assert metric.result() == 0.0


def test_get_resolves_identifiers_with_keras_history_names():
    for name, cls in [("mse", M.MeanSquaredError), ("mae", M.MeanAbsoluteError), ("rmse", M.RootMeanSquaredError),
                      ("precision", M.Precision), ("recall", M.Recall), ("f1_score", M.F1Score), ("auc", M.AUC),
                      ("binary_accuracy", M.BinaryAccuracy), ("categorical_accuracy", M.CategoricalAccuracy),
                      ("sparse_categorical_accuracy", M.SparseCategoricalAccuracy), ("acc", M.AutoAccuracy),
                      ("accuracy", M.AutoAccuracy), ("mean_squared_error", M.MeanSquaredError),
                      ("Precision", M.Precision), ("r2_score", M.R2Score)]:
        metric = M.get(name)
        assert type(metric) is cls and metric.name == name
    assert M.get(M.MeanSquaredError).name == "mean_squared_error"
    assert M.get(M.Precision).name == "precision"
    m = M.Recall(name="sensitivity")
    assert M.get(m) is m

    def my_metric(y_true, y_pred):
        return np.abs(y_true - y_pred)

    wrapped = M.get(my_metric)
    assert isinstance(wrapped, M.MeanMetricWrapper) and wrapped.name == "my_metric"
    assert wrapped(np.array([1.0, 2.0]), np.array([2.0, 2.0])) == 0.5
    assert isinstance(M.get(M.roc_auc), M.ArrayMetric) and M.get(M.roc_auc).name == "roc_auc"
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        M.get("acuracy")
    with pytest.raises(ValueError, match="could not interpret"):
        M.get(3)


def test_accuracy_is_resolved_from_shapes_as_keras_does(data):
    cases = [((data["bt"][:, None], data["bprob"][:, None]), M.BinaryAccuracy),
             ((data["t"], data["prob"]), M.SparseCategoricalAccuracy),
             ((data["t"][:, None], data["prob"]), M.SparseCategoricalAccuracy),
             ((data["onehot"], data["prob"]), M.CategoricalAccuracy),
             ((data["bt"], data["bprob"]), M.BinaryAccuracy)]
    for (t, p), cls in cases:
        m = M.get("accuracy")
        m.update_state(t, p)
        assert type(m.resolved) is cls and m.resolved.name == "accuracy"
        assert m.result() == pytest.approx(M.accuracy(t, p))


def test_serialize_round_trip_and_refusal():
    for metric in (M.Precision(thresholds=[0.3, 0.7]), M.F1Score(average="macro", threshold=0.4),
                   M.AUC(num_thresholds=50, curve="PR"), M.BinaryAccuracy(threshold=0.3),
                   M.TopKCategoricalAccuracy(k=2),
                   M.R2Score(class_aggregation=None), M.SparseCategoricalCrossentropy(from_logits=True)):
        config = json.loads(json.dumps(M.serialize(metric)))
        copy = M.deserialize(config)
        assert type(copy) is type(metric) and copy.get_config() == metric.get_config()
    with pytest.raises(ValueError, match="unknown metric class 'Evil'"):
        M.deserialize({"class_name": "Evil", "config": {}})


def test_update_with_mismatched_lengths_names_the_metric():
    with pytest.raises(ValueError, match="metric 'precision': y_true has 3 samples but y_pred has 2"):
        M.Precision().update_state(np.array([0, 1, 1]), np.array([0.2, 0.9]))
    with pytest.raises(ValueError, match="average='mean' is not supported"):
        M.F1Score(average="mean")
    with pytest.raises(ValueError, match=r"metric 'mse' cannot compare y_true of shape \(4,\) with y_pred of shape "
                                         r"\(4, 3\)"):
        M.get("mse").update_state(np.zeros(4), np.zeros((4, 3)))


# ---------------------------------------------------------------- Keras 3 parity

KERAS_CASES = [
    ("BinaryAccuracy", {}, "b"), ("BinaryAccuracy", {"threshold": 0.7}, "b"), ("CategoricalAccuracy", {}, "c"),
    ("SparseCategoricalAccuracy", {}, "s"), ("TopKCategoricalAccuracy", {"k": 2}, "c"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "s"), ("Precision", {}, "b"), ("Recall", {}, "b"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.8]}, "b"), ("Recall", {"top_k": 2}, "c"),
    ("Precision", {"class_id": 1}, "c"), ("Precision", {}, "c"),
    ("F1Score", {}, "c"), ("F1Score", {"average": "macro"}, "c"), ("F1Score", {"average": "weighted"}, "c"),
    ("F1Score", {"average": "micro", "threshold": 0.3}, "c"), ("AUC", {}, "b"), ("AUC", {"curve": "PR"}, "b"),
    ("AUC", {"num_thresholds": 37, "summation_method": "minoring"}, "b"), ("AUC", {"multi_label": True}, "c"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.9]}, "b"),
    ("MeanSquaredError", {}, "r"), ("MeanAbsoluteError", {}, "r"), ("RootMeanSquaredError", {}, "r"),
    ("R2Score", {}, "r"), ("R2Score", {"class_aggregation": "variance_weighted_average"}, "r"),
    ("BinaryCrossentropy", {}, "b"), ("CategoricalCrossentropy", {}, "c"), ("SparseCategoricalCrossentropy", {}, "s"),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # keras-torch's own __array__ notice
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,kwargs,kind", KERAS_CASES)
def test_values_equal_keras(keras, data, name, kwargs, kind, weighted):
    arrays = {"b": (data["bt"][:, None].astype(np.float32), data["bprob"][:, None]),
              "c": (data["onehot"], data["prob"]), "s": (data["t"][:, None], data["prob"]),
              "r": (data["y"].astype(np.float32), data["yhat"].astype(np.float32))}[kind]
    w = data["w"].astype(np.float32) if weighted else None
    ours = getattr(M, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    for a, b in zip(SPLITS[:-1], SPLITS[1:]):
        ours.update_state(*(x[a:b] for x in arrays), sample_weight=None if w is None else w[a:b])
        theirs.update_state(*(x[a:b] for x in arrays), sample_weight=None if w is None else w[a:b])
    np.testing.assert_allclose(ours.result(), keras.ops.convert_to_numpy(theirs.result()), rtol=2e-5, atol=2e-6)
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)  # Keras numbers repeated default names; neurona does not


def test_history_names_equal_keras_compile(keras):
    from keras.src.trainers.compile_utils import get_metric

    y_true, y_pred = np.zeros((4, 1)), np.zeros((4, 1))
    for identifier in ("accuracy", "acc", "mse", "mae", "precision", "recall", "f1_score", "auc",
                       "binary_accuracy", "root_mean_squared_error", "r2_score"):
        assert M.get(identifier).name == get_metric(identifier, y_true, y_pred).name
    for cls in ("MeanSquaredError", "Precision", "AUC", "F1Score", "SparseCategoricalAccuracy"):
        keras_name = get_metric(getattr(keras.metrics, cls), y_true, y_pred).name
        assert M.get(getattr(M, cls)).name == re.sub(r"_\d+$", "", keras_name)
