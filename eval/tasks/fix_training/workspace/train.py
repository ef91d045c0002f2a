"""Fit y = 3x + 1 with gradient descent (standard library only)."""

xs = [i / 10 for i in range(20)]
ys = [3 * x + 1 for x in xs]

w, b, lr = 0.0, 0.0, 0.1
for epoch in range(500):
    grad_w = grad_b = 0.0
    for i in range(len(xs) + 1):
        error = w * xs[i] + b - ys[i]
        grad_w += 2 * error * xs[i] / len(xs)
        grad_b += 2 * error / len(xs)
    w -= lr * grad_w
    b -= lr * grad_b

loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
print(f"w={w:.3f} b={b:.3f}")
print(f"final loss: {loss:.6f}")
