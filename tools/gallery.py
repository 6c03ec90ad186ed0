"""Generates the diagram gallery, `docs/gallery.md` and `docs/diagrams/*.svg`, from the registry.

    python -m tools.gallery           # rewrite the page and every diagram (make catalog)
    python -m tools.gallery --check   # exit 1 if the page or any diagram is stale

Run from the checkout's root, after `python -m tools.catalog`; this module is not installed.

Every registered model is built with its default arguments and drawn with
`kerazoo.viz.diagrams.plot` (shapes, activations, nested models expanded, top to bottom).
Two-part models also get one diagram per part (`<model>-<part>.svg`: encoder/decoder,
generator/discriminator), and the transformer one of the inside of its first encoder block.

How `--check` decides staleness without being flaky: Graphviz's coordinates depend on its
version and the fonts installed, so the SVG bytes are not compared. Instead each diagram is
drawn afresh and its *graph* — the text of every node and cluster, and every edge between
nodes — is compared with the committed SVG's graph. The page is compared as text. A model
added, changed or removed changes the graph, the page, or the set of SVG files.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from kerazoo import registry
from kerazoo.viz import diagrams

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
PAGE_PATH = DOCS_DIR / "gallery.md"
DIAGRAM_DIR = DOCS_DIR / "diagrams"

# The same options for every diagram. Top to bottom for all models: the deep ResNets
# become tall instead of impossibly wide, and a page scrolls vertically.
PLOT_OPTIONS = {
    "show_shapes": True,
    "show_layer_activations": True,
    "expand_nested": True,
    "rankdir": "TB",
    "dpi": 96,
}

# Sub-models of the two-part families, looked up as attributes or nested layers.
PARTS = ("encoder", "decoder", "generator", "discriminator")

FAMILY_ORDER = ("mlp", "cnn", "resnet", "rnn", "autoencoder", "gan", "transformer")

# family -> (the idea it teaches, one paragraph explaining it for learners).
FAMILIES = {
    "mlp": (
        "neurons, layers and activations",
        "A neuron computes a weighted sum of its inputs plus a bias, `z = w·x + b`, and "
        "passes it through an activation function such as ReLU (`max(0, z)`), sigmoid or "
        "tanh. A `Dense` layer is a row of neurons that all see the same inputs, and a "
        "multilayer perceptron stacks them: input, hidden layers, output. The activation is "
        "what makes depth worth having: without a non-linearity, any stack of `Dense` layers "
        "collapses into a single linear map. The output layer's activation fits the task: "
        "softmax for class probabilities, sigmoid for a yes/no probability, none (linear) for "
        "a number. Training adjusts every weight and bias by backpropagation and gradient "
        "descent to lower the loss. `Flatten` turns an image into the flat vector a `Dense` "
        "layer expects; dropout and batch normalization appear as layers of their own.",
    ),
    "cnn": (
        "convolution and pooling",
        "A convolutional layer slides small learned filters (3x3 or 5x5 weights) over the "
        "image and computes the same weighted sum at every position: each filter yields a "
        "feature map that is high wherever its pattern (an edge, a stroke, a texture) occurs. "
        "Sharing the weights across positions means a pattern is found wherever it is, with "
        "far fewer parameters than a `Dense` layer on the same pixels (compare `lenet5` with "
        "`mlp`). Pooling keeps the maximum or the average of each 2x2 window, halving the "
        "height and width: the features tolerate small shifts, and the next filters see a "
        "larger part of the image. Stacks of convolution, activation and pooling turn pixels "
        "into ever more abstract features (the maps shrink while the channels grow: follow "
        "the output shapes down a diagram), and a `Flatten` + `Dense` head turns them into "
        "class probabilities.",
    ),
    "resnet": (
        "residual connections",
        "Adding layers should never make a network worse, since the extra layers could "
        "simply pass their input on; yet plain deep stacks train worse than shallow ones, "
        "because an identity is hard to learn through convolutions and non-linearities and "
        "the gradient fades on its way back through many layers. A residual block instead "
        "computes `y = relu(x + F(x))`: two 3x3 convolutions with batch normalization learn "
        "only a correction `F(x)`, and a shortcut carries `x` past them unchanged (in the "
        "diagrams: a fork, and an `Add` where the two paths meet). A block that is not "
        "needed can leave `F` near zero, and the gradient flows back along the shortcuts, so "
        "56 layers train as easily as 8. These are the CIFAR networks of He et al. 2016 "
        "(depth 6n + 2: a stem convolution, three stages of n blocks at 16, 32 and 64 filters, "
        "global average pooling and softmax); where a stage halves the image and doubles the "
        "filters, the shortcut subsamples and pads with zero channels, with no parameters.",
    ),
    "rnn": (
        "recurrence and gates",
        "A recurrent layer reads a sequence one step at a time and carries a hidden state "
        "from step to step, `h_t = f(W x_t + U h_(t-1) + b)`: the same weights serve every "
        "step, so it takes sequences of any length, and the state summarises what it has "
        "read so far. A simple RNN forgets quickly, because the gradient shrinks (or "
        "explodes) as it is multiplied back through many steps. LSTM and GRU cells add "
        "gates: small sigmoid layers whose outputs, between 0 and 1, decide how much of the "
        "old state to keep and how much of the new input to write, so information can "
        "survive over long spans. An LSTM keeps a separate cell state with forget, input and "
        "output gates; a GRU merges them into update and reset gates and has fewer "
        "parameters (compare the `lstm_` and `gru_` counts). The classifiers read word ids "
        "through an embedding (id 0 is padding and is masked) and classify the final state; "
        "the forecasters read 24 past values of a series and predict the next one.",
    ),
    "autoencoder": (
        "bottleneck and reconstruction",
        "An autoencoder is trained to output its own input. The encoder squeezes the image "
        "through a bottleneck, a code far smaller than the 784 pixels (2 to 32 numbers "
        "here), and the decoder must rebuild the image from the code alone; the loss is the "
        "reconstruction error. Since the code cannot hold every pixel, the network has to "
        "learn what matters in the data: the code is a learned compression, useful for "
        "visualisation, denoising and spotting unusual inputs (they reconstruct badly). The "
        "denoising autoencoder corrupts its input with noise during training but must "
        "output the clean image, so it learns to remove noise instead of copying. The "
        "variational autoencoder (VAE) makes the code a latent random variable: the encoder "
        "outputs the mean and log-variance of a Gaussian, a sample `z = mean + sigma * eps` "
        "is decoded (the reparameterisation trick keeps it differentiable), and a KL "
        "divergence term pulls each Gaussian towards N(0, I). The latent space becomes "
        "smooth and filled, so decoding random `z` draws new images: a generative model.",
    ),
    "gan": (
        "adversarial training",
        "A generative adversarial network trains two networks against each other. The "
        "generator turns random noise `z` into an image; the discriminator looks at an image "
        "and outputs one logit: real (from the dataset) or fake (from the generator). Each "
        "step, the discriminator is trained to tell real images from generated ones, then "
        "the generator is trained to make the discriminator call its images real; its only "
        "learning signal is the gradient that flows back through the discriminator, "
        "`D(G(z))`. As both improve, the generated images move towards the data. The DCGAN "
        "of Radford et al. 2016 makes this game stable with convolutional networks: "
        "stride-2 transposed convolutions upsample the noise in the generator (with batch "
        "normalization, ReLU and a tanh image), stride-2 convolutions with LeakyReLU "
        "downsample in the discriminator. There is no accuracy to report: you judge the "
        "samples.",
    ),
    "transformer": (
        "attention",
        "Self-attention lets every token of a sequence look at every other token in one "
        "step. Each token vector is projected to a query, a key and a value; a token's "
        "output is the average of all values, weighted by `softmax(q·k / sqrt(d))`, that is "
        "by how well its query matches each key. Multi-head attention runs several such "
        "attentions side by side (4 heads of 16 dimensions here), so different heads can "
        "follow different relations. Attention by itself ignores word order, so a learned "
        "position embedding is added to each token embedding. An encoder block follows the "
        "attention with a position-wise feed-forward net (`Dense` -> `Dense`), each "
        "sub-layer wrapped in a residual connection and layer normalization, and blocks "
        "stack. Padding (id 0) is masked out of the attention and of the final average. "
        "Unlike an RNN there is no step-by-step recurrence: all positions are processed at "
        "once, and distant words are one step apart. The model's diagram shows each block "
        "as one box; the second diagram shows the inside of a block.",
    ),
}


@dataclasses.dataclass
class Diagram:
    """One SVG of the gallery: a whole model (`part` None) or one of its parts."""

    file: str  # file name under docs/diagrams/
    model_name: str  # registered name
    part: str | None  # "encoder", "generator", "encoder_1", ... or None for the whole
    caption: str
    model: object  # the keras.Model drawn


# --- building the models and their parts ----------------------------------------------


def diagrams_for(name: str) -> list[Diagram]:
    """Builds `name` with its default arguments: its whole diagram, then one per part."""
    import keras

    from kerazoo.models.layers import TransformerEncoder

    # Auto-generated layer names count up per session; a fresh one per model keeps the
    # diagrams the same whatever was built before.
    keras.backend.clear_session()
    model = registry.create_model(name, compile=False)
    found = [Diagram(f"{name}.svg", name, None, f"{name} architecture", model)]
    blocks = [layer for layer in model.layers if isinstance(layer, TransformerEncoder)]
    for part, sub in diagrams.parts(model).items():
        caption = f"`{part}` ({sub.count_params():,} parameters)"
        if blocks and part == blocks[0].name:
            caption = (
                f"inside `{part}`, a `TransformerEncoder` block ({sub.count_params():,} parameters)"
            )
            if len(blocks) > 1:
                others = ", ".join(f"`{b.name}`" for b in blocks[1:])
                caption += f"; {others} {'has' if len(blocks) == 2 else 'have'} the same layers"
        found.append(Diagram(f"{name}-{part}.svg", name, part, caption, sub))
    return found


def registered_names() -> list[str]:
    """Every registered model, the zoo's own and any registered by the caller."""
    registry._load_builtin_models()
    return [n for n in registry.list_models() if n in registry._REGISTRY]


