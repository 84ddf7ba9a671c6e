"""Data-parallel training across processes started by `torchrun` or `accelerate launch` (gloo on CPU, NCCL on GPU).

One process (no launcher) is the degenerate case: every call below is a no-op or the identity, so a training
loop written against `Distributed` runs unchanged alone and under a launcher.

The rules that keep ranks from hanging:

* every rank runs the same code path and reaches every collective in the same order: evaluation, early
  exits (`any_rank`), models trained in lockstep, cached artefacts (rank 0 builds, `barrier`, others read);
* a global batch of B examples is split into contiguous per-rank slices (`local_batch`) and each rank's mean
  loss is scaled by n_r·W/B, so the averaged gradient equals the single-process gradient of the whole batch
  (up to float summation order). A rank whose slice would be empty gets one example with scale 0: it still
  takes part in the gradient all-reduce;
* only rank 0 writes the run folder (RunContext does this); the others wait at the end.

    dp = ctx.dist
    model = dp.wrap(model)                            # DDP, or the model itself in one process
    for batch in batches:                             # the same global batches on every rank (same seed)
        idx, scale = dp.local_batch(batch)
        loss = scale * loss_fn(model(x[idx]), y[idx])
        loss.backward(); opt.step(); opt.zero_grad()
    acc = dp.mean(local_correct / local_n)            # or gather predictions with dp.all_gather
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class Distributed:
    """Rank and world size from the launcher's environment, and the collectives a training loop needs."""

    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0, backend: str | None = None):
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        self.rank, self.world_size, self.local_rank, self.backend = rank, world_size, local_rank, backend

    @classmethod
    def from_env(cls, device: str = "cpu") -> Distributed:
        """Join the process group the launcher describes (WORLD_SIZE > 1), else a single-process instance."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        import torch.distributed as dist

        local = int(os.environ.get("LOCAL_RANK", "0"))
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if not dist.is_initialized():
            timeout = timedelta(seconds=float(os.environ.get("PAPERZOO_DIST_TIMEOUT_S", "1800")))
            if backend == "nccl":
                import torch

                torch.cuda.set_device(local)
            dist.init_process_group(backend=backend, init_method="env://", timeout=timeout)
        return cls(dist.get_rank(), dist.get_world_size(), local, backend)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device_for(self, device: str) -> str:
        """The device this rank trains on: its own GPU under a launcher, else `device` as given."""
        if self.enabled and device.startswith("cuda"):
            return f"cuda:{self.local_rank}"
        return device

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank (picklable objects)."""
        if not self.enabled:
            return obj
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def all_gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order."""
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def sum(self, value: float) -> float:
        if not self.enabled:
            return float(value)
        import torch
        import torch.distributed as dist

        t = torch.tensor([float(value)], dtype=torch.float64, device=self._collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t.item())

    def mean(self, value: float) -> float:
        """The average of `value` over ranks."""
        return self.sum(value) / self.world_size

    def any_rank(self, flag: bool) -> bool:
        """True on every rank when it is True on any: early exits that every rank takes together."""
        return self.sum(1.0 if flag else 0.0) > 0

    def local_batch(self, batch: Sequence[int] | np.ndarray) -> tuple[np.ndarray, float]:
        """This rank's contiguous slice of a global batch, and the loss scale n_r·W/B that makes the
        averaged gradient equal the whole batch's."""
        idx = np.asarray(batch)
        if not self.enabled:
            return idx, 1.0
        part = np.array_split(idx, self.world_size)[self.rank]
        if len(part) == 0:
            return idx[:1], 0.0
        return part, len(part) * self.world_size / len(idx)

    def shard(self, items: Sequence[Any] | int) -> list[Any]:
        """This rank's strided share of `items` (or of range(items)), for work whose results are gathered."""
        seq = range(items) if isinstance(items, int) else items
        return list(seq)[self.rank::self.world_size]

    def gather_shards(self, local: Iterable[Any], total: int) -> list[Any]:
        """Undo `shard`: every rank's results interleaved back into the original order (every rank gets all)."""
        parts = self.all_gather(list(local))
        out: list[Any] = [None] * total
        for r, part in enumerate(parts):
            out[r::self.world_size] = part
        return out

    def wrap(self, model: Any) -> Any:
        """DistributedDataParallel around `model` under a launcher (gradients averaged in backward), else `model`."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            return model
        on_gpu = params[0].device.type == "cuda"
        return DistributedDataParallel(model, device_ids=[params[0].device.index] if on_gpu else None)

    def average_gradients(self, parameters: Iterable[Any]) -> None:
        """Average `.grad` over ranks in one flat all-reduce (for loops that cannot use `wrap`)."""
        if not self.enabled:
            return
        import torch
        import torch.distributed as dist

        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def close(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    def _collective_device(self) -> str:
        return f"cuda:{self.local_rank}" if self.backend == "nccl" else "cpu"


def unwrap(model: Any) -> Any:
    """The module inside a DDP wrapper (for saving, evaluation hooks), or the model itself."""
    return getattr(model, "module", model)
