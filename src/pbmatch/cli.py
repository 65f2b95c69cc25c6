"""The ``pbmatch`` command.

::

    pbmatch demo                          pair the embedded synthetic district and summarise it
    pbmatch pair FILE -o OUT [-o OUT ...]  pair the units of a workbook, CSV, JSON or GeoJSON
    pbmatch report FILE [-o report.html]  pair them and write the HTML report
    pbmatch schema [--workbook]           the JSON Schema of the input (or the workbook's columns)
    pbmatch example OUT                   write the synthetic district as an input file

``-o`` picks the format by suffix: ``.xlsx``, ``.csv``, ``.json``, ``.geojson``, ``.html``; give
it several times to write several files. ``--lang zh`` writes Chinese headers and reports.

Errors print one line on stderr and exit non-zero (2 for bad input, 1 when there is no
solution or something else failed); ``--debug`` shows the traceback instead. Warnings (a region
created because the regions sheet lacks it, say) print as ``pbmatch: warning: ...`` lines.

Adding a problem command (``allocate``, ``posts`` ...) is one :class:`Problem` entry in
:data:`PROBLEMS`: the function to call, its command-line options and how they map to keyword
arguments; reading, writing, the summary and the progress display are shared.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pbmatch.exceptions import InputError, PbmatchError

__all__ = ["PROBLEMS", "Problem", "main"]


# ---------------------------------------------------------------------------------------------
# Problems the command line can solve
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """A problem command: ``pbmatch NAME FILE -o OUT`` calls ``function(graph, **options)``.

    Attributes
    ----------
    name : str
        The command name.
    help : str
        One line for ``pbmatch --help``.
    function : str
        ``"module:function"``, imported when the command runs.
    add_options : callable
        Adds the problem's options to an ``argparse`` parser (use :func:`add_option`, which
        skips an option another problem already added).
    options : callable
        Maps the parsed arguments to the function's keyword arguments.
    """

    name: str
    help: str
    function: str
    add_options: Callable[[argparse.ArgumentParser], None]
    options: Callable[[argparse.Namespace], dict[str, Any]]

    def solve(self, graph: Any, args: argparse.Namespace) -> Any:
        import importlib

        module, _, attr = self.function.partition(":")
        func = getattr(importlib.import_module(module), attr)
        return func(graph, **self.options(args))


def add_option(parser: argparse.ArgumentParser, *flags: str, **kwargs: Any) -> None:
    """``parser.add_argument`` unless the first flag is already there (shared options)."""
    if flags[0] not in parser._option_string_actions:
        parser.add_argument(*flags, **kwargs)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an int >= 0")
    return value


def _pair_options(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--max-km", type=_positive, help="never pair units farther apart (km)")
    add_option(
        parser,
        "--provider-max",
        type=_count,
        default=1,
        help="partners of a co-building unit whose max_partners is empty (default 1)",
    )
    add_option(
        parser,
        "--receiver-max",
        type=_count,
        default=26,
        help="partners of a community/village whose max_partners is empty (default 26)",
    )
    add_option(parser, "--time-limit", type=_positive, help="seconds the solver may use")


def _pair_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "max_km": args.max_km,
        "provider_max": args.provider_max,
        "receiver_max": args.receiver_max,
        "time_limit": args.time_limit,
    }


PROBLEMS: dict[str, Problem] = {
    "pair": Problem(
        name="pair",
        help="pair co-building units with communities and villages (结对共建)",
        function="pbmatch.problems.pairing:pair",
        add_options=_pair_options,
        options=_pair_kwargs,
    ),
}
"""The problem commands, by name; ``pbmatch report`` can run any of them (``--problem``)."""


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------
class _Progress:
    """A one-line progress bar on stderr: ``[#####-----] 2/4 solving … 3.1 s``.

    Animated on a terminal; as plain lines when forced on elsewhere; silent when off.
    """

    def __init__(self, total: int, enabled: bool, stream: TextIO) -> None:
        self.total, self.enabled, self.stream = total, enabled, stream
        self.tty = enabled and stream.isatty()
        self.done = 0

    def _line(self, label: str, elapsed: float) -> str:
        width = 20
        filled = round(width * self.done / max(self.total, 1))
        return (
            f"[{'#' * filled}{'-' * (width - filled)}] {self.done + 1}/{self.total} "
            f"{label} … {elapsed:.1f} s"
        )

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        if not self.enabled:
            yield
            self.done += 1
            return
        started = time.perf_counter()
        stop = threading.Event()
        if self.tty:

            def tick() -> None:
                while not stop.wait(0.2):
                    line = self._line(label, time.perf_counter() - started)
                    self.stream.write("\r\x1b[K" + line)
                    self.stream.flush()

            self.stream.write("\r\x1b[K" + self._line(label, 0.0))
            self.stream.flush()
            thread = threading.Thread(target=tick, daemon=True)
            thread.start()
        else:
            self.stream.write(f"pbmatch: {self._line(label, 0.0)}\n")
        try:
            yield
        finally:
            stop.set()
            if self.tty:
                thread.join()
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            self.done += 1


def _progress_enabled(args: argparse.Namespace) -> bool:
    choice = getattr(args, "progress", None)
    return sys.stderr.isatty() if choice is None else bool(choice)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
def _summary(result: Any, lang: str) -> str:
    from pbmatch.io import _STATUS_ZH, _SUMMARY_ZH, pairing_summary
    from pbmatch.results import PairingResult

    if lang == "zh" and isinstance(result, PairingResult):
        lines = []
        for key, value in pairing_summary(result):
            if value in (None, ""):
                continue
            if key == "status":
                value = _STATUS_ZH.get(str(value), value)
            if key == "need_coverable":
                value = f"{100 * float(value):.1f}%"
            elif isinstance(value, float):
                value = f"{value:.4f}".rstrip("0").rstrip(".")
            lines.append(f"{_SUMMARY_ZH.get(key, key)}：{value}")
        return "\n".join(lines)
    report = getattr(result, "report", None)
    return str(report()) if callable(report) else repr(result)


def _write_outputs(result: Any, outputs: Sequence[str], lang: str, progress: _Progress) -> None:
    from pbmatch.io import write

    for out in outputs:
        path = Path(out)
        with progress.step(f"writing {path.name}"):
            write(result, path, lang=lang)  # type: ignore[arg-type]
        what = "the report" if path.suffix.lower() == ".html" else f"{len(result)} pairs"
        print(f"Wrote {what} to {path}")


def _check_outputs(outputs: Sequence[str]) -> None:
    """Refuse an unknown suffix before solving, not after."""
    allowed = (".xlsx", ".csv", ".json", ".geojson", ".html")
    for out in outputs:
        suffix = Path(out).suffix.lower()
        if suffix not in allowed:
            raise InputError(
                f"-o {out}: unknown suffix {Path(out).suffix!r}; allowed: {', '.join(allowed)}"
            )


def _solve_file(args: argparse.Namespace, problem: Problem, outputs: Sequence[str]) -> int:
    from pbmatch.io import read

    _check_outputs(outputs)
    progress = _Progress(2 + len(outputs), _progress_enabled(args), sys.stderr)
    with progress.step(f"reading {Path(args.file).name}"):
        graph = read(args.file)
    with progress.step("solving"):
        result = problem.solve(graph, args)
    if not args.quiet:
        print(_summary(result, args.lang))
    _write_outputs(result, outputs, args.lang, progress)
    return 0 if result.success else 1


def _cmd_problem(args: argparse.Namespace) -> int:
    return _solve_file(args, PROBLEMS[args.command], args.output or [])


def _cmd_report(args: argparse.Namespace) -> int:
    out = args.output or f"{Path(args.file).stem}-report.html"
    if Path(out).suffix.lower() != ".html":
        raise InputError(f"-o {out}: a report is an .html file")
    return _solve_file(args, PROBLEMS[args.problem], [out])


def _cmd_demo(args: argparse.Namespace) -> int:
    from pbmatch.datasets import synthetic_district
    from pbmatch.problems.pairing import pair

    _check_outputs(args.output or [])
    started = time.perf_counter()
    graph = synthetic_district(seed=args.seed)
    result = pair(graph, max_km=args.max_km)
    elapsed = time.perf_counter() - started
    kinds = ", ".join(f"{k}: {v}" for k, v in zip(*_tally(graph.kind_names), strict=True))
    print(
        f"Synthetic district (seed {args.seed}): {len(graph)} units ({kinds}), "
        f"{len(graph.regions)} regions, {len(graph.ties)} standing ties"
    )
    print(result.report())
    print(f"\nTop {args.top} pairs by score:")
    print(_pairs_table(result, args.top))
    print(f"\nWhole pipeline (generate, validate, score, solve, decode): {elapsed:.2f} s")
    progress = _Progress(len(args.output or []), _progress_enabled(args), sys.stderr)
    _write_outputs(result, args.output or [], args.lang, progress)
    return 0 if result.success else 1


def _tally(values: Any) -> tuple[list[str], list[int]]:
    import numpy as np

    names, counts = np.unique(values, return_counts=True)
    return names.tolist(), counts.tolist()


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


def _cmd_schema(args: argparse.Namespace) -> int:
    if args.workbook:
        from pbmatch.io import _COLUMNS, SHEET_NAMES, _display_width

        for sheet, columns in _COLUMNS.items():
            optional = " (optional)" if sheet in ("regions", "ties") else ""
            print(f"sheet {sheet} / {SHEET_NAMES[sheet][1]}{optional}")
            for c in columns:
                need = "required" if c.required else "optional"
                pad = " " * (12 - _display_width(c.zh))
                print(f"  {c.field:<13} {c.zh}{pad} {c.type:<10} {need}")
        return 0
    from pbmatch.io import input_schema

    print(json.dumps(input_schema(), ensure_ascii=False, indent=args.indent))
    return 0


def _cmd_example(args: argparse.Namespace) -> int:
    from pbmatch.datasets import synthetic_district
    from pbmatch.io import write

    graph = synthetic_district(seed=args.seed)
    path = write(graph, args.output, lang=args.lang)
    print(f"Wrote the synthetic district (seed {args.seed}, {len(graph)} units) to {path}")
    return 0


# ---------------------------------------------------------------------------------------------
# Parser and entry point
# ---------------------------------------------------------------------------------------------
def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        choices=("en", "zh"),
        default="en",
        help="headers, sheet names and reports in English (default) or Chinese",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )


def _parser() -> argparse.ArgumentParser:
    from pbmatch import __version__

    parser = argparse.ArgumentParser(
        prog="pbmatch",
        description="Optimal, explainable matching for regional co-building (区域化党建).",
        epilog="Input files: Excel (.xlsx, Chinese or English headers), CSV, JSON, GeoJSON; "
        "see `pbmatch schema --workbook`. Output by suffix: .xlsx .csv .json .geojson .html.",
    )
    parser.add_argument("--version", action="version", version=f"pbmatch {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="pair the embedded synthetic district and summarise")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic district")
    demo.add_argument("--max-km", type=_positive, default=None, help="never pair farther apart")
    demo.add_argument("--top", type=int, default=10, help="pairs to list (default 10)")
    demo.add_argument("-o", "--output", action="append", help="also write the result (by suffix)")
    _common(demo)
    demo.set_defaults(run=_cmd_demo)

    for problem in PROBLEMS.values():
        sub = commands.add_parser(problem.name, help=problem.help, description=problem.help)
        sub.add_argument("file", help="input: .xlsx workbook, .csv (or a folder), .json, .geojson")
        sub.add_argument(
            "-o",
            "--output",
            action="append",
            help="write the result here; the suffix picks the format "
            "(.xlsx .csv .json .geojson .html); repeat for several files",
        )
        sub.add_argument("-q", "--quiet", action="store_true", help="do not print the summary")
        _common(sub)
        problem.add_options(sub)
        sub.set_defaults(run=_cmd_problem)

    report = commands.add_parser(
        "report",
        help="solve and write a self-contained HTML report",
        description="Solve the problem for FILE and write a self-contained HTML report "
        "(summary, figures, coverage, unmet needs, the pairs) that prints on A4.",
    )
    report.add_argument("file", help="input: .xlsx workbook, .csv (or a folder), .json, .geojson")
    report.add_argument("-o", "--output", help="the .html file (default: FILE-report.html)")
    report.add_argument(
        "--problem", choices=sorted(PROBLEMS), default="pair", help="what to solve (default pair)"
    )
    report.add_argument("-q", "--quiet", action="store_true", help="do not print the summary")
    _common(report)
    for problem in PROBLEMS.values():
        problem.add_options(report)
    report.set_defaults(run=_cmd_report)

    schema = commands.add_parser(
        "schema", help="print the JSON Schema of the input (for platform teams)"
    )
    schema.add_argument("--indent", type=int, default=2, help="JSON indent (default 2)")
    schema.add_argument(
        "--workbook", action="store_true", help="list the workbook's sheets and columns instead"
    )
    schema.set_defaults(run=_cmd_schema)

    example = commands.add_parser(
        "example", help="write the synthetic district as an input file, to use as a template"
    )
    example.add_argument("output", help="the file (.xlsx .csv .json .geojson) or a folder")
    example.add_argument("--seed", type=int, default=0, help="seed of the synthetic district")
    example.add_argument("--lang", choices=("en", "zh"), default="en", help="header language")
    example.set_defaults(run=_cmd_example)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            try:
                code: int = args.run(args)
            finally:
                for warning in caught:
                    text = str(warning.message).splitlines()[0]
                    print(f"pbmatch: warning: {text}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("pbmatch: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, (PbmatchError, OSError, ImportError)):
            kind = "error"
        else:
            kind = f"internal error ({type(exc).__name__})"
        print(f"pbmatch: {kind}: {message}", file=sys.stderr)
        return 2 if isinstance(exc, (InputError, OSError)) else 1


if __name__ == "__main__":
    sys.exit(main())
