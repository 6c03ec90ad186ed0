"""Random search of the transformer classifier on fortunes_lang: embedding size, heads,
feed-forward width, blocks, dropout, pre- or post-norm, learning rate.

    .venv/bin/python tuning/transformer_random.py        # 10 trials x 5 epochs
    .venv/bin/python tuning/transformer_random.py --max-trials 2 --epochs 1 --max-examples 500
"""

from _script import run

if __name__ == "__main__":
    run(__doc__, "transformer_classifier", "fortunes_lang", tuner="random", max_trials=10)
