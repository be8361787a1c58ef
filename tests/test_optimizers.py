"""neurona.optimizers: each update rule against an independent NumPy version of the published rule, against
Keras and torch when installed; clipping, weight decay, legacy decay, schedules, configs and errors."""

import math

import numpy as np
import pytest

import neurona as nr
from neurona import optimizers as O
from neurona.optimizers import schedules as S

rng = np.random.default_rng(0)
SHAPES = [(4, 3), (3,)]
W0 = [rng.normal(size=s) for s in SHAPES]
GRADS = [[rng.normal(size=s) for s in SHAPES] for _ in range(6)]


# ----------------------------------------------------------------------------- the published rules
def sgd_rule(lr=0.01, momentum=0.0, nesterov=False):
    def step(w, g, state, t):
        if not momentum:
            return w - lr * g
        m = momentum * state.get("m", 0) - lr * g
        state["m"] = m
        return w + momentum * m - lr * g if nesterov else w + m
    return step


def adam_rule(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=0.0):
    def step(w, g, state, t):
        w = w - lr * weight_decay * w
        m = beta_1 * state.get("m", 0) + (1 - beta_1) * g
        v = beta_2 * state.get("v", 0) + (1 - beta_2) * g * g
        state["m"], state["v"] = m, v
        if amsgrad:
            v = state["vhat"] = np.maximum(state.get("vhat", 0), v)
        alpha = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)  # Keras's form: epsilon outside sqrt(v)
        return w - alpha * m / (np.sqrt(v) + epsilon)
    return step


