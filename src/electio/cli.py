"""``electio`` command: one subcommand per pipeline step; it only orchestrates."""

from __future__ import annotations

import argparse
import logging
import sys

from electio.errors import ElectioError
from electio.warehouse.secrets import mask_secrets

log = logging.getLogger("electio")


def _export(args: argparse.Namespace) -> int:
    from electio.export import export_tables
    from electio.refresh import settings_from_args

    settings = settings_from_args(args)
    files = export_tables(settings.db_url, settings.exports_dir)
    print(f"{len(files)} files written to {settings.exports_dir}")
    return 0


def _sources(args: argparse.Namespace) -> int:
    from electio.refresh import settings_from_args
    from electio.sources.catalog import catalog_markdown, load_catalog
    from electio.sources.resolve import resolve_source

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


def main(argv: list[str] | None = None) -> int:
    from electio.refresh import add_common_arguments

    parser = argparse.ArgumentParser(prog="electio", description="electio: open data -> warehouse -> forecasts")
    sub = parser.add_subparsers(dest="command", required=True)
    # `electio refresh ...` is `python -m electio.refresh ...`: listed here, parsed there.
    sub.add_parser("refresh", help="full job: sources -> warehouse -> exports (python -m electio.refresh)")
    sub.add_parser("eda", help="exploratory analysis: correlations, figures, answer (reports/)")
    sub.add_parser("forecast", help="1/2/3-year scenarios: commune forecasts, intervals, probabilities")
    sub.add_parser("report", help="write reports/rapport.html (the client's dossier de synthèse) from the warehouse")
    sub.add_parser("powerbi", help="build (or check) powerbi/Electio.pbit and Electio-csv.pbit from powerbi/definition")
    sub.add_parser("backtest", help="rolling-origin backtest of baselines and models (fact_backtest, metrics)")
    sub.add_parser("train", help="retrain the chosen model on every election and save it in data/models/")
    p = sub.add_parser("export", help="write every warehouse table as CSV and one XLSX workbook into exports/")
    add_common_arguments(p)
    p.set_defaults(func=_export)
    p = sub.add_parser("sources", help="the source catalog: list, docs (Markdown), fetch (resolve every file)")
    p.add_argument("action", choices=["list", "docs", "fetch"])
    add_common_arguments(p)
    p.set_defaults(func=_sources)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["refresh"]:
        from electio import refresh

        return refresh.main(argv[1:])
    if argv[:1] == ["eda"]:
        from electio.eda import run

        return run.main(argv[1:])
    if argv[:1] == ["forecast"]:
        from electio.forecast import run as forecast_run

        return forecast_run.main(argv[1:])
    if argv[:1] == ["report"]:
        from electio.report.build import main as report_main

        return report_main(argv[1:])
    if argv[:1] == ["powerbi"]:
        from electio import powerbi

        return powerbi.main(argv[1:])
    if argv[:1] in (["backtest"], ["train"]):
        from electio.model import run as model_run

        return model_run.main(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except ElectioError as exc:
        log.error("%s", mask_secrets(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
