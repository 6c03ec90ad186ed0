# %% [markdown]
# # Attention: where a transformer looks in a real sentence
#
# Self-attention lets every token build its new vector from all the tokens of the input:
# token i scores every token j by `softmax(q_i . k_j / sqrt(d))` (a row of weights that
# sums to 1) and takes the weighted average of their values. Several **heads** do this in
# parallel with their own projections, so each can look for something else.
#
# This lesson trains the zoo's `transformer_classifier` (token + position embedding, two
# encoder blocks of 4 heads, masked average pooling) to tell the language (en/de/es/it) of
# real quotations from Debian's fortunes packages, then reads the attention weights of one
# test quotation. The model code is not changed: the lesson calls the first encoder
# block's own `MultiHeadAttention` sublayer with `return_attention_scores=True` on the
# embedded tokens, and checks that finishing the block by hand from that output gives the
# block's own output.
#
# What it shows: the first block, which reads the raw word-and-position vectors, spreads
# its attention almost evenly (for telling languages apart, which words occur matters more
# than how they relate); the second block's heads pick out a few words each. The largest
# weight of each block is measured against the uniform `1/length`; the colour scale of
# each row of panels spans its own weights.
#
# Run it: `kerazoo lesson attention`.

# %%
from __future__ import annotations

import numpy as np

from kerazoo.lessons._lesson import Lesson, note, percent

QUICK_EXAMPLES = 1500  # quick mode: at most this many quotations in each split

# %% [markdown]
# ## 1. Train the classifier on real quotations


# %%
def train(lesson: Lesson):
    epochs = lesson.pick(3, 10)
    result, history = lesson.train(
        "transformer_classifier",
        "fortunes_lang",
        tag="transformer",
        epochs=epochs,
        max_examples=lesson.pick(QUICK_EXAMPLES, None),
        # Quick: the same two blocks and four heads, half as wide.
        overrides=lesson.pick({"embedding_dim": 32, "ff_dim": 64}, {}),
    )
    lesson.measure(
        "test_accuracy", result.metrics["test_accuracy"], "language identification, test split"
    )
    lesson.measure("n_train", result.metrics["n_train"], "training quotations")
    return result


# %% [markdown]
# ## 2. The attention weights of one quotation
#
# Padding (token id 0) is kept out of every row by the same key mask the block builds
# from the embedding's Keras mask.


# %%
def attention_of(model, ids: np.ndarray):
    """Each block's attention weights `(heads, length, length)` for one sequence of token
    ids, and the largest difference between block 1 finished by hand and block 1 itself."""
    import keras

    ids = ids[None].astype("int32")
    x = model.get_layer("embedding")(ids)
    keys = keras.ops.convert_to_tensor(ids != 0)
    mask = keras.ops.expand_dims(keys, axis=1)  # (1, 1, length): query i may read key j
    weights, diff = [], None
    for b in range(1, 100):
        try:
            block = model.get_layer(f"encoder_{b}")
        except ValueError:
            break
        out, scores = block.attention(
            x, x, attention_mask=mask, return_attention_scores=True, training=False
        )
        weights.append(keras.ops.convert_to_numpy(scores)[0])
        own = block(x, mask=keys, training=False)
        if b == 1:
            # The rest of the (post-norm) block, by hand: residual + norm, feed-forward + norm.
            y = block.attention_norm(x + out)
            y = block.ffn_norm(y + block.ffn_output(block.ffn_hidden(y)))
            real = ids[0] != 0
            diff = float(np.abs(keras.ops.convert_to_numpy(y - own))[0][real].max())
        x = own
    return weights, diff


def pick_quotation(splits, model, lengths=(8, 16)) -> int:
    """The first test quotation of a readable length that the model classifies right."""
    probs = model.predict(splits.x_test, verbose=0)
    for i, ids in enumerate(splits.x_test):
        n = int((ids != 0).sum())
        known = not (ids == 1).any()  # no out-of-vocabulary token ([UNK], id 1)
        if known and lengths[0] <= n <= lengths[1] and probs[i].argmax() == splits.y_test[i]:
            return i
    return 0


