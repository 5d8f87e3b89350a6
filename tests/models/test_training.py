"""The training loop: it learns, it is deterministic for a seed, and the CLI writes a model."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from app.cli import main
from app.data import split_indices
from app.models import ARCHITECTURES
from app.models.training import RECIPES, prepared_digits, recipe, reproduce_command, train_model
from app.nn import dump_params, from_spec, load_params
from app.nn.train import TrainConfig, evaluate, train


@pytest.mark.parametrize("model_id", list(ARCHITECTURES))
def test_a_few_sgd_steps_lower_the_loss_on_a_small_batch(model_id):
    images, labels = prepared_digits()
    x, y = images[:64], labels[:64]
    network = from_spec(ARCHITECTURES[model_id].spec, rng=0)
    before = evaluate(network, x, y).loss
    config = TrainConfig(
        epochs=8, batch_size=64, learning_rate=0.05, schedule="constant", warmup_epochs=0,
        augment=None, seed=0,
    )
    reports = train(network, x, y, config)
    after = evaluate(network, x, y).loss
    assert after < 0.5 * before
    assert reports[-1].train_loss < reports[0].train_loss


def test_training_is_deterministic_for_a_seed():
    config = replace(RECIPES["lenet5"], epochs=1, batch_size=32)
    first, card, _ = train_model("lenet5", config, train_limit=96)
    again, _, _ = train_model("lenet5", config, train_limit=96)
    other, _, _ = train_model("lenet5", replace(config, seed=1), train_limit=96)
    a, b, c = dump_params(first), dump_params(again), dump_params(other)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)
    assert card["data"]["split"]["train"] == 96


def test_learning_rate_warms_up_then_decays_to_zero_on_a_cosine():
    config = TrainConfig(epochs=10, learning_rate=0.1, warmup_epochs=1.0, schedule="cosine")
    total = 100
    rates = [config.learning_rate_at(step, total) for step in range(total)]
    assert rates[0] == pytest.approx(0.01)
    assert rates[9] == pytest.approx(0.1)
    assert max(rates) == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:], strict=False))
    assert rates[-1] < 0.001


def test_train_config_rejects_bad_hyper_parameters():
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="exponential")
    with pytest.raises(ValueError, match="momentum"):
        TrainConfig(momentum=1.0)
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)


def test_reproduce_command_names_only_what_differs_from_the_shipped_recipe():
    assert reproduce_command("lenet5", RECIPES["lenet5"], "app/models") == (
        "convscope train --model lenet5 --out app/models"
    )
    changed = recipe("lenet5", epochs=3, seed=5)
    assert reproduce_command("lenet5", changed, "/tmp/x") == (
        "convscope train --model lenet5 --epochs 3 --seed 5 --out /tmp/x"
    )


@pytest.mark.slow
def test_train_command_writes_weights_and_a_card_that_load_back(tmp_path, capsys):
    assert main(["train", "--model", "lenet5-classic", "--epochs", "1", "--seed", "3",
                 "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "epoch   1/1" in err
    assert "held-out accuracy" in err
    card = json.loads((tmp_path / "lenet5-classic.json").read_text())
    assert card["reproduce"] == (
        f"convscope train --model lenet5-classic --epochs 1 --seed 3 --out {tmp_path}"
    )
    assert card["training"]["epochs"] == 1 and card["training"]["seed"] == 3
    network = from_spec(ARCHITECTURES["lenet5-classic"].spec, rng=99)
    with np.load(tmp_path / "lenet5-classic.npz") as arrays:
        assert sorted(arrays) == sorted(dump_params(network))
        load_params(network, dict(arrays))
    images, labels = prepared_digits()
    _, heldout = split_indices()
    assert evaluate(network, images[heldout], labels[heldout]).correct == (
        card["heldout"]["correct"]
    )


def test_progress_bar_redraws_batches_on_a_terminal_and_prints_one_line_per_epoch():
    import io

    from app.cli_train import ProgressBar
    from app.nn.train import BatchProgress, EpochReport, Evaluation

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = ProgressBar(epochs=2, stream=stream)
    bar.batch(BatchProgress(epoch=1, batch=5, batches=10, running_loss=0.5))
    held = Evaluation(loss=0.25, correct=450, total=500, per_class_accuracy=[], predictions=None)
    bar.epoch(EpochReport(1, 0.4, 0.9, 0.05, 1.5, held))
    text = stream.getvalue()
    assert text.startswith("\repoch   1/2 [" + "#" * 15 + "." * 15 + "] 5/10 loss 0.5000")
    assert text.endswith("acc 0.9000 (450/500) | lr 0.0500 | 1.5s\n")
    log = io.StringIO()
    ProgressBar(epochs=2, stream=log).batch(BatchProgress(1, 5, 10, 0.5))
    assert log.getvalue() == ""