def families(names: list[str]) -> list[tuple[str, list[str]]]:
    """(family, names) in the gallery's order; families it does not know come last."""
    by_family: dict[str, list[str]] = {}
    for name in names:
        by_family.setdefault(registry.get_spec(name).family, []).append(name)
    order = [f for f in FAMILY_ORDER if f in by_family]
    order += sorted(set(by_family) - set(FAMILY_ORDER))
    return [(f, by_family[f]) for f in order]


# --- the page -------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def _family_heading(family: str) -> str:
    idea = FAMILIES.get(family, ("",))[0]
    return f"{family}: {idea}" if idea else family


def render_page(diagrams: dict[str, list[Diagram]]) -> str:
    """docs/gallery.md for `diagrams` (registered name -> its diagrams)."""
    grouped = families(list(diagrams))
    lines = [
        "# Model gallery",
        "",
        "<!-- Generated by `make catalog` (python -m tools.gallery); do not edit. -->",
        "",
        "> Generated from the model registry by `make catalog` (`python -m tools.gallery`); do",
        "> not edit by hand. After adding or changing a model, run `make catalog`:",
        "> `python -m tools.gallery --check` and `tests/test_gallery.py` fail while this page",
        "> or a diagram is stale.",
        "",
        "Every registered model in its default configuration: its parameter count, what it",
        "is, and its architecture. Each box of a diagram is a layer: its name and type, its",
        "activation, and its input and output shapes (`None` is the batch). Sub-models",
        "(encoder and decoder, generator and discriminator) are drawn inside dashed boxes",
        "labelled with their names, and once more on their own. The diagrams are drawn by",
        "`kerazoo.viz.diagrams.plot` (`keras.utils.plot_model`) with `expand_nested=True` and",
        '`rankdir="TB"` (top to bottom) for every model: the deep ResNets become tall, which a',
        "page scrolls through, instead of too wide to read. Draw any model yourself with",
        '`kerazoo.viz.diagrams.plot(kerazoo.create_model("lenet5"), "lenet5.svg")`; the',
        "parameter counts and descriptions are also in the [model catalogue](models.md).",
        "",
        "| family | the idea it teaches | models |",
        "|---|---|---|",
    ]
    for family, names in grouped:
        idea = FAMILIES.get(family, ("",))[0] or "-"
        links = ", ".join(f"[`{n}`](#{_slug(n)})" for n in names)
        lines.append(f"| [{family}](#{_slug(_family_heading(family))}) | {idea} | {links} |")
    for family, names in grouped:
        explanation = FAMILIES.get(family, ("", f"Models of the `{family}` family."))[1]
        lines += ["", f"## {_family_heading(family)}", "", explanation]
        for name in names:
            info = registry.model_info(name)
            whole, *parts = diagrams[name]
            lines += [
                "",
                f"### {name}",
                "",
                f"**{info.params:,} parameters.** {info.description}",
            ]
            if info.reference:
                lines += ["", f"Reference: {info.reference.rstrip('.')}."]
            lines += ["", f"![{whole.caption}](diagrams/{whole.file})"]
            if parts:
                intro = (
                    "Its parts on their own:"
                    if any(p.part in PARTS for p in parts)
                    else "The inside of a block, re-wired from the block's own layers:"
                )
                lines += ["", intro, ""]
                lines.append("| " + " | ".join(p.caption for p in parts) + " |")
                lines.append("|" + "---|" * len(parts))
                images = (f"![{name} {p.part}](diagrams/{p.file})" for p in parts)
                lines.append("| " + " | ".join(images) + " |")
    return "\n".join(lines) + "\n"


