"""Bayesian optimization of the recurrent language classifier on fortunes_lang: the cell
(LSTM or GRU), bidirectionality, embedding size, depth, widths, dropout, learning rate.

    .venv/bin/python tuning/lstm_bayesian.py             # 15 trials x 5 epochs
    .venv/bin/python tuning/lstm_bayesian.py --max-trials 2 --epochs 1 --max-examples 500
"""

from _script import run

if __name__ == "__main__":
    run(__doc__, "lstm_classifier", "fortunes_lang", tuner="bayesian", max_trials=15, epochs=5)
