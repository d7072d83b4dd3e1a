"""``electio`` command: one subcommand per stage of the pipeline; it only orchestrates.

``electio refresh`` is the main job (:mod:`electio.refresh`). Every other stage runs alone
on a built warehouse: it reads its input tables, runs, and replaces only the tables it
writes (the stage contract is in :mod:`electio.stages`; ``electio stages`` lists it).
"""

from __future__ import annotations

import argparse
import sys

from electio import refresh
from electio.command import add_common_arguments, run_command, settings_from_args
from electio.eda import run as eda_run
from electio.forecast import run as forecast_run
from electio.powerbi.build import main as powerbi_main
from electio.report.build import main as report_main
from electio.sources.catalog import catalog_markdown, load_catalog
from electio.sources.resolve import resolve_source
from electio.stages import STAGES, run_alone

#: Commands with options of their own: their module parses the rest of the command line.
DELEGATED = {
    "refresh": (refresh.main, "full job: sources -> warehouse -> every stage -> deliverables"),
    "eda": (eda_run.main, "correlations + EDA figures + the answer to the client's question"),
    "forecast": (forecast_run.main, "1/2/3-year scenarios (--custom FILE [--keep] for the analyst's hypothesis)"),
    "report": (report_main, "write the client report from the warehouse"),
    "powerbi": (powerbi_main, "build or check the committed Power BI templates from powerbi/definition"),
}
#: Stages run through the generic runner (no options of their own but train's --model).
GENERIC = {"correlations": "correlations", "backtest": "backtest", "train": "train", "figures": "figures",
           "exports": "exports", "export": "exports"}


def _stage(args: argparse.Namespace) -> int:
    options = {"model": args.model} if getattr(args, "model", None) else {}
    result = run_alone(GENERIC[args.command], settings_from_args(args), options)
    print(result.line())
    return 0


def _sources(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.action == "list":
        for source in catalog.values():
            print(f"{source.id:40} {source.family:12} {len(source.files):4} file(s)  {source.years}")
    elif args.action == "docs":
        print(catalog_markdown(catalog))
    elif args.action == "fetch":
        settings = settings_from_args(args)
        for source in catalog.values():
            for f in source.files:
                resolved = resolve_source(source.id, f.name, settings=settings)
                print(f"{resolved.origin:8} {source.id}/{f.name}")
    return 0


def _stages(args: argparse.Namespace) -> int:
    for s in STAGES:
        print(f"{s.name:12} {s.help}\n{'':12} reads : {', '.join(s.reads) or 'every table'}\n"
              f"{'':12} writes: {', '.join(s.writes) or '-'}\n{'':12} files : {', '.join(s.files) or '-'}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="electio", description="electio: open data -> warehouse -> forecasts")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)  # parsed by its module
    for name, stage in GENERIC.items():
        s = sub.add_parser(name, help=next(x.help for x in STAGES if x.name == stage))
        add_common_arguments(s)
        if stage == "train":
            s.add_argument("--model", help="this model_id instead of the one the backtest chose")
        s.set_defaults(func=_stage)
    s = sub.add_parser("sources", help="the source catalog: list, docs (Markdown), fetch (resolve every file)")
    s.add_argument("action", choices=["list", "docs", "fetch"])
    add_common_arguments(s)
    s.set_defaults(func=_sources)
    s = sub.add_parser("stages", help="the stages: what each reads, writes and produces")
    s.set_defaults(func=_stages, verbose=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in DELEGATED:
        return DELEGATED[argv[0]][0](argv[1:])
    args = parser().parse_args(argv)
    return run_command(args.command, lambda: args.func(args), verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
