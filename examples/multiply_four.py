"""Lab: a network learns to multiply four numbers (slides 001, "multiplicar 4 números").

Multiplication is harder than addition for a network of sums and activations: it needs more
neurons and more epochs, which is the point the lab makes.

Run: python examples/multiply_four.py
"""

from neurona.datasets import synthetic
from neurona.layers import Dense
from neurona.metrics import r2_score
from neurona.models import Sequential
from neurona.utils import set_random_seed


def main(epochs: int = 60, verbose: int = 0) -> float:
    set_random_seed(0)
    x, y = synthetic.product4(5000, seed=0)
    x_test, y_test = synthetic.product4(1000, seed=1)
    model = Sequential([
        Dense(64, activation="tanh", input_shape=(4,)),
        Dense(64, activation="tanh"),
        Dense(1),
    ])
    model.compile(loss="mse", optimizer="adam")
    scale = float(y.std())  # the products are tiny (std ~0.1): standardise the target, as the slides advise
    model.fit(x, y / scale, batch_size=32, epochs=epochs, verbose=verbose)
    r2 = r2_score(y_test.ravel(), model.predict(x_test, verbose=0).ravel() * scale)
    print(f"held-out R² {r2:.4f}")
    return r2


if __name__ == "__main__":
    main(verbose=2)
