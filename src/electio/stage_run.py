"""The record of one stage's run (done, skipped with its reason, or reused from the cache): what
the runner, the cache and the refresh summary exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StageRun:
    stage: str
    status: str                      # done | skipped
    reason: str = ""
    seconds: float = 0.0
    rows_written: int = 0
    files: list[Path] = field(default_factory=list)
    reused: bool = False             # outputs restored from the cache (electio.cache): inputs unchanged

    def line(self) -> str:
        if self.status == "skipped":
            return f"{self.stage:12} skipped: {self.reason}"
        if self.reused:
            extra = f", {len(self.files)} files" if self.files else ""
            return (f"{self.stage:12} reused in {self.seconds:.1f} s (inputs unchanged; {self.rows_written} rows{extra})"
                    f"{' - ' + self.reason if self.reason else ''}")
        extra = f", {len(self.files)} files" if self.files else ""
        rows = f"{self.rows_written} rows" if self.rows_written else "no table"
        return f"{self.stage:12} done in {self.seconds:.1f} s ({rows}{extra}){' - ' + self.reason if self.reason else ''}"
