"""Client partitions of a labelled dataset: the paper's naive Dirichlet, NIID-Bench Dirichlet, shards.

Every partition returns ``list[np.ndarray]`` of sample indices, one array per client; unused samples are
simply absent (``used_fraction`` reports how much of the data the federation sees).
"""

from __future__ import annotations

import numpy as np


def naive_dirichlet(labels: np.ndarray, n_clients: int, alpha: float, rng: np.random.Generator,
                    n_classes: int | None = None) -> list[np.ndarray]:
    """The FedGA authors' partition: class ratios r[k] ~ Dir(alpha 1_C) per client, then
    nums[k, c] = round(min_c(size_c / sum_k r[k, c]) * r[k, c]).

    Every client gets (up to rounding) the same number of samples; the class that is most demanded
    limits the total, so part of the data stays unused.
    """
    labels = np.asarray(labels)
    n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(n_classes)]
    sizes = np.array([len(ix) for ix in by_class], dtype=float)
    ratios = rng.dirichlet(np.full(n_classes, float(alpha)), size=n_clients)
    nums = np.round((sizes / ratios.sum(axis=0)).min() * ratios).astype(int)
    # rounding up can overdraw a class by a few samples; take them from the largest clients of that class
    for c in range(n_classes):
        while nums[:, c].sum() > sizes[c]:
            nums[np.argmax(nums[:, c]), c] -= 1
    clients: list[list[np.ndarray]] = [[] for _ in range(n_clients)]
    for c in range(n_classes):
        bounds = np.concatenate([[0], np.cumsum(nums[:, c])])
        for k in range(n_clients):
            clients[k].append(by_class[c][bounds[k]:bounds[k + 1]])
    return [np.concatenate(parts).astype(np.int64) for parts in clients]


def niid_dirichlet(labels: np.ndarray, n_clients: int, alpha: float, rng: np.random.Generator,
                   min_size: int = 10, n_classes: int | None = None, max_tries: int = 1000) -> list[np.ndarray]:
    """NIID-Bench partition: for every class, split its samples over clients with proportions
    q ~ Dir(alpha 1_K) (clients already above N/K get none); redraw until every client has >= min_size."""
    labels = np.asarray(labels)
    n_classes = int(labels.max()) + 1 if n_classes is None else n_classes
    n = len(labels)
    if min_size * n_clients > n:
        raise ValueError(f"min_size={min_size} x n_clients={n_clients} exceeds the {n} samples")
    for _ in range(max_tries):
        parts: list[list[int]] = [[] for _ in range(n_clients)]
        for c in range(n_classes):
            idx = rng.permutation(np.flatnonzero(labels == c))
            q = rng.dirichlet(np.full(n_clients, float(alpha)))
            q = q * np.array([len(p) < n / n_clients for p in parts])
            q = q / q.sum()
            cuts = (np.cumsum(q) * len(idx)).astype(int)[:-1]
            for k, chunk in enumerate(np.split(idx, cuts)):
                parts[k].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            return [np.array(sorted(p), dtype=np.int64) for p in parts]
    raise ValueError(f"no NIID-Bench partition with min_size={min_size} after {max_tries} draws; lower it")


def shards(labels: np.ndarray, n_clients: int, shards_per_client: int, rng: np.random.Generator) -> list[np.ndarray]:
    """McMahan et al. shards: sort by label, cut into n_clients * shards_per_client equal shards, deal them out."""
    labels = np.asarray(labels)
    n_shards = n_clients * shards_per_client
    order = np.argsort(labels, kind="stable")
    shard_len = len(labels) // n_shards
    if shard_len == 0:
        raise ValueError(f"{n_shards} shards for {len(labels)} samples: too many clients or shards")
    deal = rng.permutation(n_shards).reshape(n_clients, shards_per_client)
    return [np.sort(np.concatenate([order[s * shard_len:(s + 1) * shard_len] for s in row])) for row in deal]


def histograms(labels: np.ndarray, parts: list[np.ndarray], n_classes: int) -> np.ndarray:
    """Per-client label counts, shape (n_clients, n_classes)."""
    labels = np.asarray(labels)
    return np.stack([np.bincount(labels[p], minlength=n_classes) for p in parts])


def used_fraction(parts: list[np.ndarray], n_total: int) -> float:
    """Fraction of the dataset that some client holds."""
    return float(sum(len(p) for p in parts)) / n_total