def nadam_rule(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    def step(w, g, state, t):
        u = [beta_1 * (1 - 0.5 * 0.96**k) for k in range(1, t + 2)]  # the momentum schedule, u_1 .. u_{t+1}
        prod_t, prod_next = math.prod(u[:t]), math.prod(u[: t + 1])
        m = beta_1 * state.get("m", 0) + (1 - beta_1) * g
        v = beta_2 * state.get("v", 0) + (1 - beta_2) * g * g
        state["m"], state["v"] = m, v
        m_hat = u[t] * m / (1 - prod_next) + (1 - u[t - 1]) * g / (1 - prod_t)
        v_hat = v / (1 - beta_2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)
    return step


def adamax_rule(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    def step(w, g, state, t):
        m = beta_1 * state.get("m", 0) + (1 - beta_1) * g
        u = np.maximum(beta_2 * state.get("u", 0), np.abs(g))
        state["m"], state["u"] = m, u
        return w - lr / (1 - beta_1**t) * m / (u + epsilon)
    return step


def rmsprop_rule(lr=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    def step(w, g, state, t):
        v = rho * state.get("v", 0) + (1 - rho) * g * g
        state["v"] = v
        denominator = v + epsilon
        if centered:
            a = rho * state.get("a", 0) + (1 - rho) * g
            state["a"] = a
            denominator = v - a * a + epsilon
        increment = lr * g / np.sqrt(denominator)
        if momentum:
            increment = state["mom"] = momentum * state.get("mom", 0) + increment
        return w - increment
    return step


def adagrad_rule(lr=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
    def step(w, g, state, t):
        acc = state.get("acc", initial_accumulator_value) + g * g
        state["acc"] = acc
        return w - lr * g / np.sqrt(acc + epsilon)
    return step


def adadelta_rule(lr=0.001, rho=0.95, epsilon=1e-7):
    def step(w, g, state, t):
        eg = rho * state.get("eg", 0) + (1 - rho) * g * g
        delta = -np.sqrt(state.get("ed", 0) + epsilon) / np.sqrt(eg + epsilon) * g
        state["eg"], state["ed"] = eg, rho * state.get("ed", 0) + (1 - rho) * delta * delta
        return w + lr * delta
    return step


CASES = {  # name: (optimizer factory, rule, keras class name or None)
    "sgd": (lambda: O.SGD(), sgd_rule(), "SGD"),
    "sgd_momentum": (lambda: O.SGD(0.1, momentum=0.9), sgd_rule(0.1, 0.9), "SGD"),
    "sgd_nesterov": (lambda: O.SGD(0.1, momentum=0.9, nesterov=True), sgd_rule(0.1, 0.9, True), "SGD"),
    "adam": (lambda: O.Adam(0.01), adam_rule(0.01), "Adam"),
    "adam_amsgrad": (lambda: O.Adam(0.01, beta_1=0.8, amsgrad=True), adam_rule(0.01, 0.8, amsgrad=True), "Adam"),
    "adamw": (lambda: O.AdamW(0.01, weight_decay=0.1), adam_rule(0.01, weight_decay=0.1), "AdamW"),
    "nadam": (lambda: O.Nadam(0.01), nadam_rule(0.01), "Nadam"),
    "adamax": (lambda: O.Adamax(0.01), adamax_rule(0.01), "Adamax"),
    "rmsprop": (lambda: O.RMSprop(0.01), rmsprop_rule(0.01), "RMSprop"),
    "rmsprop_centered_momentum": (lambda: O.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
                                  rmsprop_rule(0.01, 0.8, 0.5, centered=True), "RMSprop"),
    "rmsprop_centered": (lambda: O.RMSprop(0.01, centered=True), rmsprop_rule(0.01, centered=True), "RMSprop"),
    "adagrad": (lambda: O.Adagrad(0.1), adagrad_rule(0.1), "Adagrad"),
    "adadelta": (lambda: O.Adadelta(1.0), adadelta_rule(1.0), "Adadelta"),
}


def run_ours(opt, steps, dtype=np.float64):
    ws = [nr.Tensor(w.astype(dtype)) for w in W0]
    for grads in GRADS[:steps]:
        opt.apply([g.astype(dtype) for g in grads], ws)
    return [w.data for w in ws]


def run_rule(rule, steps):
    ws, states = [w.copy() for w in W0], [{} for _ in W0]
    for t, grads in enumerate(GRADS[:steps], start=1):
        ws = [rule(w, g, st, t) for w, g, st in zip(ws, grads, states)]
    return ws


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("steps", [1, 6])
def test_update_equals_the_published_rule(name, steps):
    make, rule, _ = CASES[name]
    opt = make()
    for ours, expected in zip(run_ours(opt, steps), run_rule(rule, steps)):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)
    assert opt.iterations == steps


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_weights_stay_float32_in_place_and_grads_are_untouched(name):
    opt = CASES[name][0]()
    ws = [nr.Tensor(w.astype(np.float32)) for w in W0]
    buffers = [w.data for w in ws]
    for grads in GRADS[:3]:
        grads32 = [g.astype(np.float32) for g in grads]
        copies = [g.copy() for g in grads32]
        opt.apply(grads32, ws)
        for g, c in zip(grads32, copies):
            np.testing.assert_array_equal(g, c)
    for w, buf, expected in zip(ws, buffers, run_rule(CASES[name][1], 3)):
        assert w.data is buf and w.dtype == np.float32
        np.testing.assert_allclose(w.data, expected, rtol=1e-5, atol=1e-6)


def test_keras_defaults():
    assert (O.SGD().learning_rate, O.SGD().momentum, O.SGD().nesterov) == (0.01, 0.0, False)
    a = O.Adam()
    assert (a.learning_rate, a.beta_1, a.beta_2, a.epsilon, a.amsgrad) == (0.001, 0.9, 0.999, 1e-7, False)
    assert O.AdamW().weight_decay == 0.004
    r = O.RMSprop()
    assert (r.learning_rate, r.rho, r.momentum, r.epsilon, r.centered) == (0.001, 0.9, 0.0, 1e-7, False)
    g = O.Adagrad()
    assert (g.learning_rate, g.initial_accumulator_value, g.epsilon) == (0.001, 0.1, 1e-7)
    d = O.Adadelta()
    assert (d.learning_rate, d.rho, d.epsilon) == (0.001, 0.95, 1e-7)


# ----------------------------------------------------------------------------- the slides' SGD
def test_slides_sgd_with_lr_alias_and_legacy_decay():
    opt = O.SGD(lr=0.01, decay=0.5, momentum=0.9, nesterov=True)
    assert opt.learning_rate == 0.01 and opt.lr == 0.01 and opt.decay == 0.5
    ws, states = [w.copy() for w in W0], [{} for _ in W0]
    for t, grads in enumerate(GRADS):
        rule = sgd_rule(0.01 / (1 + 0.5 * t), 0.9, True)  # Keras 2: lr / (1 + decay * iterations)
        ws = [rule(w, g, st, t + 1) for w, g, st in zip(ws, grads, states)]
    for ours, expected in zip(run_ours(opt, len(GRADS)), ws):
        np.testing.assert_allclose(ours, expected, rtol=1e-12)
    assert O.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True).get_config()["decay"] == 1e-6


def test_learning_rate_is_settable():
    opt = O.SGD(0.5)
    opt.learning_rate = 0.1
    assert opt.learning_rate == 0.1
    opt.lr = 0.2
    assert opt.learning_rate == 0.2
    w = nr.Tensor([1.0])
    opt.apply([np.array([1.0], np.float32)], [w])
    assert w.data[0] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="learning_rate must be"):
        opt.learning_rate = "fast"


# ----------------------------------------------------------------------------- clipping and weight decay
def test_clipnorm_clips_each_gradient():
    grads = [np.array([3.0, 4.0]), np.array([0.3, 0.4])]  # norms 5 and 0.5
    w = [nr.Tensor(np.zeros(2)), nr.Tensor(np.zeros(2))]
    O.SGD(1.0, clipnorm=1.0).apply(grads, w)
    np.testing.assert_allclose(w[0].data, [-0.6, -0.8])
    np.testing.assert_allclose(w[1].data, [-0.3, -0.4])
    np.testing.assert_array_equal(grads[0], [3.0, 4.0])


def test_global_clipnorm_scales_all_gradients_together():
    grads = [np.array([3.0, 0.0]), np.array([0.0, 4.0])]  # global norm 5
    w = [nr.Tensor(np.zeros(2)), nr.Tensor(np.zeros(2))]
    O.SGD(1.0, global_clipnorm=2.5).apply(grads, w)
    np.testing.assert_allclose(w[0].data, [-1.5, 0.0])
    np.testing.assert_allclose(w[1].data, [0.0, -2.0])
    w = [nr.Tensor(np.zeros(2))]
    O.SGD(1.0, global_clipnorm=10.0).apply([np.array([3.0, 4.0])], w)
    np.testing.assert_allclose(w[0].data, [-3.0, -4.0])
    w = [nr.Tensor(np.zeros(2))]
    O.SGD(1.0, global_clipnorm=1.0).apply([np.array([np.inf, 1.0])], w)
    assert np.isnan(w[0].data).all()  # as Keras: a non-finite norm poisons the step, visibly


def test_clipvalue():
    grads = [np.array([-3.0, 0.2, 5.0])]
    w = [nr.Tensor(np.zeros(3))]
    O.SGD(1.0, clipvalue=0.5).apply(grads, w)
    np.testing.assert_allclose(w[0].data, [0.5, -0.2, -0.5])
    np.testing.assert_array_equal(grads[0], [-3.0, 0.2, 5.0])


def test_only_one_kind_of_clipping():
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        O.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="clipnorm must be a positive number"):
        O.SGD(clipnorm=-1.0)


