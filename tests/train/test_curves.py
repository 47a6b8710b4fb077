"""The loss curve of a run, as `train` and `openai results` draw it."""

import io
import warnings

from PIL import Image

from gptisyou.train.curves import plot_curves


def _drawn(records) -> Image.Image:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would reach the user's terminal
        assert plot_curves(records, out) is out
    return Image.open(io.BytesIO(out.getvalue()))


def test_training_and_validation_loss_are_drawn_on_one_picture(tmp_path):
    records = [{"step": step, "train_loss": 4 / step} for step in range(1, 40)]
    records += [{"step": 20, "val_loss": 0.5}, {"step": 39, "val_loss": 0.4, "val_token_accuracy": 0.3}]
    picture = _drawn(records)
    assert picture.format == "PNG"
    assert picture.size == (770, 440)  # 7 by 4 inches at 110 dpi: the report's width
    path = plot_curves(records, tmp_path / "loss.png")
    assert Image.open(path).size == picture.size


def test_a_curve_with_only_one_kind_of_loss_or_none_is_still_a_picture():
    assert _drawn([{"step": 1, "val_loss": 2.0}]).format == "PNG"
    assert _drawn([{"step": 1, "train_loss": 2.0}, {"step": 2, "lr": 1e-4}]).format == "PNG"
    assert _drawn([]).format == "PNG"  # a hosted job that reported no step yet
