"""The ``pbmatch`` command: ``pbmatch demo``, ``pbmatch pair FILE -o OUT``.

Errors print one line on stderr and exit non-zero (2 for bad input, 1 otherwise); ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pbmatch.exceptions import InputError, PbmatchError

__all__ = ["main"]


def _read_graph(path: Path) -> Any:
    """Read a JSON file ``{"regions": [...], "units": [...], "ties": [...]}``."""
    from pbmatch.graph import RegionGraph

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("units"), list):
        raise InputError(
            f"{path}: expected a JSON object with a list under 'units' "
            "(and 'regions', optionally 'ties')"
        )
    unknown = sorted(set(data) - {"units", "regions", "ties", "categories"})
    if unknown:
        raise InputError(f"{path}: unknown top-level keys {unknown}; allowed: units, regions, ties")
    for key in ("regions", "ties"):
        if not isinstance(data.get(key, []), list):
            raise InputError(f"{path}: '{key}' must be a list of objects")
    try:
        return RegionGraph.from_records(
            units=data["units"], regions=data.get("regions", []), ties=data.get("ties", [])
        )
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _write_pairs(result: Any, out: Path) -> None:
    rows = result.to_records()
    suffix = out.suffix.lower()
    if suffix == ".json":
        payload = {"status": result.status, "objective": result.objective, "pairs": rows}
        out.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    elif suffix == ".csv":
        with out.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=list(rows[0]) if rows else ["provider", "receiver"]
            )
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise InputError(f"-o {out}: unknown suffix {out.suffix!r}; allowed: .json, .csv")


def _pairs_table(result: Any, limit: int) -> str:
    rows = sorted(result.to_records(), key=lambda r: -r["score"])[:limit]
    name = {u.id: u.name for u in result.graph.units}
    lines = [f"{'score':>6} {'need met':>8} {'km':>5}  provider → receiver"]
    lines += [
        f"{r['score']:>6.3f} {r['need_met']:>8.3f} {r['distance_km']:>5.1f}  "
        f"{r['provider']} {name[r['provider']]} → {r['receiver']} {name[r['receiver']]}"
        for r in rows
    ]
    return "\n".join(lines)


def _cmd_demo(args: argparse.Namespace) -> int:
    from pbmatch.datasets import synthetic_district
    from pbmatch.problems.pairing import pair

    started = time.perf_counter()
    graph = synthetic_district(seed=args.seed)
    result = pair(graph, max_km=args.max_km)
    elapsed = time.perf_counter() - started
    kinds = ", ".join(f"{k}: {v}" for k, v in zip(*_count(graph.kind_names), strict=True))
    print(
        f"Synthetic district (seed {args.seed}): {len(graph)} units ({kinds}), "
        f"{len(graph.regions)} regions, {len(graph.ties)} standing ties"
    )
    print(result.report())
    print(f"\nTop {args.top} pairs by score:")
    print(_pairs_table(result, args.top))
    print(f"\nWhole pipeline (generate, validate, score, solve, decode): {elapsed:.2f} s")
    return 0 if result.success else 1


def _count(values: Any) -> tuple[list[str], list[int]]:
    import numpy as np

    names, counts = np.unique(values, return_counts=True)
    return names.tolist(), counts.tolist()


def _cmd_pair(args: argparse.Namespace) -> int:
    from pbmatch.problems.pairing import pair

    graph = _read_graph(Path(args.file))
    result = pair(graph, max_km=args.max_km)
    print(result.report())
    if args.output:
        _write_pairs(result, Path(args.output))
        print(f"Wrote {len(result)} pairs to {args.output}")
    return 0 if result.success else 1


def _parser() -> argparse.ArgumentParser:
    from pbmatch import __version__

    parser = argparse.ArgumentParser(
        prog="pbmatch",
        description="Optimal, explainable matching for regional co-building (区域化党建).",
    )
    parser.add_argument("--version", action="version", version=f"pbmatch {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="pair the embedded synthetic district and summarise")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic district")
    demo.add_argument("--max-km", type=float, default=None, help="never pair farther apart")
    demo.add_argument("--top", type=int, default=10, help="pairs to list (default 10)")
    demo.set_defaults(run=_cmd_demo)

    pair = commands.add_parser("pair", help="pair the units of a JSON file")
    pair.add_argument("file", help='JSON: {"regions": [...], "units": [...], "ties": [...]}')
    pair.add_argument("-o", "--output", help="write the pairs to .json or .csv")
    pair.add_argument("--max-km", type=float, default=None, help="never pair farther apart")
    pair.set_defaults(run=_cmd_pair)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except Exception as exc:
        if args.debug:
            raise
        expected = isinstance(exc, (PbmatchError, OSError))
        kind = "error" if expected else f"internal error ({type(exc).__name__})"
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"pbmatch: {kind}: {message}", file=sys.stderr)
        return 2 if isinstance(exc, (InputError, OSError)) else 1


if __name__ == "__main__":
    sys.exit(main())
