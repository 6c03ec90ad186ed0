"""Random search of the MNIST MLP (depth, widths, activation, dropout, L2, batch norm, lr).

    .venv/bin/python tuning/mlp_random.py                # 20 trials x 10 epochs
    .venv/bin/python tuning/mlp_random.py --max-trials 3 --epochs 2 --max-examples 1000

Offline the MNIST sample (5,000 real digits) stands in for full MNIST, announced.
"""

from _script import run

if __name__ == "__main__":
    run(__doc__, "mnist_mlp", "mnist", tuner="random", max_trials=20, epochs=10)
