"""The slides' MNIST model (seed 002, "Pasos a seguir en la creación de un modelo usando Keras").

The code below is the slides' own with `keras` replaced by `neurona`. It trains on MNIST when the
file is available (cached in ~/.neurona/datasets or ~/.keras/datasets, or downloadable); offline it
falls back to the 8x8 digits that ship with neurona, upscaled to 28x28 like MNIST. Digits has 1,437
training images instead of 60,000, so five epochs at batch 100 are only 75 updates: the fallback also
trains with batch 10 and learning rate 0.1, and prints both results.

Run: python examples/mnist_mlp.py
"""

from neurona.datasets import DatasetError, digits, mnist
from neurona.layers.core import Activation, Dense  # noqa: F401 - the slides' import line
from neurona.models import Sequential
from neurona.optimizers import SGD
from neurona.utils import set_random_seed, to_categorical


def load(offline_ok: bool = True):
    try:
        return "MNIST", mnist.load_data()
    except (DatasetError, OSError):
        if not offline_ok:
            raise
        return "digits 28x28", digits.load_data(size=28)


def build():
    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    return model


def main(verbose: int = 1, use_mnist: bool = True) -> dict[str, float]:
    set_random_seed(0)
    name, ((x_train, y_train), (x_test, y_test)) = load() if use_mnist else ("digits 28x28", digits.load_data(size=28))
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    y_train = to_categorical(y_train, 10)
    y_test = to_categorical(y_test, 10)

    model = build()
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=100, epochs=5, verbose=verbose)
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"{name}, the slides' settings (SGD lr 0.01, batch 100, 5 epochs): test accuracy {test_acc:.4f}")
    results = {"slides": test_acc}
    if name != "MNIST":
        set_random_seed(0)
        model = build()
        model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.1), metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=10, epochs=5, verbose=verbose)
        results["small_batches"] = model.evaluate(x_test, y_test, verbose=0)[1]
        print(f"{name}, SGD lr 0.1, batch 10, 5 epochs: test accuracy {results['small_batches']:.4f}")
    predictions = model.predict(x_test[:5], verbose=0)
    print("predicted digits:", predictions.argmax(axis=1), "true:", y_test[:5].argmax(axis=1))
    return results


if __name__ == "__main__":
    main()