# --- SVG: normalizing what Graphviz writes, and reading the graph back ----------------

_SVG_NS = "{http://www.w3.org/2000/svg}"


def normalize_svg(text: str, title: str) -> str:
    """What Graphviz wrote, made stable: comments (its version, node ids) dropped, the
    nodes' ids (Python object ids, new in every process) renamed n1, n2, ... in order of
    appearance, the graph titled `title`, and a do-not-edit note added."""
    text = re.sub(r"<!--.*?-->\n?", "", text, flags=re.DOTALL)
    ids = re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]+)</title>', text)
    renamed = {old: f"n{i}" for i, old in enumerate(dict.fromkeys(ids), start=1)}
    if renamed:
        pattern = re.compile(r"\b(" + "|".join(re.escape(i) for i in renamed) + r")\b")
        text = pattern.sub(lambda m: renamed[m.group(1)], text)
    text = re.sub(r"<title>G</title>", f"<title>{title}</title>", text, count=1)
    note = "<!-- Generated by `make catalog` (python -m tools.gallery); do not edit. -->\n"
    return re.sub(r"(<svg\b)", note + r"\1", text, count=1)


@dataclasses.dataclass
class Graph:
    """The graph drawn in an SVG, without its layout."""

    nodes: dict[str, list[str]]  # node id -> its texts (the layer name first)
    edges: list[tuple[str, str]]  # (source id, target id)
    clusters: list[str]  # the labels of the dashed boxes of sub-models

    def canonical(self) -> tuple:
        """Ids replaced by their nodes' texts and everything sorted, so that two drawings
        of the same model compare equal whatever ids or layout they have."""

        def label(node_id):
            return " | ".join(self.nodes.get(node_id, [node_id]))

        return (
            sorted(label(n) for n in self.nodes),
            sorted((label(a), label(b)) for a, b in self.edges),
            sorted(self.clusters),
        )


