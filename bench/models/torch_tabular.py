"""What the float64 torch linear models share: tensors from a Dataset, threads, device."""

from __future__ import annotations

from bench.models.base import Model


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
        # copies: the Dataset's arrays are read-only, and torch cannot share read-only memory
        self.X_train = torch.tensor(dataset.X_train, dtype=torch.float64, device=self.device)  # (n, p)
        self.y_train = torch.tensor(dataset.y_train, dtype=getattr(torch, self.label_dtype_for(dataset)), device=self.device)  # (n,)
        self.X_test = torch.tensor(dataset.X_test, dtype=torch.float64, device=self.device)  # (m, p)
        with torch.random.fork_rng(devices=[]):  # the module's random init must not touch global state
            self.module = self.build_module(dataset.n_features)

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()
