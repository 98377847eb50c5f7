"""``papercraft gsm-symbolic generate|check``: instances to JSONL, and template checks.

Imported when the command line is built, so it imports only typer at module level.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from papercraft.cli.groups import new_app

TEMPLATES_HELP = ("'builtin' (the plugin's own templates), a template file, or a folder "
                  "such as ml-gsm-symbolic/templates.")


def _progress(total: int, label: str) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                        console=Console(stderr=True), transient=True,
                        disable=not sys.stderr.isatty())
    task = progress.add_task(label, total=total)
    return progress, task


def generate_command(
    templates: str = typer.Argument("builtin", help=TEMPLATES_HELP),
    n: int = typer.Option(50, "--n", min=1, help="Instances per template."),
    seed: int = typer.Option(0, "--seed", help="Seed; instance i of a template is the same "
                             "whatever else is generated."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="JSONL file, written atomically (default: stdout)."),
    variant: str | None = typer.Option(None, "--variant", help="Only this variant "
                                       "(symbolic, p1, p2, noop, m1)."),
    original: bool = typer.Option(False, "--original", help="Also write each template's "
                                  "original values as instance 'original'."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip bad templates (named on "
                                  "stderr) instead of stopping."),
) -> None:
    """Instantiate templates: rows with id, instance, question, answer (#### N), variant."""
    import json

    from papercraft.errors import PapercraftError
    from papercraft.fileio import write_jsonl_atomic
    from papercraft_gsm_symbolic.generate import instances
    from papercraft_gsm_symbolic.loader import load_templates
    from papercraft_gsm_symbolic.template import TemplateError

    if out is not None:
        from papercraft.cli.validate import output_file

        output_file(out, option="--out", parents=True)
    found = load_templates(templates)
    chosen = found.templates if variant is None else found.variant(variant)
    if variant is not None and not chosen:
        from papercraft_gsm_symbolic.loader import missing_variant_message

        raise PapercraftError(missing_variant_message(variant, templates), exit_code=2)
    if found.errors and not skip_bad:
        found.raise_first()
    skipped = [str(e) for e in found.errors]
    used = [0]

    def rows() -> Any:
        progress, task = _progress(len(chosen), "generating")
        with progress:
            for template in chosen:
                try:
                    batch = instances(template, n, seed, original=original)
                except TemplateError as exc:
                    if not skip_bad:
                        raise
                    skipped.append(str(exc))
                    continue
                finally:
                    progress.advance(task)
                used[0] += 1
                for instance in batch:
                    yield instance.row()

    if out is None:
        lines = [json.dumps(row, ensure_ascii=False) for row in rows()]  # all or nothing
        sys.stdout.write("".join(line + "\n" for line in lines))
        count = len(lines)
    else:
        try:
            count = write_jsonl_atomic(out, rows())
        except OSError as exc:
            raise PapercraftError(f"cannot write {out}: {exc}", exit_code=2) from None
    for message in skipped:
        sys.stderr.write(f"skipped {message}\n")
    where = f" to {out}" if out is not None else ""
    sys.stderr.write(f"wrote {count} rows from {used[0]} templates{where}\n")


def check_command(
    templates: str = typer.Argument("builtin", help=TEMPLATES_HELP),
    instances: int = typer.Option(5, "--instances", min=1,
                                  help="Instances drawn from each template."),
    seed: int = typer.Option(0, "--seed", help="Seed of the instances drawn."),
    strict: bool = typer.Option(False, "--strict", help="Count warnings (original values "
                                "that do not reproduce the question) as bad."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Read every template and draw a few instances; list the bad ones (exit 1 if any)."""
    from papercraft.cli.output import print_json, print_table
    from papercraft_gsm_symbolic.generate import CheckReport, check_template
    from papercraft_gsm_symbolic.loader import load_templates

    found = load_templates(templates)
    reports = [CheckReport(e.path, ok=False, error=e.reason) for e in found.errors]
    progress, task = _progress(len(found.templates), "checking")
    with progress:
        for template in found.templates:
            reports.append(check_template(template, instances, seed))
            progress.advance(task)
    reports.sort(key=lambda r: r.path)

    def bad(report: CheckReport) -> bool:
        return not report.ok or (strict and bool(report.warnings))

    bad_reports = [r for r in reports if bad(r)]
    warned = [r for r in reports if r.ok and r.warnings]
    summary = {"templates": len(reports), "ok": len(reports) - len(bad_reports),
               "bad": len(bad_reports), "with_warnings": len(warned)}
    if as_json:
        print_json({"summary": summary, "templates": [r.to_dict() for r in reports]})
    else:
        if bad_reports:
            rows = [[r.path, r.error or "; ".join(r.warnings)] for r in bad_reports]
            print_table(rows, ["template", "reason"], title="bad templates")
        if not strict and warned:
            sys.stdout.write(f"{len(warned)} template(s) with warnings (--strict lists them)\n")
        sys.stdout.write(f"{summary['ok']} OK, {summary['bad']} bad "
                         f"(of {summary['templates']} templates in {templates})\n")
    if bad_reports:
        raise typer.Exit(code=1)


def build_app() -> typer.Typer:
    """The ``gsm-symbolic`` sub-app."""
    app = new_app(help="GSM-Symbolic templates: generate instances, check templates.")
    app.command("generate")(generate_command)
    app.command("check")(check_command)
    return app
