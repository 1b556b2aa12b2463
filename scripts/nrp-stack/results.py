"""The pass table: one row per check, kept in a JSON file so that separate commands add to one table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    group: str
    check: str
    passed: bool
    detail: str = ""


class PassTable:
    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self) -> list[Row]:
        if not self.path.exists():
            return []
        return [Row(**row) for row in json.loads(self.path.read_text())]

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)

    def add(self, group: str, check: str, passed: bool, detail: str = "") -> None:
        # A check run again replaces its earlier row.
        rows = [row for row in self.rows() if (row.group, row.check) != (group, check)]
        rows.append(Row(group, check, passed, detail))
        self.path.write_text(json.dumps([asdict(row) for row in rows], indent=1))
        print(f"{'PASS' if passed else 'FAIL'}  {group}: {check}{'  -- ' + detail if detail else ''}", flush=True)

    def all_passed(self) -> bool:
        return all(row.passed for row in self.rows())

    def print(self) -> None:
        rows = self.rows()
        width = max((len(f"{row.group}: {row.check}") for row in rows), default=10)
        print(f"\n| {'check'.ljust(width)} | result | detail")
        print(f"|-{'-' * width}-|--------|-------")
        for row in rows:
            detail = row.detail.replace("\n", " ")[:160]
            print(f"| {f'{row.group}: {row.check}'.ljust(width)} | {'pass' if row.passed else 'FAIL':6} | {detail}")
        passed = sum(row.passed for row in rows)
        print(f"\n{passed}/{len(rows)} passed")