def test_weight_decay_and_exclusions():
    w = nr.Tensor(np.ones(2), name="dense/kernel")
    b = nr.Tensor(np.ones(2), name="dense/bias")
    opt = O.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply([np.zeros(2), np.zeros(2)], [w, b])
    np.testing.assert_allclose(w.data, 1 - 0.1 * 0.5)
    np.testing.assert_allclose(b.data, 1.0)
    with pytest.raises(ValueError, match="AdamW needs a float weight_decay"):
        O.AdamW(weight_decay=None)


# ----------------------------------------------------------------------------- the API around apply
def test_apply_gradients_none_gradients_and_build():
    w, v = nr.Tensor(np.ones(2)), nr.Tensor(np.ones(2))
    opt = O.SGD(0.5)
    assert opt.apply_gradients(zip([np.ones(2), None], [w, v])) == 1
    np.testing.assert_allclose(w.data, 0.5)
    np.testing.assert_allclose(v.data, 1.0)
    opt = O.Adam()
    opt.build([w, v])
    opt.apply([np.ones(2), np.ones(2)])  # variables known from build
    assert opt.iterations == 1 and opt.variables == [w, v]


def test_apply_errors_name_the_problem():
    w = nr.Tensor(np.ones((2, 3)), name="dense_1/kernel")
    with pytest.raises(ValueError, match=r"gradient of shape \(3, 2\) for variable dense_1/kernel of shape \(2, 3\)"):
        O.SGD().apply([np.ones((3, 2))], [w])
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        O.SGD().apply([np.ones((2, 3))] * 2, [w])
    with pytest.raises(ValueError, match="build"):
        O.SGD().apply([np.ones((2, 3))])
    with pytest.raises(TypeError, match="unexpected arguments"):
        O.SGD(learnig_rate=0.1)
    with pytest.raises(ValueError, match="momentum must be a float in"):
        O.SGD(momentum=1.5)