def svg_graph(text: str) -> Graph:
    """Reads the nodes, edges and clusters of a Graphviz SVG.

    Raises:
        xml.etree.ElementTree.ParseError: if `text` is not XML.
    """
    root = ET.fromstring(text)
    nodes: dict[str, list[str]] = {}
    edges: list[tuple[str, str]] = []
    clusters: list[str] = []
    for group in root.iter(f"{_SVG_NS}g"):
        kind = group.get("class")
        title = group.findtext(f"{_SVG_NS}title", default="")
        texts = [" ".join(t.split()) for t in (e.text or "" for e in group.iter(f"{_SVG_NS}text"))]
        texts = [t for t in texts if t]
        if kind == "node":
            nodes[title] = texts
        elif kind == "edge":
            source, _, target = title.partition("->")
            edges.append((source, target))
        elif kind == "cluster":
            clusters.append(" ".join(texts))
    return Graph(nodes, edges, clusters)


def draw(diagram: Diagram, folder: Path) -> str:
    """Draws `diagram` into `folder` and returns its normalized SVG text."""

    path = diagrams.plot(diagram.model, Path(folder) / diagram.file, **PLOT_OPTIONS)
    return normalize_svg(path.read_text(encoding="utf-8"), Path(diagram.file).stem)


# --- generate and check ---------------------------------------------------------------


