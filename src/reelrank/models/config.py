"""The two-tower model's hyper-parameters: one JSON-serialisable object saved with every artifact."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from reelrank.models.features import ItemBuckets


@dataclass
class TwoTowerConfig:
    dim: int = 64  # output (retrieval) space and hidden size
    content_dim: int = 384  # content vector size (the encoder's)
    max_len: int = 200  # user-tower sequence length, BOS included
    layers: int = 2  # causal self-attention blocks
    heads: int = 2
    dropout: float = 0.2
    id_dropout: float = 0.1  # share of item ids hidden per batch, so content features carry cold posts
    buckets: ItemBuckets = field(default_factory=ItemBuckets)
    # training
    epochs: int = 20
    batch_size: int = 64  # sequences (windows) per step: more steps per epoch learn faster on small data
    lr: float = 3e-3
    weight_decay: float = 1e-4
    in_batch_negatives: int = 256  # K: negatives drawn from the batch's positives (popularity-distributed)
    uniform_negatives: int = 256  # M: negatives drawn uniformly from the catalogue
    logq_correction: bool = True
    init_temperature: float = 0.07
    learn_temperature: bool = True
    min_temperature: float = 0.02
    negative_weight: float = 0.5  # scale of the unlikelihood loss on explicit negatives
    patience: int = 3  # epochs without validation improvement before stopping (0 = never stop early)
    seed: int = 0
    threads: int = 0  # torch threads; 0 = torch's default (all cores)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TwoTowerConfig:
        raw = dict(raw)
        buckets = ItemBuckets(**raw.pop("buckets", {}))
        known = set(cls.__dataclass_fields__)
        return cls(buckets=buckets, **{k: v for k, v in raw.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> TwoTowerConfig:
        return cls.from_dict(json.loads(text))
