"""The neuron, architectures and rnn lessons in quick mode: pictures and measured claims."""

import pytest
from conftest import check_pictures, lesson_fixture

neuron = lesson_fixture("neuron")
architectures = lesson_fixture("architectures")
rnn = lesson_fixture("rnn")


def test_neuron(neuron):
    out, results = neuron
    n = results["numbers"]
    check_pictures(out, results, ["decision_line.png"])
    assert n["parameters"] == 3  # w1, w2 and b: one neuron
    # A larger, rougher nucleus means malignant (label 0): both weights turn negative.
    assert n["w1_mean_radius"] < 0 and n["w2_mean_texture"] < 0
    assert n["weights_moved"] > 0.5  # the line really travelled
    assert n["test_accuracy"] > 0.8  # two real measurements separate most patients
    assert n["max_abs_difference_by_hand"] < 1e-6  # sigmoid(x . w + b) is all there is


@pytest.mark.slow
def test_architectures(architectures):
    out, results = architectures
    n = results["numbers"]
    check_pictures(out, results, ["architectures.png"])
    names = ("lenet5", "alexnet_small", "vgg_small", "resnet20")
    assert n["params_lenet5"] == 61_706  # LeNet-5 is built as in the paper, even in quick mode
    for name in names:
        assert n[f"params_{name}"] > 0 and n[f"seconds_{name}"] > 0
        assert n[f"test_accuracy_{name}"] > 0.5, name  # every one learns the real digits
    assert results["tables"][0]["columns"][:5] == [
        "model", "year", "parameters", "seconds", "test accuracy"
    ]  # fmt: skip


@pytest.mark.slow
def test_rnn(rnn):
    out, results = rnn
    n = results["numbers"]
    check_pictures(out, results, ["vanishing_gradient.png"])
    # The vanishing gradient: far less reaches the deciding words in the classic SimpleRNN
    # than in the LSTM, before and after training.
    assert n["grad_early_simple"] < n["grad_early_lstm"] / 100
    assert n["grad_early_untrained_simple"] < n["grad_early_untrained_lstm"]
    assert n["grad_ratio_untrained_simple"] < n["grad_ratio_untrained_lstm"]
    # The gradient at the last step is not what differs.
    assert n["grad_last_simple"] > 1e-5 and n["grad_last_lstm"] > 1e-5
    # Keras's orthogonal start keeps it: more than the untrained LSTM's gates let through.
    assert n["grad_ratio_untrained_simple_orthogonal"] > n["grad_ratio_untrained_lstm"]
    assert n["test_accuracy_simple_orthogonal"] > 0.6  # learns the long dependency
    assert n["test_accuracy_simple"] < 0.4  # the classic one stays near chance (25%)
