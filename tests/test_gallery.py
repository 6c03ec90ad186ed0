"""docs/gallery.md and docs/diagrams/*.svg: fresh, complete, and drawing the real graphs."""

import shutil
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import keras
import pytest

# The generators live in the checkout's tools/ (not installed with the package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kerazoo  # noqa: E402
from kerazoo import registry  # noqa: E402
from tools import gallery  # noqa: E402


@pytest.fixture(scope="module")
def built():
    """Every registered model built once, with its diagrams (the slow part, done once)."""
    return gallery.collect()


@pytest.fixture
def restore_registry():
    before = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(before)


def _graph(file):
    # ET.parse fails on anything that is not XML.
    ET.parse(gallery.DIAGRAM_DIR / file)
    return gallery.svg_graph((gallery.DIAGRAM_DIR / file).read_text(encoding="utf-8"))


def _layer_names(model) -> set:
    """The names of the boxes plot_model draws: every layer, nested models expanded."""
    names = set()
    for layer in model.layers:
        if isinstance(layer, keras.Model) and hasattr(layer, "_operations"):
            names |= _layer_names(layer)  # a functional/sequential sub-model: expanded
        else:
            names.add(layer.name)
    return names


def _named_edges(graph) -> Counter:
    name = {node: texts[0] for node, texts in graph.nodes.items()}
    return Counter((name[a], name[b]) for a, b in graph.edges)


def test_gallery_is_fresh(built):
    # Fails after a model is added, changed or removed without `make catalog`.
    assert gallery.check(built) == [], "run `make catalog` (python -m tools.gallery)"


def test_every_model_has_its_section_param_count_and_diagram(built):
    page = gallery.PAGE_PATH.read_text(encoding="utf-8")
    assert "do not edit" in page and "make catalog" in page
    for name in registry.list_models():
        section = page.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert f"**{kerazoo.model_info(name).params:,} parameters.**" in section
        assert f"![{name} architecture](diagrams/{name}.svg)" in section
        assert (gallery.DIAGRAM_DIR / f"{name}.svg").is_file()
        for diagram in built[name][1:]:
            assert f"(diagrams/{diagram.file})" in section
    assert "**61,706 parameters.** LeNet-5" in page
    # Family sections in the teaching order, each opening with its idea.
    order = [page.index(f"\n## {f}: ") for f in gallery.FAMILY_ORDER]
    assert order == sorted(order)
    total = sum(p.stat().st_size for p in gallery.DIAGRAM_DIR.glob("*.svg"))
    assert total < 3_000_000
    assert not any(b"<image" in p.read_bytes() for p in gallery.DIAGRAM_DIR.glob("*.svg"))


def test_every_svg_draws_its_models_layers(built):
    for diagrams in built.values():
        for diagram in diagrams:
            graph = _graph(diagram.file)
            drawn = {texts[0] for texts in graph.nodes.values()}
            missing = _layer_names(diagram.model) - drawn
            assert not missing, f"{diagram.file} lacks boxes for {sorted(missing)}"
            # Layers are joined by edges (a single neuron, the perceptron, is one box).
            assert graph.edges or len(graph.nodes) == 1 == len(diagram.model.layers), diagram.file
    # Two-part models: the parts are labelled clusters of the whole diagram.
    assert {"encoder", "decoder"} <= set(_graph("vae.svg").clusters)
    assert {"generator"} <= set(_graph("dcgan.svg").clusters)


def test_lenet5_graph_nodes_edges_and_shapes(built):
    model = built["lenet5"][0].model
    graph = _graph("lenet5.svg")
    names = [layer.name for layer in model.layers]
    assert names == ["c1", "s2", "c3", "s4", "c5", "flatten", "f6", "output"]
    assert sorted(t[0] for t in graph.nodes.values()) == sorted(names)
    # A chain: one edge per consecutive pair of layers, and no other.
    assert _named_edges(graph) == Counter(zip(names, names[1:], strict=False))
    c1 = next(t for t in graph.nodes.values() if t[0] == "c1")
    assert "(Conv2D)" in c1 and "tanh" in c1
    assert "(None, 28, 28, 1)" in c1 and "(None, 28, 28, 6)" in c1  # shapes shown


def _config_edges(model) -> Counter:
    """(source, target) layer names from the functional config's inbound nodes."""

    def sources(obj):
        if isinstance(obj, dict):
            if obj.get("class_name") == "__keras_tensor__":
                yield obj["config"]["keras_history"][0]
            else:
                for value in obj.values():
                    yield from sources(value)
        elif isinstance(obj, list | tuple):
            for value in obj:
                yield from sources(value)

    edges = Counter()
    for layer in model.get_config()["layers"]:
        for source in sources(layer["inbound_nodes"]):
            edges[(source, layer["name"])] += 1
    return edges


def test_resnet8_residual_edges_match_the_model(built):
    model = built["resnet8"][0].model
    graph = _graph("resnet8.svg")
    assert _named_edges(graph) == _config_edges(model)
    adds = [t for t in graph.nodes.values() if "(Add)" in t]
    assert len(adds) == 3  # one residual Add per block: 1 block x 3 stages


def test_transformer_block_diagram_shows_attention_and_residuals(built):
    (block_diagram,) = built["transformer_classifier"][1:]
    graph = _graph(block_diagram.file)
    drawn = {t[0] for t in graph.nodes.values()}
    assert {"self_attention", "attention_residual", "ffn_hidden", "ffn_residual"} <= drawn
    edges = _named_edges(graph)
    # Each residual Add takes the sub-layer's output and the skipped input.
    assert edges[("block_input", "attention_residual")] == 1
    assert edges[("attention_norm", "ffn_residual")] == 1
    block = built["transformer_classifier"][0].model.get_layer("encoder_1")
    assert block_diagram.model.count_params() == block.count_params()


def test_a_changed_model_draws_a_different_graph(built):
    model = kerazoo.create_model("regression_mlp", hidden_units=(64,), compile=False)
    changed = dict(built)
    changed["regression_mlp"] = [
        gallery.Diagram("regression_mlp.svg", "regression_mlp", None, "x", model)
    ]
    problems = gallery.check(changed)
    assert any("regression_mlp.svg draws a different graph" in p for p in problems)
    assert any("model_info('regression_mlp').params" in p for p in problems)


def test_an_added_model_makes_check_fail(restore_registry, capsys):
    @kerazoo.register_model(family="mlp", task="regression", description="Gallery test.")
    def gallery_test_mlp(**kwargs):
        return kerazoo.models.mlp.mlp(input_shape=(3,), hidden_units=(2,), head="regression")

    assert gallery.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "gallery_test_mlp" in err and "run `make catalog`" in err


def test_a_removed_model_or_stray_diagram_makes_check_fail(restore_registry, tmp_path, monkeypatch):
    shutil.copytree(gallery.DIAGRAM_DIR, tmp_path / "diagrams")
    shutil.copy(gallery.PAGE_PATH, tmp_path / "gallery.md")
    monkeypatch.setattr(gallery, "DIAGRAM_DIR", tmp_path / "diagrams")
    monkeypatch.setattr(gallery, "PAGE_PATH", tmp_path / "gallery.md")
    (tmp_path / "diagrams" / "ghost.svg").write_text("<svg/>", encoding="utf-8")
    assert any("ghost.svg" in p for p in gallery.check())
    (tmp_path / "diagrams" / "ghost.svg").unlink()
    del registry._REGISTRY["binary_mlp"]
    assert any("binary_mlp" in p for p in gallery.check())
