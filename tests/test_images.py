"""Folders of images (``--images DIR``, ``bench/datasets/image_folder.py``): generated PNG and JPEG
folders of mixed sizes and modes, the two views each model sees, every bad input (one line naming
the file or folder), and the README's example run end to end through the CLI.

Expected pixels are computed here from the documented recipe (Pillow's "L" weights, BOX and
BILINEAR resizing) or from numpy, not read back from the loader's intermediate arrays.
"""

from __future__ import annotations

import json
import re
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.cli import main
from bench.config import TOLERANCES, RunConfig
from bench.datasets import load_image_folder
from bench.errors import BenchInputError
from bench.runner import run_cell

ROOT = Path(__file__).resolve().parents[1]
DARK, LIGHT = 50, 205  # every image of the first class is dark, of the second light: y is readable off the pixels
# (mode, size (width, height), suffix) of each generated image: every mode, PNG and JPEG, sizes 20-60
KINDS = [
    ("RGB", (20, 36), "png"),
    ("L", (60, 24), "png"),
    ("RGBA", (33, 33), "png"),
    ("P", (48, 20), "png"),
    ("RGB", (40, 57), "jpg"),
    ("L", (25, 50), "JPEG"),
]


def solid(mode: str, size: tuple[int, int], level: int) -> Image.Image:
    """An image of one gray ``level`` (tinted a little in colour modes) in ``mode``."""
    if mode == "L":
        return Image.new("L", size, level)
    rgb = Image.new("RGB", size, (level, level + 10, level - 10))
    if mode == "RGBA":
        rgb.putalpha(100)  # alpha is dropped, not composited
        return rgb
    if mode == "P":
        return rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    return rgb


