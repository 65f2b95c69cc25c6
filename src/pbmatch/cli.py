"""The ``pbmatch`` command.

::

    pbmatch demo                          pair the embedded synthetic district and summarise it
    pbmatch pair FILE -o OUT [-o OUT ...]  pair the units of a workbook, CSV, JSON or GeoJSON
    pbmatch allocate FILE -o OUT          three lists: meet the needs from the offers (三张清单)
    pbmatch projects FILE [PROJECTS] -o OUT  staff the projects list (项目清单)
    pbmatch posts MEMBERS [POSTS] -o OUT  double reporting: members to service posts (双报到)
    pbmatch floating MEMBERS [HOSTS] -o OUT  floating members to host organisations (流动党员)
    pbmatch branches FILE -o OUT          group small units into joint branches (联合党支部)
    pbmatch exchange FILE -o OUT          exchange cycles of resources (交换机制)
    pbmatch report FILE [-o report.html]  solve (pair by default) and write the HTML report
    pbmatch schema [--workbook]           the JSON Schema of the input (or the workbook's columns)
    pbmatch example OUT                   write the synthetic district as an input file

Every problem command takes ``--demo`` instead of files to solve the embedded synthetic data
(``--seed``). ``-o`` picks the format by suffix: ``.xlsx``, ``.csv``, ``.json``, ``.geojson``,
``.html``; give it several times to write several files. ``--lang zh`` writes Chinese headers
and reports.

Errors print one line on stderr and exit non-zero (2 for bad input, 1 when there is no
solution or something else failed); ``--debug`` shows the traceback instead. Warnings (a region
created because the regions sheet lacks it, say) print as ``pbmatch: warning: ...`` lines.

Adding a problem command is one :class:`Problem` entry in :data:`PROBLEMS`: the function to
call, what it reads (:class:`Inputs`: a district file, or record tables such as members and
posts, and their synthetic stand-ins), its command-line options and how they map to keyword
arguments; reading, writing, the summary and the progress display are shared.
"""

from __future__ import annotations

import argparse
import json
import os
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
Call = tuple[tuple[Any, ...], dict[str, Any]]
"""Positional and keyword arguments for a problem function."""


@dataclass(frozen=True)
class Inputs:
    """What a problem command reads: its files, and the synthetic data ``--demo`` uses instead.

    Attributes
    ----------
    file, second : str
        Metavar and help of the first positional file and of the optional second one
        (``second`` empty: the command takes one file).
    read : callable
        ``read(args)`` → the function's positional and keyword arguments from the files.
    synthetic : callable
        ``synthetic(seed)`` → the same from the embedded synthetic data, and a line saying what
        it is.
    """

    file: tuple[str, str]
    second: tuple[str, str] | None
    read: Callable[[argparse.Namespace], Call]
    synthetic: Callable[[int], tuple[Call, str]]


@dataclass(frozen=True)
class Problem:
    """A problem command: ``pbmatch NAME FILE -o OUT`` calls ``function(*inputs, **options)``.

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
    inputs : Inputs
        What it reads (default: a district file, read into a ``RegionGraph``).
    geojson : bool
        Whether its result has locations to write as GeoJSON.
    """

    name: str
    help: str
    function: str
    add_options: Callable[[argparse.ArgumentParser], None]
    options: Callable[[argparse.Namespace], dict[str, Any]]
    inputs: Inputs | None = None
    geojson: bool = True

    @property
    def reads(self) -> Inputs:
        return self.inputs or GRAPH

    def load(self, args: argparse.Namespace) -> Call:
        """The inputs from the files (or the synthetic data with ``--demo``)."""
        if getattr(args, "demo", False):
            call, _ = self.reads.synthetic(args.seed)
            return call
        return self.reads.read(args)

    def solve(self, inputs: Any, args: argparse.Namespace) -> Any:
        """Call the function on ``inputs`` (a graph, or a :data:`Call` from :meth:`load`)."""
        import importlib

        module, _, attr = self.function.partition(":")
        func = getattr(importlib.import_module(module), attr)
        positional, keywords = inputs if isinstance(inputs, tuple) else ((inputs,), {})
        return func(*positional, **keywords, **self.options(args))


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


def _ids(text: str) -> list[str]:
    items = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"{text!r} names nothing; give ids separated by ','")
    return items


def _weight(text: str) -> tuple[str, float]:
    name, sep, value = text.replace("：", ":").replace("=", ":").rpartition(":")
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not sep or not name.strip() or not number >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not CATEGORY=WEIGHT with a weight >= 0")
    return name.strip(), number


