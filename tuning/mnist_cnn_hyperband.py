"""Hyperband search of mnist_cnn on full Fashion-MNIST (54,000 train / 6,000 validation).

    .venv/bin/python tuning/mnist_cnn_hyperband.py                  # budget: 8 epochs max
    .venv/bin/python tuning/mnist_cnn_hyperband.py --resume         # after an interruption
    .venv/bin/python tuning/mnist_cnn_hyperband.py --max-examples 2000 --epochs 3   # a taste

The issue's target: beat the default mnist_cnn (91.71% test accuracy after 5 epochs,
docs/results.md) within 30 minutes on 2 CPU cores. On 2 cores a Fashion-MNIST epoch of the
default network takes about 20 s, so 30 minutes hold about 80 of them. The search keeps
the default's convolutions (2 blocks of 32 and 64 3x3 filters: wider ones cost 2-3x an
epoch) and Adam, and searches how the network is regularized and finished: dense width,
activation, dropout, L2, batch norm, learning rate 1e-3 or 3e-3. Hyperband with max_epochs
8 and factor 3, capped at 9 trials: 5 configurations for 3 epochs, the best 2 continued
to 8, and 2 more trained for 8 epochs from the start; then the best is retrained on
train+validation for its best epoch count and tested once.

Measured here (2-core CPU, nothing else running; `time .venv/bin/python
tuning/mnist_cnn_hyperband.py`): 9 trials, 934 s inside the trials, 17 min 56 s for the
whole command (data loading and the 8-epoch retraining, 133 s, included). Best trial:
val_accuracy 0.9275 (dense 128, tanh, dropout 0.1, no L2, no batch norm, Adam 1e-3, best
after 8 epochs); retrained on train+validation and tested once: **test_accuracy 92.03%**
against the default's 91.71%. The default trains 5 epochs; part of the gain is the epoch
count, which the search chooses too.
"""

from _script import run

# The budget-aware part of the space (see the docstring); everything else is the full space.
SPACE = {
    "blocks": [2],
    "filters_1": [32],
    "filters_2": [64],
    "kernel_size": [3],
    "pool": ["max"],  # the default pooling (the measured search did not vary it)
    "optimizer": ["adam"],
    "learning_rate": [1e-3, 3e-3],
}

if __name__ == "__main__":
    run(
        __doc__,
        "mnist_cnn",
        "fashion_mnist",
        tuner="hyperband",
        epochs=8,
        max_trials=9,
        space=SPACE,
    )
