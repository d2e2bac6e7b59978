"""A folder of images as a dataset (``--images DIR``): torchvision's ImageFolder layout.

Layout: one sub-folder per class, the images in it (sub-folders of a class belong to it)::

    my_images/
        cats/   001.png  002.jpg  ...
        dogs/   a.jpeg   b.BMP    ...

Class names are the sub-folder names in sorted order (class 0 is the first, the reference):
two classes make a binary dataset, K > 2 a K-class one. Images are .png, .jpg, .jpeg or .bmp
(any case), of any size, RGB, grayscale (8 or 16 bits), palette, RGBA/LA or CMYK, read with
Pillow and converted to RGB (alpha dropped, not composited; EXIF orientation not applied, as
in torchvision's loader; 16-bit grayscale scaled to 8 bits, value / 257). Other files
(README.txt, .DS_Store, any hidden file, files directly in DIR) are skipped and counted
(``skipped_files`` in run.json); hidden folders are not classes and are not read.

The two views of the same rows (and so of the same split), both made from the full-size image:

- the CNN: the RGB image resized to 200 x 200 (Pillow's BILINEAR, antialiased when shrinking;
  the aspect ratio is not kept), stored as uint8 (n, 3, 200, 200);
- the linear models: Pillow's grayscale ("L": L = 0.299 R + 0.587 G + 0.114 B) resized to
  16 x 16 with BOX (each pixel the mean of the area it covers), as 256 float64 features
  ``px_RR_CC`` (row, column) in [0, 1] (value / 255), not standardised.

Memory: each image is decoded once, into a uint8 array allocated once for the whole folder
(120,000 bytes an image, 3 x 200 x 200) and a float64 row of 256 (2 KB); no float copy of the
images is made (the CNN converts one batch at a time). The split copies the uint8 rows into its
train and test arrays, so the peak is about 240 KB an image. At most ``MAX_IMAGES`` (20,000:
2.4 GB of images, ~4.8 GB at the peak) are read; a larger folder is bad input.

Bad input, one line naming the file or folder (``BenchInputError``, exit 2): a folder that is
missing or not a folder, no images, fewer than two class sub-folders, a class with fewer than
two images, too many images, a corrupt, truncated or unreadable image.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.datasets.builder import build
from bench.datasets.dataset import Dataset
from bench.errors import BenchInputError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
CNN_SIDE = 200  # the seed CNN's input: 3 x 200 x 200
GRAY_SIDE = 16  # the linear models' view: 16 x 16 = 256 pixels
MAX_IMAGES = 20_000  # x 120,000 bytes = 2.4 GB of uint8 images
KINDS = "/".join(SUFFIXES)  # .png/.jpg/.jpeg/.bmp
EXPECTED = f"expected one sub-folder per class holding {KINDS} images"


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES and not path.name.startswith(".")


def _class_files(folder: Path) -> tuple[dict[str, list[Path]], int]:
    """{class name: its image files, sorted}, and how many other files were skipped."""
    classes, skipped = {}, 0
    try:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                skipped += entry.is_file()
            elif entry.is_dir():
                files = [p for p in sorted(entry.rglob("*")) if p.is_file()]
                hidden = lambda p: any(part.startswith(".") for part in p.relative_to(entry).parts)  # noqa: E731
                images = [p for p in files if _is_image(p) and not hidden(p)]
                classes[entry.name] = images
                skipped += len(files) - len(images)
            else:
                skipped += 1  # a file directly in the folder belongs to no class
    except OSError as exc:
        raise BenchInputError(f"{exc.filename or folder}: cannot list the folder ({exc.strerror or exc})") from None
    return classes, skipped


def _check_layout(folder: Path, classes: dict[str, list[Path]], max_images: int) -> None:
    n = sum(len(files) for files in classes.values())
    if n == 0:
        raise BenchInputError(f"{folder}: holds no images in class sub-folders; {EXPECTED}")
    if len(classes) < 2:
        found = ", ".join(classes) or "none"
        raise BenchInputError(f"{folder}: {len(classes)} class sub-folder ({found}); {EXPECTED}, at least two")
    for name, files in classes.items():
        if len(files) < 2:
            raise BenchInputError(f"{folder / name}: class {name!r} has {len(files)} image(s); expected at least 2")
    if n > max_images:
        raise BenchInputError(
            f"{folder}: {n:,} images; expected at most {max_images:,} (each takes 120 KB as 3x200x200 uint8)"
        )


def _decode(path: Path, pixels: np.ndarray, gray: np.ndarray) -> None:
    """Read one image into ``pixels`` (3, 200, 200) uint8 and ``gray`` (256,) float64, in place."""
    try:
        with Image.open(path) as img:
            img.load()  # decode now: a truncated or corrupt file fails here, named
            if img.mode.startswith("I"):  # 16-bit grayscale (I;16, I): to 8 bits, not clipped
                img = Image.fromarray(np.clip(np.rint(np.asarray(img) / 257), 0, 255).astype(np.uint8), "L")
            rgb = img.convert("RGB")
            big = rgb.resize((CNN_SIDE, CNN_SIDE), Image.Resampling.BILINEAR)
            small = rgb.convert("L").resize((GRAY_SIDE, GRAY_SIDE), Image.Resampling.BOX)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise BenchInputError(f"{path}: not a readable image ({reason}); expected a {KINDS} file") from None
    pixels[...] = np.asarray(big).transpose(2, 0, 1)  # (200, 200, 3) -> (3, 200, 200)
    gray[...] = np.asarray(small, dtype=np.float64).ravel() / 255.0


def load_image_folder(
    folder: Path,
    *,
    seed: int = 0,
    test_fraction: float = 0.25,
    penalty: str = "l2",
    C: float = 1.0,
    max_images: int = MAX_IMAGES,
) -> Dataset:
    """The images under ``folder`` (one sub-folder per class) as a Dataset: a stratified holdout
    of ``test_fraction`` with ``seed`` (0: every image is train and test), uint8 3x200x200 images
    for the CNN and 16x16 grayscale pixels in [0, 1] for the linear models (module docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise BenchInputError(f"{folder}: {what}; {EXPECTED}")
    classes, skipped = _class_files(folder)
    _check_layout(folder, classes, max_images)
    labels = tuple(classes)  # sorted sub-folder names
    paths = [path for files in classes.values() for path in files]
    y = np.repeat(np.arange(len(labels), dtype=np.float64), [len(files) for files in classes.values()])
    images = np.empty((len(paths), 3, CNN_SIDE, CNN_SIDE), dtype=np.uint8)  # the only copy, filled in place
    X = np.empty((len(paths), GRAY_SIDE * GRAY_SIDE))  # (n, 256) float64
    for i, path in enumerate(paths):
        _decode(path, images[i], X[i])
    counts = ", ".join(f"{name} {len(files)}" for name, files in classes.items())
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", folder.resolve().name) or "images"
    return build(
        name=name,
        description=(
            f"images in {name}: {len(labels)} classes ({counts}); linear models see "
            f"{GRAY_SIDE}x{GRAY_SIDE} grayscale pixels, the CNN {CNN_SIDE}x{CNN_SIDE} RGB"
        ),
        source=f"images:{folder}",
        X=X,
        y=y,
        feature_names=tuple(f"px_{r:02d}_{c:02d}" for r in range(GRAY_SIDE) for c in range(GRAY_SIDE)),
        split="holdout",
        test_fraction=test_fraction,
        standardize=False,
        penalty=penalty,
        C=C,
        seed=seed,
        images=images,
        labels=labels,
        notes={"classes": ", ".join(labels), "images_per_class": counts, "skipped_files": skipped},
        where=str(folder),
    )