def _quick_staleness(names: list[str]) -> list[str]:
    """Stale items found without building a model: diagrams or sections missing or left
    over from a removed model."""
    problems = []
    page = PAGE_PATH.read_text(encoding="utf-8") if PAGE_PATH.exists() else ""
    if not page:
        return [f"missing: {PAGE_PATH}"]
    existing = {p.stem for p in DIAGRAM_DIR.glob("*.svg")}
    for name in names:
        if f"\n### {name}\n" not in page:
            problems.append(f"{PAGE_PATH} has no section for {name}")
        if name not in existing:
            problems.append(f"missing: {DIAGRAM_DIR / (name + '.svg')}")
    listed = set(re.findall(r"^### (\S+)$", page, flags=re.MULTILINE))
    for name in sorted(listed - set(names)):
        problems.append(f"{PAGE_PATH} has a section for {name}, which is not registered")
    for stem in sorted(existing):
        if stem.split("-")[0] not in names:
            problems.append(f"left over: {DIAGRAM_DIR / (stem + '.svg')} ({stem} not registered)")
    return problems


def collect(names: list[str] | None = None) -> dict[str, list[Diagram]]:
    """Builds every registered model (or `names`): registered name -> its diagrams."""
    return {name: diagrams_for(name) for name in (registered_names() if names is None else names)}


def _catalog_problems(all_diagrams: dict[str, list[Diagram]]) -> list[str]:
    """The page's parameter counts come from `model_info`, which reads kerazoo/catalog.json
    for the zoo's own models: they must agree with the models just built."""
    problems = []
    for name, (whole, *_) in all_diagrams.items():
        built = whole.model.count_params()
        if registry.model_info(name).params != built:
            problems.append(
                f"model_info({name!r}).params is not the {built:,} parameters {name} has: "
                "kerazoo/catalog.json is stale (run `make catalog`)"
            )
    return problems


def check(all_diagrams: dict[str, list[Diagram]] | None = None) -> list[str]:
    """Every way the gallery is stale, as lines; empty when it is fresh.

    Args:
        all_diagrams: the result of `collect()`, if the caller has built the models
            already; must cover every registered model.
    """
    names = registered_names()
    problems = _quick_staleness(names)
    if problems:
        # The cheap answer suffices: building every model would only confirm it.
        return problems
    all_diagrams = dict(all_diagrams or {})
    # Build what the caller did not (all of it when called from the command line).
    all_diagrams.update(collect([n for n in names if n not in all_diagrams]))
    all_diagrams = {name: all_diagrams[name] for name in names}
    problems += _catalog_problems(all_diagrams)
    if PAGE_PATH.read_text(encoding="utf-8") != render_page(all_diagrams):
        problems.append(f"{PAGE_PATH} differs from what the registry gives")
    expected_files = {d.file for ds in all_diagrams.values() for d in ds}
    for path in sorted(DIAGRAM_DIR.glob("*.svg")):
        if path.name not in expected_files:
            problems.append(f"left over: {path}")
    with tempfile.TemporaryDirectory() as tmp:
        for diagram in (d for ds in all_diagrams.values() for d in ds):
            path = DIAGRAM_DIR / diagram.file
            if not path.exists():
                problems.append(f"missing: {path}")
                continue
            fresh = svg_graph(draw(diagram, Path(tmp))).canonical()
            try:
                committed = svg_graph(path.read_text(encoding="utf-8")).canonical()
            except ET.ParseError as err:
                problems.append(f"{path} is not valid SVG ({err})")
                continue
            if fresh != committed:
                problems.append(f"{path} draws a different graph than {diagram.model_name} has")
    return problems


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: never a half-written file


def generate() -> tuple[int, int]:
    """Writes docs/gallery.md and docs/diagrams/*.svg; returns (models, diagrams)."""
    names = registered_names()
    all_diagrams = collect(names)
    problems = _catalog_problems(all_diagrams)
    if problems:
        raise ValueError(problems[0])
    DIAGRAM_DIR.mkdir(parents=True, exist_ok=True)
    written = set()
    with tempfile.TemporaryDirectory() as tmp:
        for diagram in (d for ds in all_diagrams.values() for d in ds):
            _write(DIAGRAM_DIR / diagram.file, draw(diagram, Path(tmp)))
            written.add(diagram.file)
    for path in DIAGRAM_DIR.glob("*.svg"):
        if path.name not in written:
            path.unlink()  # the diagram of a model that is gone
    _write(PAGE_PATH, render_page(all_diagrams))
    return len(names), len(written)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.gallery", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the page or a diagram is stale"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check()
            for line in problems:
                print(f"stale: {line} (run `make catalog`)", file=sys.stderr)
            return 1 if problems else 0
        n_models, n_diagrams = generate()
    except (ImportError, ValueError) as err:  # no pydot/Graphviz, or a stale catalogue
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {PAGE_PATH} and {n_diagrams} diagrams for {n_models} models in {DIAGRAM_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
