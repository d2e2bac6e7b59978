"""What the float64 torch linear models share: tensors from a Dataset, threads, device."""

from __future__ import annotations

import warnings

from bench.models.base import Model


def tensor_view(array, torch, device):
    """The Dataset's float64 array as a tensor on the same memory: no copy on the CPU.

    Dataset arrays are read-only numpy arrays (the models share them). torch has no
    read-only tensors: ``torch.from_numpy`` shares the memory anyway and warns that
    writing through the tensor would be undefined. The torch models never write to their
    inputs (``tests/test_scale.py`` checks the bytes after a fit), so that one warning is
    allowed here, where it is expected. Copying instead (``torch.tensor``) would hold the
    features twice: 800 MB more on the scale suite's synthetic_wide. On a CUDA device the
    transfer is the one copy.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable", category=UserWarning)
        tensor = torch.from_numpy(array)
    return tensor.to(device=device, dtype=torch.float64)  # the same tensor when already float64 on the CPU


class TorchTabular(Model):
    """Base of ``torch_linear`` and ``torch_softmax2``: subclasses build ``self.module``."""

    label_dtype = "float64"  # BCEWithLogitsLoss takes float targets; CrossEntropyLoss int64

    def label_dtype_for(self, dataset) -> str:
        return self.label_dtype

    def build_module(self, n_features: int):
        raise NotImplementedError

    def prepare(self, dataset, config) -> None:
        import torch

        torch.set_num_threads(config.threads)
        self.torch, self.dataset = torch, dataset
        self.device = torch.device(config.device)
        self.X_train = tensor_view(dataset.X_train, torch, self.device)  # (n, p), the Dataset's memory
        self.y_train = torch.tensor(
            dataset.y_train, dtype=getattr(torch, self.label_dtype_for(dataset)), device=self.device
        )  # (n,)
        self.X_test = tensor_view(dataset.X_test, torch, self.device)  # (m, p)
        with torch.random.fork_rng(devices=[]):  # the module's random init must not touch global state
            self.module = self.build_module(dataset.n_features)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()
