"""Lab: classify the UCI wine samples by cultivator with a standardised MLP (slides 001).

Run: python examples/wine.py
"""

from neurona.datasets import wine
from neurona.layers import Dense
from neurona.metrics import classification_report, confusion_matrix
from neurona.models import Sequential
from neurona.utils import Standardizer, set_random_seed


def main(epochs: int = 60, verbose: int = 0) -> float:
    set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = wine.load_data(test_size=0.3, seed=0)
    scaler = Standardizer().fit(x_train)  # fitted on the training data only
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

    model = Sequential([
        Dense(16, activation="relu", input_shape=(13,)),
        Dense(3, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=16, epochs=epochs, verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test, verbose=0).argmax(axis=1)
    print(confusion_matrix(y_test, predictions))
    print(classification_report(y_test, predictions))
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main(verbose=2)
