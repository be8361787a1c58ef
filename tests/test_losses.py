"""neurona.losses: every loss against hand formulas (and torch / Keras when installed), gradients, reductions,
sample weights, the fused softmax/sigmoid paths and the errors students meet."""

import math

import numpy as np
import pytest

import neurona as nr
from neurona import losses as L

rng = np.random.default_rng(0)
N, K = 6, 4
EPS = 1e-7
P = rng.dirichlet(np.full(K, 3.0), N)  # probabilities away from the clip at 1e-7, rows sum to 1
Z = rng.normal(0, 2, (N, K))  # logits
Y = rng.uniform(-1, 2, (N, K))  # regression targets
YP = rng.uniform(0.1, 2, (N, K))  # positive targets
LAB = rng.integers(0, K, N)
ONEHOT = np.eye(K)[LAB]
B = rng.integers(0, 2, (N, K)).astype(float)
SW = rng.uniform(0.5, 2, N)


def _clip(p):
    return np.clip(p, EPS, 1 - EPS)


def _log_softmax(z):
    m = z - z.max(-1, keepdims=True)
    return m - np.log(np.exp(m).sum(-1, keepdims=True))


def _normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), EPS)


def _huber(d, delta):
    a = np.abs(d)
    return np.where(a <= delta, 0.5 * d**2, delta * a - 0.5 * delta**2)


# name: (loss object, y_true, y_pred, per-sample reference computed here by hand)
CASES = {
    "mse": (L.MeanSquaredError(), Y, Z, lambda t, p: ((p - t) ** 2).mean(-1)),
    "mae": (L.MeanAbsoluteError(), Y, Z, lambda t, p: np.abs(p - t).mean(-1)),
    "mape": (L.MeanAbsolutePercentageError(), Y, Z,
             lambda t, p: 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1)),
    "msle": (L.MeanSquaredLogarithmicError(), YP, P,
             lambda t, p: ((np.log1p(np.maximum(p, EPS)) - np.log1p(np.maximum(t, EPS))) ** 2).mean(-1)),
    "huber": (L.Huber(), Y, Z, lambda t, p: _huber(p - t, 1.0).mean(-1)),
    "huber_delta": (L.Huber(delta=0.3), Y, Z, lambda t, p: _huber(p - t, 0.3).mean(-1)),
    "log_cosh": (L.LogCosh(), Y, Z, lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
    "kld": (L.KLDivergence(), rng.dirichlet(np.ones(K), N), P,
            lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1)),
    "poisson": (L.Poisson(), YP, YP[::-1] + 0.1, lambda t, p: (p - t * np.log(p + EPS)).mean(-1)),
    "hinge": (L.Hinge(), B, Z, lambda t, p: np.maximum(1 - (2 * t - 1) * p, 0).mean(-1)),
    "squared_hinge": (L.SquaredHinge(), B, Z, lambda t, p: (np.maximum(1 - (2 * t - 1) * p, 0) ** 2).mean(-1)),
    "cosine": (L.CosineSimilarity(), Y, Z, lambda t, p: -(_normalize(t) * _normalize(p)).sum(-1)),
    "bce": (L.BinaryCrossentropy(), B, P,
            lambda t, p: -(t * np.log(_clip(p)) + (1 - t) * np.log(1 - _clip(p))).mean(-1)),
    "bce_smooth": (L.BinaryCrossentropy(label_smoothing=0.2), B, P,
                   lambda t, p: -((t * 0.8 + 0.1) * np.log(_clip(p))
                                  + (0.9 - 0.8 * t) * np.log(1 - _clip(p))).mean(-1)),
    "bce_logits": (L.BinaryCrossentropy(from_logits=True), B, Z,
                   lambda t, p: -(t * np.log(1 / (1 + np.exp(-p))) + (1 - t) * np.log(1 / (1 + np.exp(p)))).mean(-1)),
    "bce_logits_smooth": (L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), B, Z,
                          lambda t, p: -((t * 0.9 + 0.05) * np.log(1 / (1 + np.exp(-p)))
                                         + (0.95 - 0.9 * t) * np.log(1 / (1 + np.exp(p)))).mean(-1)),
    "cce": (L.CategoricalCrossentropy(), ONEHOT, P, lambda t, p: -(t * np.log(_clip(p / p.sum(-1, keepdims=True))))
            .sum(-1)),
    "cce_smooth": (L.CategoricalCrossentropy(label_smoothing=0.2), ONEHOT, P,
                   lambda t, p: -((t * 0.8 + 0.05) * np.log(_clip(p))).sum(-1)),
    "cce_logits": (L.CategoricalCrossentropy(from_logits=True), ONEHOT, Z, lambda t, p: -(t * _log_softmax(p)).sum(-1)),
    "cce_logits_smooth": (L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), ONEHOT, Z,
                          lambda t, p: -((t * 0.9 + 0.025) * _log_softmax(p)).sum(-1)),
    "sparse": (L.SparseCategoricalCrossentropy(), LAB, P, lambda t, p: -np.log(_clip(p[np.arange(N), t]))),
    "sparse_logits": (L.SparseCategoricalCrossentropy(from_logits=True), LAB, Z,
                      lambda t, p: -_log_softmax(p)[np.arange(N), t]),
}


