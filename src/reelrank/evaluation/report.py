"""The evaluation report: a markdown table, the raw numbers as JSON, and a bar chart (PNG)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLUMNS = ("hr@10", "ndcg@10", "hr@100", "mrr", "coverage@10", "diversity@10", "popularity@10")
PLOTTED = ("hr@10", "ndcg@10", "hr@100")


@dataclass
class Report:
    dataset: str
    rows: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> metric -> value
    notes: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        head = "| method | " + " | ".join(COLUMNS) + " |"
        sep = "|---|" + "---:|" * len(COLUMNS)
        lines = [head, sep]
        for name, m in self.rows.items():
            lines.append(f"| {name} | " + " | ".join(f"{m[c]:.4f}" if c in m else "" for c in COLUMNS) + " |")
        return "\n".join(lines)

    def write(self, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        md = out / "results.md"
        md.write_text(f"# Offline evaluation: {self.dataset}\n\n{self.table()}\n\n```json\n"
                      f"{json.dumps(self.notes, indent=2, default=str)}\n```\n")
        js = out / "results.json"
        js.write_text(json.dumps({"dataset": self.dataset, "rows": self.rows, "notes": self.notes}, indent=2,
                                 default=str))
        return [md, js, self.plot(out / "results.png")]

    def plot(self, path: Path) -> Path:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display
        import matplotlib.pyplot as plt
        import numpy as np

        names = list(self.rows)
        x = np.arange(len(PLOTTED))
        width = 0.8 / max(len(names), 1)
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
        for i, name in enumerate(names):
            vals = [self.rows[name].get(m, 0.0) for m in PLOTTED]
            bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, vals, width, label=name)
            ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
        ax.set_xticks(x, PLOTTED)
        ax.set_ylabel("leave-one-out, full ranking")
        ax.set_title(f"{self.dataset}: offline evaluation (test split)")
        ax.legend(fontsize=8, ncols=2)
        ax.set_ylim(0, max([self.rows[n].get(m, 0.0) for n in names for m in PLOTTED] + [0.1]) * 1.15)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return path
