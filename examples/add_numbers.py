"""Lab: a network learns to add two numbers (slides 001, "aprender a sumar").

Run: python examples/add_numbers.py
"""

import numpy as np

from neurona.datasets import synthetic
from neurona.layers import Dense
from neurona.metrics import pearson_r, r2_score
from neurona.models import Sequential
from neurona.optimizers import Adam
from neurona.utils import set_random_seed


def main(epochs: int = 100, verbose: int = 0) -> float:
    set_random_seed(0)
    x, y = synthetic.sum_pairs(2000, seed=0)
    x_test, y_test = synthetic.sum_pairs(500, seed=1)
    scale = 20.0  # keep inputs and targets near 1, as the slides' standardisation advice says
    model = Sequential([Dense(8, activation="relu", input_shape=(2,)), Dense(1)])
    # Adam at 0.01: the sum is an exact linear map, reachable quickly with a larger step
    model.compile(loss="mse", optimizer=Adam(learning_rate=0.01))
    model.fit(x / scale, y / scale, batch_size=32, epochs=epochs, verbose=verbose, validation_split=0.1)
    pred = model.predict(x_test / scale, verbose=0).ravel() * scale
    r2 = r2_score(y_test.ravel(), pred)
    print(f"held-out R² {r2:.5f}, Pearson ρ {pearson_r(y_test.ravel(), pred):.5f}")
    for a, b in x_test[:3]:
        print(f"{a:g} + {b:g} ≈ {model.predict(np.array([[a, b]]) / scale, verbose=0)[0, 0] * scale:.2f}")
    return r2


if __name__ == "__main__":
    main(verbose=2)