def _with_reduction(loss, reduction):
    config = {k: v for k, v in loss.get_config().items() if k != "fn"}
    return type(loss)(**{**config, "reduction": reduction})


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_against_hand_formula(name):
    loss, t, p, ref = CASES[name]
    per_sample = ref(t, p)
    np.testing.assert_allclose(loss(t, nr.Tensor(p)).item(), per_sample.mean(), rtol=1e-10)
    np.testing.assert_allclose(loss(t, nr.Tensor(p), sample_weight=SW).item(), (per_sample * SW).mean(), rtol=1e-10)
    np.testing.assert_allclose(_with_reduction(loss, "sum")(t, nr.Tensor(p)).item(), per_sample.sum(), rtol=1e-10)
    np.testing.assert_allclose(_with_reduction(loss, "none")(t, nr.Tensor(p)).data, per_sample, rtol=1e-10)
    np.testing.assert_allclose(_with_reduction(loss, "none")(t, nr.Tensor(p), sample_weight=SW).data,
                               per_sample * SW, rtol=1e-10)
    np.testing.assert_allclose(_with_reduction(loss, "mean_with_sample_weight")(t, nr.Tensor(p), SW).item(),
                               (per_sample * SW).sum() / SW.sum(), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient(name):
    loss, t, p, _ = CASES[name]
    assert nr.gradcheck(lambda x: loss(t, x), p)  # the unweighted mean (fused ops where they exist)
    assert nr.gradcheck(lambda x: loss(t, x, sample_weight=SW), p)  # the per-sample path


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_stays_float32(name):
    loss, t, p, _ = CASES[name]
    assert loss(t, nr.Tensor(p.astype(np.float32))).dtype == np.float32
    assert loss(t, nr.Tensor(p.astype(np.float32)), sample_weight=SW).dtype == np.float32


def test_function_aliases_return_per_sample_values():
    t, p = Y, nr.Tensor(Z)
    for fn in (L.mse, L.MSE, L.mean_squared_error):
        np.testing.assert_allclose(fn(t, p).data, ((Z - Y) ** 2).mean(-1))
    np.testing.assert_allclose(L.mae(t, p).data, np.abs(Z - Y).mean(-1))
    np.testing.assert_allclose(L.huber(t, p, delta=0.5).data, _huber(Z - Y, 0.5).mean(-1))
    np.testing.assert_allclose(L.sparse_categorical_crossentropy(LAB, nr.Tensor(Z), from_logits=True).data,
                               -_log_softmax(Z)[np.arange(N), LAB])
    np.testing.assert_allclose(L.categorical_crossentropy(ONEHOT, nr.Tensor(P)).data,
                               -np.log(_clip(P[np.arange(N), LAB])), rtol=1e-12)
    assert L.kld is L.kl_divergence and L.logcosh is L.log_cosh and L.bce is L.binary_crossentropy


def test_rank_matching_of_labels_and_single_output():
    p = rng.uniform(0.1, 0.9, (N, 1))
    t = rng.integers(0, 2, N)
    expected = L.BinaryCrossentropy()(t[:, None], nr.Tensor(p)).item()
    assert L.BinaryCrossentropy()(t, nr.Tensor(p)).item() == pytest.approx(expected)
    assert L.MeanSquaredError()(t.astype(float), nr.Tensor(p)).item() == pytest.approx(((p[:, 0] - t) ** 2).mean())
    np.testing.assert_allclose(L.SparseCategoricalCrossentropy()(LAB[:, None], nr.Tensor(P)).item(),
                               -np.log(P[np.arange(N), LAB]).mean())


def test_logits_paths_are_stable_for_huge_values():
    z = np.array([[1000.0, -1000.0, 0.0]])
    assert L.CategoricalCrossentropy(from_logits=True)(np.array([[0, 0, 1.0]]), nr.Tensor(z)).item() == \
        pytest.approx(1000.0)
    assert L.SparseCategoricalCrossentropy(from_logits=True)(np.array([1]), nr.Tensor(z), SW[:1]).item() == \
        pytest.approx(2000.0 * SW[0])
    value = L.BinaryCrossentropy(from_logits=True)(np.array([[0.0, 1.0, 1.0]]), nr.Tensor(z)).item()
    assert value == pytest.approx((1000 + 1000 + math.log(2)) / 3)


def test_probabilities_are_clipped_as_keras():
    p = np.array([[1.0, 0.0]])
    assert L.CategoricalCrossentropy()(np.array([[0.0, 1.0]]), nr.Tensor(p)).item() == \
        pytest.approx(-math.log(1e-7), rel=1e-6)
    assert L.BinaryCrossentropy()(np.array([[0.0, 1.0]]), nr.Tensor(p)).item() == \
        pytest.approx(-math.log(1e-7), rel=1e-5)


# ----------------------------------------------------------------------------- fused
@pytest.mark.parametrize("loss,activation,t,z", [
    (L.CategoricalCrossentropy(), "softmax", ONEHOT, Z),
    (L.CategoricalCrossentropy(label_smoothing=0.1), "softmax", ONEHOT, Z),
    (L.SparseCategoricalCrossentropy(), "softmax", LAB, Z),
    (L.BinaryCrossentropy(), "sigmoid", B, Z),
    (L.BinaryCrossentropy(label_smoothing=0.2, reduction="sum"), "sigmoid", B, Z),
])
def test_fused_equals_the_unfused_loss(loss, activation, t, z):
    act = nr.ops.softmax if activation == "softmax" else nr.ops.sigmoid
    f = L.fused(loss, activation)
    assert f is not None and f.from_logits and f.name == loss.name and f.reduction == loss.reduction
    for sw in (None, SW):
        np.testing.assert_allclose(f(t, nr.Tensor(z), sw).item(), loss(t, act(nr.Tensor(z)), sw).item(), rtol=1e-9)
    zt = nr.Tensor(z, requires_grad=True)
    f(t, zt).backward()
    zu = nr.Tensor(z, requires_grad=True)
    loss(t, act(zu)).backward()
    np.testing.assert_allclose(zt.grad, zu.grad, rtol=1e-7, atol=1e-12)


def test_fused_backward_is_p_minus_y():
    zt = nr.Tensor(Z, requires_grad=True)
    L.fused(L.get("categorical_crossentropy"), "softmax")(ONEHOT, zt).backward()
    np.testing.assert_allclose(zt.grad, (np.exp(_log_softmax(Z)) - ONEHOT) / N, rtol=1e-12)


def test_nothing_to_fuse():
    assert L.fused(L.MeanSquaredError(), "softmax") is None
    assert L.fused(L.CategoricalCrossentropy(), "sigmoid") is None
    assert L.fused(L.BinaryCrossentropy(), "softmax") is None
    assert L.fused(L.CategoricalCrossentropy(from_logits=True), "softmax") is None
    assert L.fused(L.CategoricalCrossentropy(), None) is None

    class Custom(L.CategoricalCrossentropy):
        pass

    assert L.fused(Custom(), "softmax") is None  # a subclass may have changed call(): leave it alone


# ----------------------------------------------------------------------------- errors
def test_categorical_with_integer_labels_suggests_the_fix():
    with pytest.raises(ValueError, match=r"predictions \(6, 4\), got y_true of shape \(6,\).*"
                                         r"sparse_categorical_crossentropy.*to_categorical\(y, num_classes=4\)"):
        L.get("categorical_crossentropy")(LAB, nr.Tensor(P))
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        L.CategoricalCrossentropy(from_logits=True)(LAB[:, None], nr.Tensor(Z))


def test_sparse_labels_out_of_range_name_the_label_and_classes():
    bad = LAB.copy()
    bad[2] = 7
    for loss in (L.SparseCategoricalCrossentropy(), L.SparseCategoricalCrossentropy(from_logits=True)):
        with pytest.raises(ValueError, match="label 7 is out of range for 4 classes"):
            loss(bad, nr.Tensor(P))
        with pytest.raises(ValueError, match="label -1 is out of range"):
            loss(-np.ones(N), nr.Tensor(P), sample_weight=SW)


def test_sparse_with_one_hot_or_fractional_labels():
    with pytest.raises(ValueError, match="one-hot.*categorical_crossentropy"):
        L.SparseCategoricalCrossentropy()(ONEHOT, nr.Tensor(P))
    with pytest.raises(ValueError, match="integer class labels, got the value 1.5"):
        L.SparseCategoricalCrossentropy()(np.full(N, 1.5), nr.Tensor(P))


def test_shape_mismatch_and_bad_sample_weight():
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true of shape \(6, 3\) does not match y_pred"):
        L.MeanSquaredError()(Y[:, :3], nr.Tensor(Z))
    with pytest.raises(ValueError, match="sample_weight of shape"):
        L.MeanSquaredError()(Y, nr.Tensor(Z), sample_weight=np.ones(N + 1))
    with pytest.raises(ValueError, match="unknown reduction"):
        L.MeanSquaredError(reduction="avg")


def test_custom_loss_function_and_subclass():
    def my_loss(y_true, y_pred):
        return nr.ops.mean(nr.ops.abs(y_pred - y_true) * 2.0, axis=-1)

    loss = L.get(my_loss)
    assert loss.name == "my_loss"
    np.testing.assert_allclose(loss(Y, nr.Tensor(Z), SW).item(), (2 * np.abs(Z - Y).mean(-1) * SW).mean())

    class Cube(L.Loss):
        def call(self, y_true, y_pred):
            return nr.ops.mean((y_pred - y_true) ** 3.0, axis=-1)

    assert Cube().name == "cube"
    np.testing.assert_allclose(Cube()(Y, nr.Tensor(Z)).item(), ((Z - Y) ** 3).mean(), rtol=1e-6)
    with pytest.raises(TypeError, match="not a Tensor"):
        L.get(lambda t, p: np.zeros(3))(Y, nr.Tensor(Z))


# ----------------------------------------------------------------------------- lookup
def test_get():
    for name, cls in [("mse", L.MeanSquaredError), ("MSE", L.MeanSquaredError), ("mean_squared_error",
                      L.MeanSquaredError), ("mae", L.MeanAbsoluteError), ("huber", L.Huber), ("Huber", L.Huber),
                      ("binary_crossentropy", L.BinaryCrossentropy), ("categorical_crossentropy",
                      L.CategoricalCrossentropy), ("sparse_categorical_crossentropy", L.SparseCategoricalCrossentropy),
                      ("kld", L.KLDivergence), ("logcosh", L.LogCosh), ("hinge", L.Hinge)]:
        assert type(L.get(name)) is cls, name
    assert type(L.get(L.categorical_crossentropy)) is L.CategoricalCrossentropy  # fusable from the function too
    assert L.get("categorical_crossentropy").name == "categorical_crossentropy"
    loss = L.Huber(0.5)
    assert L.get(loss) is loss and L.get(None) is None
    assert type(L.get(L.Hinge)) is L.Hinge
    with pytest.raises(ValueError, match="unknown loss 'categorical_cross_entropy'.*categorical_crossentropy"):
        L.get("categorical_cross_entropy")
    with pytest.raises(TypeError):
        L.get(3)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip(name):
    loss = CASES[name][0]
    again = L.deserialize(L.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert again.from_logits == loss.from_logits


def test_config_of_wrapped_function_and_refusal_of_unknown_names():
    again = L.deserialize(L.serialize(L.LossFunctionWrapper(L.huber, delta=0.5)))
    assert again.fn is L.huber and again.get_config()["delta"] == 0.5
    with pytest.raises(ValueError, match="unknown loss function"):
        L.deserialize({"class_name": "LossFunctionWrapper", "config": {"fn": "os.system"}})
    with pytest.raises(ValueError, match="unknown loss"):
        L.deserialize({"class_name": "Evil", "config": {}})


# ----------------------------------------------------------------------------- peers
def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    t, z, p = torch.tensor(Y), torch.tensor(Z), torch.tensor(P)
    checks = [
        (L.MeanSquaredError()(Y, nr.Tensor(Z)), F.mse_loss(z, t)),
        (L.MeanAbsoluteError()(Y, nr.Tensor(Z)), F.l1_loss(z, t)),
        (L.Huber(delta=0.3)(Y, nr.Tensor(Z)), F.huber_loss(z, t, delta=0.3)),
        (L.BinaryCrossentropy()(B, nr.Tensor(P)), F.binary_cross_entropy(p, torch.tensor(B))),
        (L.BinaryCrossentropy(from_logits=True)(B, nr.Tensor(Z)), F.binary_cross_entropy_with_logits(
            z, torch.tensor(B))),
        (L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(ONEHOT, nr.Tensor(Z)),
         F.cross_entropy(z, torch.tensor(LAB), label_smoothing=0.1)),
        (L.SparseCategoricalCrossentropy(from_logits=True)(LAB, nr.Tensor(Z), SW),
         (F.cross_entropy(z, torch.tensor(LAB), reduction="none") * torch.tensor(SW)).mean()),
        (L.SparseCategoricalCrossentropy()(LAB, nr.Tensor(P)), F.nll_loss(torch.log(p), torch.tensor(LAB))),
        (L.CosineSimilarity()(Y, nr.Tensor(Z)), -F.cosine_similarity(z, t, dim=-1).mean()),
        (L.KLDivergence()(CASES["kld"][1], nr.Tensor(P)),
         F.kl_div(torch.log(p), torch.tensor(CASES["kld"][1]), reduction="sum") / N),
    ]
    for ours, theirs in checks:
        np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-9)


KERAS_CLASS = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError", "mape": "MeanAbsolutePercentageError",
               "msle": "MeanSquaredLogarithmicError", "huber": "Huber", "huber_delta": "Huber", "log_cosh": "LogCosh",
               "kld": "KLDivergence", "poisson": "Poisson", "hinge": "Hinge", "squared_hinge": "SquaredHinge",
               "cosine": "CosineSimilarity", "bce": "BinaryCrossentropy", "bce_smooth": "BinaryCrossentropy",
               "bce_logits": "BinaryCrossentropy", "bce_logits_smooth": "BinaryCrossentropy",
               "cce": "CategoricalCrossentropy", "cce_smooth": "CategoricalCrossentropy",
               "cce_logits": "CategoricalCrossentropy", "cce_logits_smooth": "CategoricalCrossentropy",
               "sparse": "SparseCategoricalCrossentropy", "sparse_logits": "SparseCategoricalCrossentropy"}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_against_keras(keras, name):
    loss, t, p, _ = CASES[name]
    config = {k: v for k, v in loss.get_config().items() if k != "fn"}
    for reduction in ("sum_over_batch_size", "sum", "none"):
        theirs = getattr(keras.losses, KERAS_CLASS[name])(**{**config, "reduction": reduction, "dtype": "float64"})
        ours = _with_reduction(loss, reduction)
        for sw in (None, SW):
            expected = keras.ops.convert_to_numpy(theirs(t, p, sample_weight=sw))
            # Keras computes some of these in float32 even when asked for float64
            np.testing.assert_allclose(ours(t, nr.Tensor(p), sw).data, expected, rtol=1e-6, atol=1e-12)
    keras_config = keras.losses.serialize(theirs)["config"]
    again = L.deserialize({"class_name": KERAS_CLASS[name], "config": keras_config}).get_config()
    assert all(again.get(k, v) == v for k, v in keras_config.items() if k != "dtype"), (again, keras_config)