def test_slots_are_per_variable():
    a, b = nr.Tensor(np.zeros(2)), nr.Tensor(np.zeros(2))
    opt = O.SGD(1.0, momentum=0.5)
    opt.apply([np.ones(2)], [a])
    opt.apply([np.ones(2)], [b])  # b starts with its own zero momentum
    np.testing.assert_allclose(a.data, -1.0)
    np.testing.assert_allclose(b.data, -1.0)


# ----------------------------------------------------------------------------- schedules
SCHEDULES = [
    (S.ExponentialDecay(0.1, 10, 0.5), lambda t: 0.1 * 0.5 ** (t / 10)),
    (S.ExponentialDecay(0.1, 10, 0.5, staircase=True), lambda t: 0.1 * 0.5 ** (t // 10)),
    (S.InverseTimeDecay(0.1, 10, 2.0), lambda t: 0.1 / (1 + 2.0 * t / 10)),
    (S.InverseTimeDecay(0.1, 10, 2.0, staircase=True), lambda t: 0.1 / (1 + 2.0 * (t // 10))),
    (S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]), lambda t: 1.0 if t <= 10 else 0.5 if t <= 20 else 0.1),
    (S.PolynomialDecay(0.1, 20, 0.01, power=2.0), lambda t: (0.1 - 0.01) * (1 - min(t, 20) / 20) ** 2 + 0.01),
    (S.PolynomialDecay(0.1, 20, 0.01, cycle=True),
     lambda t: (0.1 - 0.01) * (1 - t / (20 * max(1, math.ceil(t / 20)))) + 0.01),
    (S.CosineDecay(0.1, 20, alpha=0.1), lambda t: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 20) / 20)) + 0.1)),
    (S.CosineDecay(0.0, 20, warmup_target=0.2, warmup_steps=5),
     lambda t: 0.2 * t / 5 if t < 5 else 0.2 * 0.5 * (1 + math.cos(math.pi * min(t - 5, 20) / 20))),
    (S.CosineDecayRestarts(0.1, 10, t_mul=1.0), lambda t: 0.1 * 0.5 * (1 + math.cos(math.pi * (t % 10) / 10))),
]


@pytest.mark.parametrize("schedule,formula", SCHEDULES)
def test_schedule_values(schedule, formula):
    for t in (0, 1, 5, 9, 10, 11, 15, 20, 21, 37, 45):
        assert schedule(t) == pytest.approx(formula(t), rel=1e-12, abs=1e-15), t


@pytest.mark.parametrize("schedule,formula", SCHEDULES)
def test_schedule_config_round_trip(schedule, formula):
    again = S.deserialize(S.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()


def test_optimizer_follows_its_schedule():
    schedule = S.PiecewiseConstantDecay([1], [1.0, 0.1])
    opt = O.SGD(schedule)
    w = nr.Tensor(np.zeros(1))
    lrs = []
    for _ in range(3):
        lrs.append(opt.learning_rate)
        opt.apply([np.ones(1)], [w])
    assert lrs == [1.0, 1.0, 0.1]  # steps 0 and 1 <= boundary 1
    np.testing.assert_allclose(w.data, -2.1)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.5
    assert O.deserialize(O.serialize(opt)).get_config() == opt.get_config()


def test_schedule_errors():
    with pytest.raises(ValueError, match="one boundary fewer than values"):
        S.PiecewiseConstantDecay([1, 2], [1.0])
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        S.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="unknown learning rate schedule"):
        S.deserialize({"class_name": "Evil", "config": {}})


