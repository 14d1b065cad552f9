"""Process-group helpers for multi-process training under ``torchrun`` (one process per GPU, or gloo on CPU).

- ``init()`` starts the process group once (``WORLD_SIZE > 1``) with backend ``cpu:gloo,cuda:nccl`` when CUDA is
  present (NCCL serves CUDA tensors only; gloo takes the CPU tensors of ``all_gather_object``), else ``gloo``, and
  first pins the process to ``cuda:LOCAL_RANK`` (``torch.cuda.set_device``) so that no collective lands on cuda:0.
  It also makes a gloo *control* group with a long timeout for waits that are not compute (rank 0 generating data).
  Collective timeout: ``S2SBENCH_DIST_TIMEOUT_S`` seconds (default 600), control waits ``S2SBENCH_CONTROL_TIMEOUT_S``
  (default 6 h).
- ``device(local)``: the training device of this process, ``cuda:LOCAL_RANK`` or the CPU.
- ``any_flags(values, device)``: elementwise max over the ranks of a few 0/1 flags, as a tensor on the training
  device (so the very same code runs on NCCL and gloo).
- ``share_error(err)``: every rank calls it after a section that only some ranks run (rank 0 validating, generating
  data); if any rank failed, every rank raises: the failing one its own exception, the others ``DistributedError``
  naming that rank and its error. An exception inside a section that every rank runs (a training step) ends that
  process; ``torchrun`` (and ``torch.multiprocessing.spawn``) then stop the others, and gloo peers fail at their
  next collective with a closed connection; the error itself is printed by the failing rank.
- ``averaging(opts)``: makes each optimiser's ``step()`` first average the gradients of its parameters over the
  ranks (what DDP would do), through a step pre-hook on the optimiser; the trainer applies it to every optimiser a
  model returns, so a model calls plain ``opt.step()`` and cannot skip the averaging. ``broadcast(module)`` copies
  rank 0's parameters and buffers to every rank (the common starting point).
- ``shutdown()`` destroys the process group (the runner calls it when training is done).
"""
from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist

from s2sbench.errors import ToolError

_CONTROL: dict[str, object] = {}


class DistributedError(ToolError):
    """Another rank failed; the message names it and its error."""


def backend() -> str:
    return "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"


def _seconds(name: str, default: float) -> timedelta:
    return timedelta(seconds=float(os.environ.get(name, default)))


def init() -> tuple[int, int, int]:
    """(rank, world size, local rank); starts the process group under ``torchrun`` (idempotent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", "0")))
        if torch.cuda.is_available():
            torch.cuda.set_device(local % torch.cuda.device_count())
        dist.init_process_group(backend(), timeout=_seconds("S2SBENCH_DIST_TIMEOUT_S", 600))
    if not dist.is_initialized():
        return 0, 1, 0
    if "group" not in _CONTROL:
        _CONTROL["group"] = dist.new_group(backend="gloo", timeout=_seconds("S2SBENCH_CONTROL_TIMEOUT_S", 6 * 3600))
    local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    return dist.get_rank(), dist.get_world_size(), local


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def device(local_rank: int = 0) -> torch.device:
    """This process's training device: ``cuda:LOCAL_RANK`` when CUDA is present, else the CPU."""
    if torch.cuda.is_available():
        return torch.device(f"cuda:{local_rank % torch.cuda.device_count()}")
    return torch.device("cpu")


def any_flags(values: list[float], dev: torch.device) -> list[float]:
    """Elementwise max of ``values`` over the ranks (unchanged in one process); computed on ``dev``."""
    t = torch.tensor(values, dtype=torch.float32, device=dev)
    if world_size() > 1:
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def share_error(err: BaseException | None) -> None:
    """Collective: raise on every rank if any rank passes an exception (see the module docstring)."""
    if world_size() == 1:
        if err is not None:
            raise err
        return
    msgs: list[str | None] = [None] * dist.get_world_size()
    dist.all_gather_object(msgs, None if err is None else f"{type(err).__name__}: {err}",
                           group=_CONTROL.get("group"))
    if err is not None:
        raise err
    failed = [(r, m) for r, m in enumerate(msgs) if m is not None]
    if failed:
        r, m = failed[0]
        raise DistributedError(f"rank {r} failed, so rank {dist.get_rank()} stops too: {m}")


def gather_objects(obj: object) -> list[object]:
    """``[obj of rank 0, obj of rank 1, ...]`` (through the CPU control group); ``[obj]`` in one process."""
    if world_size() == 1:
        return [obj]
    out: list[object] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj, group=_CONTROL.get("group"))
    return out


def broadcast(module: torch.nn.Module) -> None:
    """Rank 0's parameters and buffers, in place on every rank (nothing in one process)."""
    if world_size() > 1:
        for t in module.state_dict().values():
            dist.broadcast(t, 0)


def average_gradients(opt: torch.optim.Optimizer) -> None:
    """Average the gradients of ``opt``'s trainable parameters over the ranks, in one all-reduce.

    Each parameter takes part with a presence flag, so that the ranks agree on the reduced tensor's shape even when a
    gradient is None on some of them; a gradient stays None only where it is None on every rank."""
    if world_size() == 1:
        return
    params = [p for g in opt.param_groups for p in g["params"] if p.requires_grad]
    if not params:
        return
    dev = params[0].device
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float() for p in params]
                     + [torch.tensor([float(p.grad is not None) for p in params], device=dev)])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset, present = 0, flat[-len(params):].tolist()
    for p, seen in zip(params, present):
        part = flat[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
        if seen > 0:
            if p.grad is None:
                p.grad = part.to(p.dtype).clone()
            else:
                p.grad.copy_(part)


def averaging(opts: dict[str, torch.optim.Optimizer]) -> dict[str, torch.optim.Optimizer]:
    """``opts``, each made to call ``average_gradients`` at the start of its ``step()`` (a step pre-hook: the
    optimiser object stays the one the model built, so its schedulers and state dict are untouched)."""
    for opt in opts.values():
        opt.register_step_pre_hook(lambda o, args, kwargs: average_gradients(o))
    return opts


def shutdown() -> None:
    """Destroy the process group (and the control group) if one is running."""
    if dist.is_available() and dist.is_initialized():
        _CONTROL.clear()
        dist.destroy_process_group()
