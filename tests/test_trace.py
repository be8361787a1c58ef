import numpy as np

import neurona as nr
from neurona import ops


def test_trace_records_the_ops_in_order_and_renders_dot():
    w = nr.Tensor(np.ones((3, 2)), requires_grad=True, name="W")
    graph = nr.trace(lambda x: ops.relu(x @ w + 1.0).sum(), np.ones((4, 3)))
    assert graph.ops == ["MatMul", "Add", "ReLU", "Sum"]
    dot = graph.to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert 'label="W\\n3x2"' in dot and 'label="input 0\\n4x3"' in dot
    assert dot.count("->") == len(graph.edges) == 7  # x,W->matmul; mm,1->add; add->relu; relu->sum; sum->out
    assert graph.output.item() == 32.0  # 8 outputs of relu(3 + 1)


def test_trace_shares_nodes_for_reused_values():
    graph = nr.trace(lambda x: x * x + x, np.ones(2))
    inputs = [n for n in graph.nodes if n.kind == "tensor" and n.label == "input 0"]
    assert len(inputs) == 1
    assert graph.ops == ["Mul", "Add"]