# ----------------------------------------------------------------------------- lookup and configs
def test_get():
    for name, cls in [("sgd", O.SGD), ("SGD", O.SGD), ("adam", O.Adam), ("Adam", O.Adam), ("adamw", O.AdamW),
                      ("rmsprop", O.RMSprop), ("adagrad", O.Adagrad), ("adadelta", O.Adadelta), ("nadam", O.Nadam),
                      ("adamax", O.Adamax)]:
        assert type(O.get(name)) is cls
    opt = O.Adam()
    assert O.get(opt) is opt and type(O.get(O.RMSprop)) is O.RMSprop
    assert O.get("sgd") is not O.get("sgd")
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'.*adam"):
        O.get("adamm")
    with pytest.raises(TypeError):
        O.get(None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip(name):
    opt = CASES[name][0]()
    again = O.deserialize(O.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()
    for ours, theirs in zip(run_ours(again, 3), run_ours(CASES[name][0](), 3)):
        np.testing.assert_array_equal(ours, theirs)


def test_unknown_optimizer_in_config_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer"):
        O.deserialize({"class_name": "Evil", "config": {}})
    with pytest.raises(ValueError, match="use_ema=True is not supported"):
        O.SGD.from_config({"learning_rate": 0.1, "use_ema": True})


# ----------------------------------------------------------------------------- peers
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("clip", [{}, {"clipnorm": 0.5}, {"global_clipnorm": 0.8}, {"clipvalue": 0.3},
                                  {"weight_decay": 0.05}])
def test_against_keras(keras, name, clip):
    make = CASES[name][0]
    config = {**make().get_config(), **clip}
    config.pop("name")
    ours = type(make()).from_config(config)
    theirs = getattr(keras.optimizers, CASES[name][2]).from_config(config)
    kv = [keras.Variable(w, dtype="float64") for w in W0]
    for grads in GRADS:
        theirs.apply([keras.ops.convert_to_tensor(g, dtype="float64") for g in grads], kv)
    for w_ours, w_keras in zip(run_ours(ours, len(GRADS)), kv):
        # Keras keeps its learning rate in float32, hence the tolerance
        np.testing.assert_allclose(w_ours, keras.ops.convert_to_numpy(w_keras), rtol=1e-6, atol=1e-7)
    assert type(O.get({"class_name": CASES[name][2], "config": theirs.get_config()})) is type(ours)


TORCH = {  # with epsilon 0 torch and Keras agree exactly; torch places epsilon differently otherwise
    "sgd_momentum": (lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9), lambda: O.SGD(0.1, momentum=0.9)),
    "sgd_nesterov": (lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                     lambda: O.SGD(0.1, momentum=0.9, nesterov=True)),
    "adam": (lambda t, p: t.optim.Adam(p, lr=0.01, eps=0), lambda: O.Adam(0.01, epsilon=0.0)),
    "adam_amsgrad": (lambda t, p: t.optim.Adam(p, lr=0.01, eps=0, amsgrad=True),
                     lambda: O.Adam(0.01, epsilon=0.0, amsgrad=True)),
    "adamw": (lambda t, p: t.optim.AdamW(p, lr=0.01, eps=0, weight_decay=0.1),
              lambda: O.AdamW(0.01, weight_decay=0.1, epsilon=0.0)),
    "adamax": (lambda t, p: t.optim.Adamax(p, lr=0.01, eps=0), lambda: O.Adamax(0.01, epsilon=0.0)),
    "rmsprop": (lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0, momentum=0.5, centered=True),
                lambda: O.RMSprop(0.01, momentum=0.5, centered=True, epsilon=0.0)),
    "adagrad": (lambda t, p: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0),
                lambda: O.Adagrad(0.1, epsilon=0.0)),
    "adadelta": (lambda t, p: t.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7), lambda: O.Adadelta(1.0)),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_against_torch(name):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(w, requires_grad=True) for w in W0]
    opt = TORCH[name][0](torch, params)
    for grads in GRADS:
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        opt.step()
    for ours, theirs in zip(run_ours(TORCH[name][1](), len(GRADS)), params):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_schedules_against_keras(keras):
    K = keras.optimizers.schedules
    for ours, _ in SCHEDULES:
        theirs = getattr(K, type(ours).__name__).from_config(ours.get_config())
        for t in (0, 3, 10, 17, 25, 60):
            np.testing.assert_allclose(ours(t), float(keras.ops.convert_to_numpy(theirs(t))), rtol=1e-6, atol=1e-9)
