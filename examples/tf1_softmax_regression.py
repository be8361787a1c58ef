"""TensorFlow 1's "MNIST for ML beginners" softmax regression, on the embedded digits.

The program is the tutorial's, with one change: `import tensorflow as tf` became
`import neurona.compat.v1 as tf` (and 784 pixels became the digits' 64). Build the graph, then run it in a
session, as deck 003 teaches. The same model in Keras is in docs/tf1.md.

Run: python examples/tf1_softmax_regression.py
"""

import numpy as np

import neurona.compat.v1 as tf
from neurona.labs.tf_graph import digits_data


class Batches:
    """mnist.train.next_batch(n) for arrays: consecutive slices, reshuffled after each pass."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> None:
        self.images, self.labels, self.rng, self.pos = images, labels, np.random.default_rng(seed), 0

    def next_batch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.pos + n > len(self.images):
            order = self.rng.permutation(len(self.images))
            self.images, self.labels, self.pos = self.images[order], self.labels[order], 0
        self.pos += n
        return self.images[self.pos - n:self.pos], self.labels[self.pos - n:self.pos]


def main(steps: int = 1000) -> float:
    data = digits_data()
    train = Batches(data["train_dataset"], data["train_labels"])
    tf.reset_default_graph()

    x = tf.placeholder(tf.float32, [None, 64])
    W = tf.Variable(tf.zeros([64, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.nn.softmax(tf.matmul(x, W) + b)
    y_ = tf.placeholder(tf.float32, [None, 10])
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(y_ * tf.log(y), reduction_indices=[1]))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)

    sess = tf.InteractiveSession()
    tf.global_variables_initializer().run()
    for _ in range(steps):
        batch_xs, batch_ys = train.next_batch(100)
        sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})

    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    result = sess.run(accuracy, feed_dict={x: data["test_dataset"], y_: data["test_labels"]})
    sess.close()
    print(f"test accuracy: {result:.4f}")
    return float(result)


if __name__ == "__main__":
    main()