def _given(args: argparse.Namespace, **names: str) -> dict[str, Any]:
    """Keyword arguments from the options the user gave (``None``: the function's default)."""
    values = {kw: getattr(args, dest, None) for kw, dest in names.items()}
    return {kw: value for kw, value in values.items() if value is not None}


def _max_km(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--max-km", type=_positive, help="never farther apart than this (km)")


def _time_limit(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--time-limit", type=_positive, help="seconds the solver may use")


def _allocate_options(parser: argparse.ArgumentParser) -> None:
    add_option(
        parser,
        "--within",
        metavar="TIER",
        help="keep every flow inside one region of this tier: street (covers townships), "
        "district, community, park, grid or city (default: no border)",
    )
    _max_km(parser)
    add_option(
        parser,
        "--categories",
        type=_ids,
        metavar="A,B,...",
        help="allocate only these categories (default: all)",
    )
    add_option(
        parser,
        "--category-weight",
        type=_weight,
        action="append",
        metavar="CATEGORY=WEIGHT",
        help="weight of a unit of met need of a category (default 1); repeat for several",
    )


def _allocate_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    out = _given(args, within="within", max_km="max_km", categories="categories")
    if getattr(args, "category_weight", None):
        out["category_weights"] = dict(args.category_weight)
    return out


def _projects_options(parser: argparse.ArgumentParser) -> None:
    add_option(
        parser,
        "--max-units",
        type=_count,
        help="most units in one group: contributing units of a project whose max_units is "
        "empty, units of a joint branch (default 5)",
    )
    _max_km(parser)
    _time_limit(parser)


def _projects_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return _given(args, max_units="max_units", max_km="max_km", time_limit="time_limit")


def _posts_options(parser: argparse.ArgumentParser) -> None:
    add_option(
        parser,
        "--max-posts",
        type=_count,
        help="posts of a member whose max_posts is empty (default 1)",
    )
    add_option(
        parser,
        "--communities",
        metavar="DISTRICT",
        help="a district file (as for `pbmatch pair`): members and posts must name its "
        "communities and villages",
    )


def _posts_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return _given(args, max_posts_per_member="max_posts")


def _floating_options(parser: argparse.ArgumentParser) -> None:
    _max_km(parser)
    add_option(
        parser,
        "--industry-km",
        type=float,
        help="how much farther a host of the member's own industry may be and still be "
        "preferred (km, default 5)",
    )
    add_option(
        parser, "--per-contact", type=_count, help="most members one contact follows (default 5)"
    )
    add_option(
        parser,
        "--branch-min",
        type=_count,
        help="members at one host enough for a temporary branch (default 3)",
    )


def _floating_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return _given(
        args,
        max_km="max_km",
        industry_km="industry_km",
        per_contact="per_contact",
        branch_min="branch_min",
    )


def _branches_options(parser: argparse.ArgumentParser) -> None:
    _projects_options(parser)  # --max-units, --max-km, --time-limit
    add_option(
        parser,
        "--min-members",
        type=_count,
        help="fewest members of a branch; units with fewer are small (default 3)",
    )
    add_option(parser, "--max-members", type=_count, help="most members of a branch (default 50)")


def _branches_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return _given(
        args,
        max_units="max_units",
        min_members="min_members",
        max_members="max_members",
        max_km="max_km",
        time_limit="time_limit",
    )


def _exchange_options(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--max-length", type=_count, help="longest cycle (default 3; 2: swaps only)")
    add_option(
        parser,
        "--units",
        type=_ids,
        metavar="A,B,...",
        help="the units that may take part (default: all)",
    )
    _max_km(parser)
    _time_limit(parser)


def _exchange_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return _given(
        args, max_length="max_length", units="units", max_km="max_km", time_limit="time_limit"
    )


# Inputs --------------------------------------------------------------------------------------
def _district(seed: int, **options: Any) -> Any:
    from pbmatch.datasets import synthetic_district

    return synthetic_district(seed=seed, **options)


def _describe(graph: Any) -> str:
    communities = int(sum(kind in ("community", "village") for kind in graph.kind_names))
    return f"{len(graph)} units, {communities} communities and villages"


def _read_graph(args: argparse.Namespace) -> Call:
    from pbmatch.io import read

    return (read(args.file),), {}


def _synthetic_graph(seed: int) -> tuple[Call, str]:
    graph = _district(seed)
    return ((graph,), {}), f"the synthetic district (seed {seed}): {_describe(graph)}"


def _read_projects(args: argparse.Namespace) -> Call:
    from pbmatch.io import read, read_records

    graph = read(args.file)
    return (graph, read_records(args.second or args.file, "projects")), {}


def _synthetic_projects(seed: int) -> tuple[Call, str]:
    from pbmatch.datasets import synthetic_projects

    graph = _district(seed, n_streets=1, n_townships=0)
    projects = synthetic_projects(graph, seed=seed, n_projects=10)
    text = (
        f"one street of the synthetic district (seed {seed}): {_describe(graph)}, "
        f"{len(projects)} projects"
    )
    return ((graph, projects), {}), text


def _read_posts(args: argparse.Namespace) -> Call:
    from pbmatch.io import read, read_records

    members = read_records(args.file, "members")
    posts = read_records(args.second or args.file, "posts")
    communities = getattr(args, "communities", None)
    keywords = {} if communities is None else {"communities": read(communities)}
    return (members, posts), keywords


def _synthetic_posts(seed: int) -> tuple[Call, str]:
    from pbmatch.datasets import synthetic_members, synthetic_posts

    graph = _district(seed)
    members, posts = synthetic_members(graph, seed=seed), synthetic_posts(graph, seed=seed)
    text = (
        f"the synthetic district (seed {seed}): {len(members)} members, {len(posts)} posts "
        f"in {_describe(graph).split(', ')[1]}"
    )
    return ((members, posts), {"communities": graph}), text


def _read_floating(args: argparse.Namespace) -> Call:
    from pbmatch.io import read_records

    members = read_records(args.file, "floating")
    return (members, read_records(args.second or args.file, "hosts")), {}


def _synthetic_floating(seed: int) -> tuple[Call, str]:
    from pbmatch.datasets import synthetic_floating

    members, hosts = synthetic_floating(_district(seed), seed=seed)
    text = (
        f"the synthetic district (seed {seed}): {len(members)} floating members, "
        f"{len(hosts)} host organisations"
    )
    return ((members, hosts), {}), text


_FILE_HELP = "input: .xlsx workbook, .csv (or a folder), .json, .geojson"

GRAPH = Inputs(("FILE", f"the district, {_FILE_HELP}"), None, _read_graph, _synthetic_graph)
"""A district file read into a :class:`~pbmatch.graph.RegionGraph` (pair, allocate ...)."""

_PROJECTS = Inputs(
    ("FILE", f"the district, {_FILE_HELP}"),
    ("PROJECTS", "the projects list (项目清单), if not a 'projects' sheet or key of FILE"),
    _read_projects,
    _synthetic_projects,
)
_POSTS = Inputs(
    ("MEMBERS", "the members (在职党员), or one workbook, folder or JSON with both tables"),
    ("POSTS", "the service posts (服务岗位), if not a 'posts' sheet or key of MEMBERS"),
    _read_posts,
    _synthetic_posts,
)
_FLOATING = Inputs(
    ("MEMBERS", "the floating members (流动党员), or one workbook, folder or JSON with both"),
    ("HOSTS", "the host organisations (流入地党组织), if not a 'hosts' sheet or key of MEMBERS"),
    _read_floating,
    _synthetic_floating,
)

PROBLEMS: dict[str, Problem] = {
    "pair": Problem(
        name="pair",
        help="pair co-building units with communities and villages (结对共建)",
        function="pbmatch.problems.pairing:pair",
        add_options=_pair_options,
        options=_pair_kwargs,
    ),
    "allocate": Problem(
        name="allocate",
        help="three lists: meet the needs list from the resources list (三张清单)",
        function="pbmatch.problems.allocation:allocate",
        add_options=_allocate_options,
        options=_allocate_kwargs,
    ),
    "projects": Problem(
        name="projects",
        help="staff the projects list from the units' offers (项目清单)",
        function="pbmatch.problems.projects:staff_projects",
        add_options=_projects_options,
        options=_projects_kwargs,
        inputs=_PROJECTS,
    ),
    "posts": Problem(
        name="posts",
        help="double reporting: in-service members to community service posts (双报到)",
        function="pbmatch.problems.posts:assign_posts",
        add_options=_posts_options,
        options=_posts_kwargs,
        inputs=_POSTS,
        geojson=False,
    ),
    "floating": Problem(
        name="floating",
        help="floating Party members to host organisations near them (流动党员)",
        function="pbmatch.problems.floating:host_floating_members",
        add_options=_floating_options,
        options=_floating_kwargs,
        inputs=_FLOATING,
    ),
    "branches": Problem(
        name="branches",
        help="group small units into joint Party branches (联合党支部)",
        function="pbmatch.problems.branches:form_joint_branches",
        add_options=_branches_options,
        options=_branches_kwargs,
    ),
    "exchange": Problem(
        name="exchange",
        help="exchange cycles: each unit gives what the next needs (交换机制)",
        function="pbmatch.problems.exchange:exchange_cycles",
        add_options=_exchange_options,
        options=_exchange_kwargs,
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


def _say(text: str = "") -> None:
    """Print a line on stdout; when the reader has gone (``pbmatch … | head``), keep working
    quietly so that the files are still written."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


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
    if lang == "zh" and type(result).__name__ in _NOUNS:
        return _summary_zh(result)
    report = getattr(result, "report", None)
    return str(report()) if callable(report) else repr(result)


def _summary_zh(result: Any) -> str:
    """The summary sheet of a co-building problem's result as ``label：value`` lines."""
    from pbmatch.io import result_summary, result_tables

    keys = [key for key, _ in result_summary(result)]
    rows = next(iter(result_tables(result, lang="zh").values()))[1]
    lines = []
    for key, (label, value) in zip(keys, rows, strict=True):
        if value in (None, ""):
            continue
        if key.endswith("_share"):
            value = f"{100 * float(value):.1f}%"
        elif isinstance(value, float) and 0 < abs(value) < 1e-3:
            value = f"{value:.3g}"
        elif isinstance(value, float):
            value = f"{value:.4f}".rstrip("0").rstrip(".")
        lines.append(f"{label}：{value}")
    return "\n".join(lines)


_NOUNS = {
    "PairingResult": "pairs",
    "AllocationResult": "flows",
    "PostAssignmentResult": "filled seats",
    "FloatingResult": "placements",
    "ExchangeResult": "cycles",
    "JointBranchesResult": "joint branches",
    "ProjectsResult": "contributions",
}


def _write_outputs(result: Any, outputs: Sequence[str], lang: str, progress: _Progress) -> None:
    from pbmatch.io import write

    noun = _NOUNS.get(type(result).__name__, "pairs")
    for out in outputs:
        path = Path(out)
        with progress.step(f"writing {path.name}"):
            write(result, path, lang=lang)  # type: ignore[arg-type]
        what = "the report" if path.suffix.lower() == ".html" else f"{len(result)} {noun}"
        _say(f"Wrote {what} to {path}")


def _check_outputs(outputs: Sequence[str], problem: Problem | None = None) -> None:
    """Refuse an unknown suffix before solving, not after."""
    allowed = (".xlsx", ".csv", ".json", ".geojson", ".html")
    for out in outputs:
        suffix = Path(out).suffix.lower()
        if suffix not in allowed:
            raise InputError(
                f"-o {out}: unknown suffix {Path(out).suffix!r}; allowed: {', '.join(allowed)}"
            )
        if suffix == ".geojson" and problem is not None and not problem.geojson:
            raise InputError(
                f"-o {out}: the result of {problem.name} has no locations to map; write "
                ".xlsx, .csv, .json or .html"
            )


def _check_inputs(args: argparse.Namespace, problem: Problem) -> None:
    """FILE or --demo, not both, and a second file only where the problem reads one."""
    inputs = problem.reads
    second = getattr(args, "second", None)
    if args.demo and (args.file or second):
        raise InputError(f"give {inputs.file[0]} or --demo (the embedded synthetic data), not both")
    if not args.demo and not args.file:
        raise InputError(
            f"give the input {inputs.file[0]} (a workbook, CSV, JSON or GeoJSON file), or "
            "--demo to solve the embedded synthetic data"
        )
    if second and inputs.second is None:
        raise InputError(
            f"{problem.name} reads one file; {second!r} is one too many (a second file is "
            f"for {', '.join(n for n, p in PROBLEMS.items() if p.inputs is not None)})"
        )


def _solve_file(args: argparse.Namespace, problem: Problem, outputs: Sequence[str]) -> int:
    _check_outputs(outputs, problem)
    _check_inputs(args, problem)
    progress = _Progress(2 + len(outputs), _progress_enabled(args), sys.stderr)
    if args.demo:
        with progress.step("generating the synthetic data"):
            inputs, text = problem.reads.synthetic(args.seed)
        if not args.quiet:
            _say(f"Solving {text}")
    else:
        names = [Path(f).name for f in (args.file, getattr(args, "second", None)) if f]
        with progress.step(f"reading {', '.join(names)}"):
            inputs = problem.reads.read(args)
    with progress.step("solving"):
        result = problem.solve(inputs, args)
    if not args.quiet:
        _say(_summary(result, args.lang))
    _write_outputs(result, outputs, args.lang, progress)
    return 0 if result.success else 1


def _cmd_problem(args: argparse.Namespace) -> int:
    return _solve_file(args, PROBLEMS[args.command], args.output or [])


def _cmd_report(args: argparse.Namespace) -> int:
    stem = Path(args.file).stem if args.file else f"{args.problem}-demo"
    out = args.output or f"{stem}-report.html"
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
    _say(
        f"Synthetic district (seed {args.seed}): {len(graph)} units ({kinds}), "
        f"{len(graph.regions)} regions, {len(graph.ties)} standing ties"
    )
    _say(result.report())
    _say(f"\nTop {args.top} pairs by score:")
    _say(_pairs_table(result, args.top))
    _say(f"\nWhole pipeline (generate, validate, score, solve, decode): {elapsed:.2f} s")
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
            _say(f"sheet {sheet} / {SHEET_NAMES[sheet][1]}{optional}")
            for c in columns:
                need = "required" if c.required else "optional"
                pad = " " * (12 - _display_width(c.zh))
                _say(f"  {c.field:<13} {c.zh}{pad} {c.type:<10} {need}")
        from pbmatch.io import _RECORD_COLUMNS, RECORD_SHEETS

        users = {
            "members": "posts",
            "posts": "posts",
            "floating": "floating",
            "hosts": "floating",
            "projects": "projects",
        }
        _say("\nRecord tables (a sheet of the workbook, or a file of their own):")
        for sheet, columns in _RECORD_COLUMNS.items():
            _say(f"sheet {sheet} / {RECORD_SHEETS[sheet][1]} (pbmatch {users[sheet]})")
            for c in columns:
                need = "required" if c.required else "optional"
                pad = " " * (12 - _display_width(c.zh))
                _say(f"  {c.field:<13} {c.zh}{pad} {c.type:<10} {need}")
        return 0
    from pbmatch.io import input_schema

    _say(json.dumps(input_schema(), ensure_ascii=False, indent=args.indent))
    return 0


_TABLES = {
    "projects": ("projects",),
    "posts": ("members", "posts"),
    "floating": ("floating", "hosts"),
}


def _cmd_example(args: argparse.Namespace) -> int:
    from pbmatch.io import write, write_records

    problem = PROBLEMS[args.problem]
    if problem.inputs is None:
        graph = _district(args.seed)
        path = write(graph, args.output, lang=args.lang)
        _say(f"Wrote the synthetic district (seed {args.seed}, {len(graph)} units) to {path}")
        return 0
    (positional, _), text = problem.reads.synthetic(args.seed)
    names = _TABLES[problem.name]
    records = dict(zip(names, positional[-len(names) :], strict=True))
    graph = positional[0] if problem.name == "projects" else None
    path = write_records(records, args.output, lang=args.lang, graph=graph)
    _say(f"Wrote {text} to {path}")
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


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo",
        action="store_true",
        help="solve the embedded synthetic data instead of files",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the synthetic data (default 0)"
    )


def _input_arguments(parser: argparse.ArgumentParser, inputs: Inputs) -> None:
    metavar, help_text = inputs.file
    parser.add_argument("file", nargs="?", metavar=metavar, help=help_text)
    if inputs.second is not None:
        metavar, help_text = inputs.second
        parser.add_argument("second", nargs="?", metavar=metavar, help=help_text)
    _demo_arguments(parser)


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
        _input_arguments(sub, problem.reads)
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
        description="Solve the problem for FILE (or --demo) and write a self-contained HTML "
        "report that prints on A4: for a pairing the summary, figures, coverage, unmet needs "
        "and pairs; for the other problems (--problem) the summary and every table.",
    )
    report.add_argument("file", nargs="?", metavar="FILE", help=_FILE_HELP)
    report.add_argument(
        "second",
        nargs="?",
        metavar="SECOND",
        help="the second file of projects, posts or floating (PROJECTS, POSTS, HOSTS)",
    )
    _demo_arguments(report)
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
        "example",
        help="write the synthetic district (or a problem's synthetic input) as an input file, "
        "to use as a template",
    )
    example.add_argument("output", help="the file (.xlsx .csv .json .geojson) or a folder")
    example.add_argument(
        "--problem",
        choices=sorted(PROBLEMS),
        default="pair",
        help="whose input: the district (default; pair, allocate, branches, exchange), the "
        "district with its projects list (projects), members and posts (posts), floating "
        "members and hosts (floating)",
    )
    example.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
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