def draw(lesson: Lesson, result) -> None:
    from kerazoo.data import load_arrays

    max_examples = lesson.pick(QUICK_EXAMPLES, None)
    splits, info = load_arrays("fortunes_lang", max_examples=max_examples)
    model = result.model
    i = pick_quotation(splits, model)
    ids = splits.x_test[i]
    real = ids != 0
    words = [info.vocabulary[t] for t in ids[real]]
    blocks, diff = attention_of(model, ids)
    scores = blocks[0]
    probs = model.predict(ids[None], verbose=0)[0]
    language = info.class_names[int(probs.argmax())]
    n = len(words)
    weights = scores[:, :n, :n]  # real tokens come first; padding follows
    for b, w in enumerate(blocks, start=1):
        lesson.measure(
            f"block{b}_max_weight_over_uniform",
            float(w[:, :n, :n].max() * n),
            f"block {b}: largest attention weight divided by the uniform 1/{n}",
        )
    lesson.measure("quotation", " ".join(words), "the test quotation (its tokens, lowercased)")
    lesson.measure("predicted_language", language, "the classifier's answer for it")
    lesson.measure("predicted_probability", float(probs.max()), "its probability")
    lesson.measure(
        "true_language", info.class_names[int(splits.y_test[i])], "the quotation's language"
    )
    lesson.measure("heads", int(scores.shape[0]), "attention heads in block 1")
    lesson.measure(
        "row_sum_max_error",
        float(np.abs(weights.sum(axis=-1) - 1).max()),
        "max |sum of a token's attention weights - 1| (each row is a softmax)",
    )
    lesson.measure(
        "weight_on_padding",
        float(scores[:, :n, n:].sum(axis=-1).max()) if n < scores.shape[-1] else 0.0,
        "largest total weight a real token gives to padding (masked out)",
    )
    lesson.measure(
        "block_by_hand_max_difference",
        diff,
        "max |block finished by hand from the attention output - the block's own output|",
    )
    lesson.data("quotation: " + " ".join(words))

    heads = scores.shape[0]
    fig, axes = lesson.figure(3.9 * heads + 1.2, 4.6 * len(blocks), nrows=len(blocks), ncols=heads)
    axes = np.atleast_2d(axes)
    for b, w in enumerate(blocks):
        w = w[:, :n, :n]
        for h in range(heads):
            ax = axes[b, h]
            im = ax.imshow(w[h], cmap="viridis", vmin=float(w.min()), vmax=float(w.max()))
            last = b == len(blocks) - 1
            ax.set_xticks(range(n), words if last else [""] * n, rotation=70, fontsize=8.5)
            ax.set_yticks(range(n), words if h == 0 else [""] * n, fontsize=8.5)
            ax.set_title(f"block {b + 1}, head {h + 1} (max {w[h].max():.2f})", fontsize=9.5)
            if last:
                ax.set_xlabel("key: token attended to")
            if h == 0:
                ax.set_ylabel(f"block {b + 1} query: token reading")
        fig.colorbar(
            im, ax=list(axes[b]), shrink=0.85, label=f"block {b + 1} weight (uniform = {1 / n:.3f})"
        )
    fig.suptitle(
        f"Self-attention over a real quotation (predicted {language}, "
        f"{percent(float(probs.max()))}; true {info.class_names[int(splits.y_test[i])]}); "
        "each row of a panel sums to 1",
        fontsize=11,
    )
    lesson.save(
        fig,
        "heads.png",
        "The attention weights of every head of both encoder blocks over a real test quotation.",
    )

    last = blocks[-1][:, :n, :n]
    received = last.mean(axis=(0, 1))  # attention each token receives in the last block
    fig, ax = lesson.figure(10, 4)
    ax.bar(range(n), received, color="#1f77b4")
    ax.axhline(1 / n, color="k", ls="--", lw=1, label=f"uniform: 1/{n} = {1 / n:.3f}")
    ax.set_xticks(range(n), words, rotation=45, ha="right", fontsize=9)
    ax.set_ylim(0, 1.3 * float(received.max()))
    ax.set(
        title=f"Attention each token receives (block {len(blocks)}, mean over heads and queries)",
        xlabel="token of the quotation (as the model's vocabulary spells it)",
        ylabel="mean attention weight",
    )
    ax.legend(fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    top = int(received.argmax())
    note(ax, f"most attended: '{words[top]}' ({received[top]:.3f})", loc="upper left")
    lesson.save(fig, "received.png", "Which tokens of the quotation the last block attends to.")


# %%
def run(lesson: Lesson) -> None:
    result = train(lesson)
    draw(lesson, result)


# %%
if __name__ == "__main__":  # as a script, or the last cell of the notebook
    import kerazoo.lessons

    results = kerazoo.lessons.run("attention", quick=True)
    print(results["numbers"])
