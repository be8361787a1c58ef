"""A two-layer network (one hidden ReLU layer) in TensorFlow 1 style, on the embedded digits.

The classic second TF1 exercise (the Udacity course deck 003 draws on: "turn the logistic regression into a
1-hidden-layer network with rectified linear units"), run with `import neurona.compat.v1 as tf`. It also
shows a minibatch loop over placeholders, `tf.nn.relu`, `tf.train.AdamOptimizer`, a `tf.train.Saver` that
writes safetensors, and the graph as Graphviz DOT text.

Run: python examples/tf1_two_layer.py
"""

import os
import tempfile

import numpy as np

import neurona.compat.v1 as tf
from neurona.labs.tf_graph import accuracy, digits_data

HIDDEN = 256


def main(num_steps: int = 1001, batch_size: int = 128) -> float:
    data = digits_data()
    train_dataset, train_labels = data["train_dataset"], data["train_labels"]
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(0)
        tf_train_dataset = tf.placeholder(tf.float32, shape=(None, 64), name="images")
        tf_train_labels = tf.placeholder(tf.float32, shape=(None, 10), name="labels")

        w1 = tf.Variable(tf.truncated_normal([64, HIDDEN], stddev=0.1), name="w1")
        b1 = tf.Variable(tf.zeros([HIDDEN]), name="b1")
        w2 = tf.Variable(tf.truncated_normal([HIDDEN, 10], stddev=0.1), name="w2")
        b2 = tf.Variable(tf.zeros([10]), name="b2")

        hidden = tf.nn.relu(tf.matmul(tf_train_dataset, w1) + b1)
        logits = tf.matmul(hidden, w2) + b2
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf_train_labels, logits=logits))
        optimizer = tf.train.AdamOptimizer(0.001).minimize(loss)
        prediction = tf.nn.softmax(logits)
        saver = tf.train.Saver()

    with tf.Session(graph=graph) as session:
        tf.global_variables_initializer().run()
        for step in range(num_steps):
            offset = (step * batch_size) % (train_labels.shape[0] - batch_size)
            feed_dict = {tf_train_dataset: train_dataset[offset:offset + batch_size],
                         tf_train_labels: train_labels[offset:offset + batch_size]}
            _, l = session.run([optimizer, loss], feed_dict=feed_dict)
            if step % 250 == 0:
                valid = session.run(prediction, {tf_train_dataset: data["valid_dataset"]})
                print(f"step {step:4d}  minibatch loss {l:.4f}  validation accuracy "
                      f"{accuracy(valid, data['valid_labels']):.1f}%")
        test = accuracy(session.run(prediction, {tf_train_dataset: data["test_dataset"]}), data["test_labels"])
        print(f"test accuracy: {test:.1f}%")
        path = saver.save(session, os.path.join(tempfile.mkdtemp(), "two_layer.safetensors"))
        print(f"weights saved to {path} ({os.path.getsize(path)} bytes, safetensors)")
    print(graph.to_dot([optimizer, prediction]).count("->"), "edges in the graph of one training step")
    return float(np.round(test, 4))


if __name__ == "__main__":
    main()
