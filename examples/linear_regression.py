"""Linear regression by gradient descent, with tensors and automatic derivatives only.

Seed 003 ("Regresión lineal", "Descenso de gradiente"): hypothesis h(x) = θ0 + θ1 x,
cost J = 1/(2m) Σ (h(x) - y)², and θj := θj - α ∂J/∂θj until convergence. Here the
derivatives come from `backward()` instead of being worked out by hand.

Run: python examples/linear_regression.py
"""

import numpy as np

import neurona as nr
from neurona import ops


def main(steps: int = 500, alpha: float = 0.1, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, 100).astype(np.float32)
    y = (4.0 + 2.5 * x + rng.normal(0, 0.5, 100)).astype(np.float32)  # true θ0 = 4, θ1 = 2.5

    theta0 = nr.Tensor(0.0, requires_grad=True)
    theta1 = nr.Tensor(0.0, requires_grad=True)
    m = len(x)
    for step in range(steps):
        h = theta0 + theta1 * x  # the hypothesis
        cost = ops.sum((h - y) ** 2) / (2 * m)  # J(θ0, θ1)
        cost.backward()  # ∂J/∂θ0 and ∂J/∂θ1 land in .grad
        with nr.no_grad():
            theta0.data -= alpha * theta0.grad
            theta1.data -= alpha * theta1.grad
        theta0.grad = theta1.grad = None
        if step % 100 == 0:
            print(f"step {step:4d}  J = {cost.item():.4f}  θ0 = {theta0.item():.3f}  θ1 = {theta1.item():.3f}")

    # The closed-form least-squares answer, to compare against.
    exact = np.polyfit(x, y, 1)[::-1]
    print(f"gradient descent: θ0 = {theta0.item():.3f}, θ1 = {theta1.item():.3f}")
    print(f"least squares:    θ0 = {exact[0]:.3f}, θ1 = {exact[1]:.3f}")
    graph = nr.trace(lambda t0, t1: ops.sum((t0 + t1 * x - y) ** 2) / (2 * m), theta0, theta1)
    print("dataflow graph of J:", " -> ".join(graph.ops))
    return theta0.item(), theta1.item()


if __name__ == "__main__":
    main()