def image_folder(root: Path, classes: dict[str, int], extra_files: bool = False) -> Path:
    """``root``/<class>/<i>.<suffix>: ``classes`` maps each class to its gray level; one image of
    each kind in KINDS per class. ``extra_files``: four files that are not images (skipped)."""
    for name, level in classes.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i, (mode, size, suffix) in enumerate(KINDS):
            solid(mode, size, level).save(folder / f"img{i}.{suffix}", quality=95)
    if extra_files:
        first = root / next(iter(classes))
        (root / "README.txt").write_text("not an image\n")  # directly in the folder
        (first / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden
        (first / "notes.txt").write_text("not an image\n")  # not an image suffix
        (first / "._img0.png").write_bytes(b"\0\5\26\7")  # macOS resource fork: hidden, image suffix
    return root


@pytest.fixture
def two_classes(tmp_path) -> Path:
    return image_folder(tmp_path / "pets", {"dogs": LIGHT, "cats": DARK}, extra_files=True)


# --- the reader -----------------------------------------------------------------------------


def test_views_shapes_and_labels(two_classes):
    ds = load_image_folder(two_classes, seed=3)
    n = 2 * len(KINDS)
    assert ds.labels == ("cats", "dogs") and ds.is_binary  # sorted sub-folder names, class 0 first
    assert ds.n_train + ds.X_test.shape[0] == n and ds.split == "holdout 0.25, stratified"
    for images, X in ((ds.images_train, ds.X_train), (ds.images_test, ds.X_test)):
        assert images.dtype == np.uint8 and images.shape == (X.shape[0], 3, 200, 200)
        assert X.dtype == np.float64 and X.shape[1] == 256 and 0 <= X.min() and X.max() <= 1
        assert not images.flags.writeable and not X.flags.writeable
    assert ds.feature_names[:2] == ("px_00_00", "px_00_01") and ds.feature_names[-1] == "px_15_15"
    assert (ds.penalty, ds.C, ds.standardized) == ("l2", 1.0, False)
    assert ds.name == "pets" and ds.source == f"images:{two_classes}"
    assert ds.notes == {"classes": "cats, dogs", "images_per_class": "cats 6, dogs 6", "skipped_files": 4}
    assert "2 classes (cats 6, dogs 6)" in ds.description and "16x16 grayscale" in ds.description


def test_each_row_has_its_label_in_both_views(two_classes):
    """cats are dark, dogs light: the label of every row, train and test, is read off both views."""
    ds = load_image_folder(two_classes, seed=1)
    for images, X, y in ((ds.images_train, ds.X_train, ds.y_train), (ds.images_test, ds.X_test, ds.y_test)):
        cnn_light = images.reshape(len(y), -1).mean(axis=1) > 128
        linear_light = X.mean(axis=1) > 0.5
        assert np.array_equal(cnn_light, y == 1) and np.array_equal(linear_light, y == 1)


def test_every_mode_is_converted_to_rgb(two_classes):
    """test_fraction 0: every row, in reading order (classes sorted, files sorted by name)."""
    ds = load_image_folder(two_classes, test_fraction=0)
    assert ds.split == "none (all rows are train and test)" and ds.images_test is ds.images_train
    assert ds.X_test is ds.X_train and np.array_equal(ds.y_train, np.repeat([0.0, 1.0], len(KINDS)))
    for i, (mode, _, suffix) in enumerate(KINDS):  # the cats (DARK)
        pixels = ds.images_train[i].reshape(3, -1)
        expected = DARK if mode == "L" else np.array([DARK, DARK + 10, DARK - 10])  # gray, or the tint
        tolerance = 3 if suffix != "png" else 0  # JPEG is lossy
        assert np.abs(pixels - np.reshape(expected, (-1, 1))).max() <= tolerance, (mode, suffix)


def test_grayscale_view_is_pillows_l_and_box(tmp_path):
    """A 48 x 32 image of random colours: BOX to 16 x 16 is the mean of each 3 x 2 block."""
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, size=(32, 48, 3), dtype=np.uint8)  # (height, width, 3)
    folder = image_folder(tmp_path / "known", {"a": DARK, "b": LIGHT})
    Image.fromarray(rgb).save(folder / "a" / "000.png")  # sorts first: row 0
    ds = load_image_folder(folder, test_fraction=0)
    # Pillow's own conversion, as documented
    pillow = np.asarray(Image.open(folder / "a" / "000.png").convert("L").resize((16, 16), Image.Resampling.BOX))
    np.testing.assert_array_equal(ds.X_train[0], pillow.ravel() / 255.0)
    # independently: ITU-R 601-2 luma, then the mean of each 2 (rows) x 3 (columns) block
    luma = rgb @ np.array([0.299, 0.587, 0.114])  # (32, 48)
    blocks = luma.reshape(16, 2, 16, 3).mean(axis=(1, 3))  # (16, 16)
    # two roundings to integers (luma, then the block mean) and Pillow's fixed-point arithmetic
    np.testing.assert_allclose(ds.X_train[0], blocks.ravel() / 255.0, rtol=0, atol=1.5 / 255)
    # the CNN's view: BILINEAR to 200 x 200, channels first
    bilinear = np.asarray(Image.fromarray(rgb).resize((200, 200), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(ds.images_train[0], bilinear.transpose(2, 0, 1))


def test_cnn_view_keeps_the_picture(tmp_path):
    """Left half red, right half blue: so it stays after resizing (not transposed, not mirrored)."""
    folder = image_folder(tmp_path / "halves", {"a": DARK, "b": LIGHT})
    picture = np.zeros((20, 40, 3), dtype=np.uint8)
    picture[:, :20] = (255, 0, 0)
    picture[:, 20:] = (0, 0, 255)
    Image.fromarray(picture).save(folder / "a" / "000.bmp")
    image = load_image_folder(folder, test_fraction=0).images_train[0]  # (3, 200, 200)
    assert (image[0, :, :90] == 255).all() and (image[2, :, :90] == 0).all()
    assert (image[0, :, 110:] == 0).all() and (image[2, :, 110:] == 255).all()


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    folder = image_folder(tmp_path / "deep", {"a": DARK, "b": LIGHT})
    Image.fromarray(np.full((30, 30), 100 * 257, dtype=np.uint16)).save(folder / "a" / "000.png")
    ds = load_image_folder(folder, test_fraction=0)
    assert (ds.images_train[0] == 100).all() and np.allclose(ds.X_train[0], 100 / 255)


def test_three_classes_are_multiclass_and_the_cnn_has_three_logits(tmp_path):
    folder = image_folder(tmp_path / "three", {"c_light": LIGHT, "a_dark": DARK, "b_mid": 128})
    ds = load_image_folder(folder, seed=2, test_fraction=0.34)
    assert ds.labels == ("a_dark", "b_mid", "c_light") and ds.n_classes == 3 and not ds.is_binary
    assert set(np.unique(ds.y_test)) == {0.0, 1.0, 2.0}
    cnn = run_cell(ds, "torch_cnn", RunConfig(epochs=1, repeats=1, seed=0))
    assert cnn.status == "ok", cnn.message
    assert cnn.test_logits.shape == (ds.X_test.shape[0], 3)  # a K-logit head, reported as z_k - z_0
    assert cnn.extra["derived_datasets"][0].name == "three:cnn_features"


def test_a_large_folder_is_refused_before_decoding(two_classes):
    with pytest.raises(BenchInputError, match=r"12 images; expected at most 10 \(each takes 120 KB"):
        load_image_folder(two_classes, max_images=10)


# --- bad input: one line naming the file or folder ------------------------------------------


def _png_bytes(size=(30, 30)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    buffer = BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG")
    return buffer.getvalue()


def _bad(tmp_path: Path, case: str) -> tuple[Path, Path, str]:
    """(the folder to load, the path the message must name, a phrase it must hold)."""
    root = tmp_path / "data"
    if case == "missing":
        return root, root, "no such folder"
    if case == "a file":
        root.write_text("x")
        return root, root, "not a folder"
    root.mkdir()
    if case == "empty":
        return root, root, "holds no images"
    if case == "no images, only text":
        (root / "a").mkdir()
        (root / "a" / "README.txt").write_text("x")
        return root, root, "holds no images"
    if case == "images not in class folders":
        for i in range(3):
            (root / f"{i}.png").write_bytes(_png_bytes())
        return root, root, "holds no images in class sub-folders"
    image_folder(root, {"a": DARK})
    if case == "one class":
        return root, root, "1 class sub-folder (a)"
    if case == "a class of one image":
        (root / "b").mkdir()
        (root / "b" / "0.png").write_bytes(_png_bytes())
        return root, root / "b", "class 'b' has 1 image(s); expected at least 2"
    if case == "a class of no image":
        (root / "b").mkdir()
        (root / "b" / "notes.txt").write_text("x")
        return root, root / "b", "class 'b' has 0 image(s)"
    image_folder(root, {"b": LIGHT})
    bad = root / "b" / "broken.png"
    if case == "not an image":
        bad.write_text("hello, I am text\n")
    elif case == "truncated png":
        bad.write_bytes(_png_bytes((60, 60))[:-40])
    elif case == "truncated jpeg":
        bad = bad.with_suffix(".jpg")
        bad.write_bytes(_jpeg_bytes()[:600])
    elif case == "empty file":
        bad = bad.with_suffix(".bmp")
        bad.write_bytes(b"")
    return root, bad, "not a readable image"


BAD = [
    "missing",
    "a file",
    "empty",
    "no images, only text",
    "images not in class folders",
    "one class",
    "a class of one image",
    "a class of no image",
    "not an image",
    "truncated png",
    "truncated jpeg",
    "empty file",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_naming_the_file_or_folder(tmp_path, case):
    folder, named, phrase = _bad(tmp_path, case)
    with pytest.raises(BenchInputError) as caught:
        load_image_folder(folder)
    message = str(caught.value)
    assert message.startswith(f"{named}: ") and phrase in message and "\n" not in message, message


# --- end to end: the README's example through the CLI ---------------------------------------


def readme_images_snippet() -> str:
    """The python block of the README's "Your own images" section, verbatim."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Your own images") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder outside the checkout, as the README says
    exec(compile(readme_images_snippet(), "README.md", "exec"), {})
    (tmp_path / "my_images" / "README.txt").write_text("skipped\n")
    models = "sklearn_logit,statsmodels_logit,torch_linear,torch_cnn"
    argv = ["run", "--images", "my_images", "--models", models, "--epochs", "1", "--out", "my_report"]
    assert main([*argv, "-q", "--no-history", "--repeats", "1"]) == 0
    out = tmp_path / "my_report"
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    described = info["datasets"]["my_images"]
    assert described["classes"] == "circles, squares" and described["skipped_files"] == 1
    assert described["labels"] == "0 = circles, 1 = squares" and described["images"] == "3x200x200"
    assert info["datasets"]["my_images:cnn_features"]["n_features"] == 84
    fits = pd.read_csv(out / "fits.csv")
    # the CNN on its own derived datasets (the features, the probes): no image view there
    cnn_on_features = fits["dataset"].str.startswith("my_images:") & (fits["model"] == "torch_cnn")
    assert (fits.loc[cnn_on_features, "status"] == "skipped").all()
    assert fits["dataset"].str.contains(":probe:").sum() == 10 * 4  # ten probes, four models each
    assert (fits.loc[~cnn_on_features, "status"] == "ok").all(), fits[["dataset", "model", "status"]]
    assert {"torch_cnn", "torch_cnn_fc3_refit"} <= set(fits["model"])
    agreement = pd.read_csv(out / "agreement.csv")
    exact = {"sklearn_logit", "statsmodels_logit", "torch_linear", "torch_cnn_fc3_refit"}
    agreement = agreement[agreement["model_a"].isin(exact) & agreement["model_b"].isin(exact)]
    for dataset in ("my_images", "my_images:cnn_features"):  # the linear models agree on both views
        rows = agreement[agreement["dataset"] == dataset]
        assert len(rows), dataset
        for row in rows.itertuples():
            assert row.max_abs_diff <= TOLERANCES[row.quantity], row
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "torch_cnn on 3x200x200 pixels" in report and "circles, squares" in report


@pytest.mark.parametrize("case", ["one class", "not an image"])
def test_bad_input_through_the_cli_writes_nothing(tmp_path, monkeypatch, capsys, case):
    folder, named, phrase = _bad(tmp_path, case)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--images", str(folder), "--out", "out", "-q", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(named) in err and phrase in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "reports").exists()
