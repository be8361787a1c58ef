"""TensorFlow 1's graph-and-session API on neurona's engine: `import neurona.compat.v1 as tf`.

Build the graph first (placeholders, Variables, ops), then run it in a Session with a `feed_dict`, as deck
003 teaches. Every op is a graph node whose value is computed by a `neurona.ops` function, so gradients
(`optimizer.minimize(loss)`) are the engine's backward. See docs/tf1.md.
"""

from . import errors, nn, train
from .graph import (
    Graph,
    Operation,
    Tensor,
    TensorShape,
    as_dtype,
    bool_,
    constant,
    convert_to_tensor,
    float16,
    float32,
    float64,
    get_default_graph,
    int8,
    int16,
    int32,
    int64,
    name_scope,
    placeholder,
    reset_default_graph,
    uint8,
)
from .math_ops import (
    add,
    argmax,
    cast,
    divide,
    equal,
    exp,
    identity,
    log,
    matmul,
    maximum,
    multiply,
    negative,
    ones,
    pow,
    random_normal,
    random_uniform,
    reduce_max,
    reduce_mean,
    reduce_sum,
    reshape,
    set_random_seed,
    sqrt,
    square,
    subtract,
    transpose,
    truncated_normal,
    zeros,
)
from .session import InteractiveSession, Session, get_default_session
from .variables import (
    Variable,
    global_variables,
    global_variables_initializer,
    initialize_all_variables,
    trainable_variables,
    variables_initializer,
)

bool = bool_  # noqa: A001 - tf.bool
div = divide
mul = multiply
sub = subtract

__all__ = [
    "Graph", "InteractiveSession", "Operation", "Session", "Tensor", "TensorShape", "Variable", "add", "argmax",
    "as_dtype", "bool", "cast", "constant", "convert_to_tensor", "div", "divide", "equal", "errors", "exp",
    "float16", "float32", "float64", "get_default_graph", "get_default_session", "global_variables",
    "global_variables_initializer", "identity", "initialize_all_variables", "int8", "int16", "int32", "int64",
    "log", "matmul", "maximum", "mul", "multiply", "name_scope", "negative", "nn", "ones", "placeholder", "pow",
    "random_normal", "random_uniform", "reduce_max", "reduce_mean", "reduce_sum", "reset_default_graph",
    "reshape", "set_random_seed", "sqrt", "square", "sub", "subtract", "train", "trainable_variables",
    "transpose", "truncated_normal", "uint8", "variables_initializer", "zeros",
]
