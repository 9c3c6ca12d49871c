"""Operating a controller unattended: `basisctl doctor` (pre-flight checks) and `basisctl journal backup|restore`
(online SQLite backups of the journal)."""

from __future__ import annotations

from pathlib import Path

import typer

from basisctl.cli._common import console, fail, handle_errors, print_json

journal_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True,
                          help="Journal backups: an online copy while the controller runs, and restore.")


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    @handle_errors
    def doctor_cmd(
        config: Path = typer.Option(..., "--config", help="the controller TOML to check"),
        book: bool = typer.Option(False, "--for-book", help="this account runs in a book: cross margin is refused"),
        json_out: bool = typer.Option(False, "--json", help="machine-readable result"),
    ) -> None:
        """Check what an operator forgets, one line per check (OK or the fix): config ranges, alerts, keys
        (never printed) and their roles, venue reachable, clock skew, writable paths, locks, margin mode.
        Exit 0 only when every check passes."""
        from basisctl.live.config import load_config
        from basisctl.live.doctor import run_doctor

        checks = run_doctor(load_config(config), book=book)
        if json_out:
            print_json({"ok": all(c.ok for c in checks),
                        "checks": [{"name": c.name, "ok": c.ok, "text": c.text} for c in checks]})
        else:
            for c in checks:
                console.print(c.line(), highlight=False, markup=False, soft_wrap=True)
        if not all(c.ok for c in checks):
            raise typer.Exit(1)

    app.add_typer(journal_app, name="journal")

    @journal_app.command("backup")
    @handle_errors
    def backup_cmd(
        config: Path = typer.Option(..., "--config", help="the controller TOML whose journal to back up"),
        to: Path | None = typer.Option(None, "--to", help="backup folder (default: the config's [backup] dir)"),
        keep: int | None = typer.Option(None, "--keep", min=1, help="newest backups kept (default [backup] keep)"),
    ) -> None:
        """Back up the journal now (safe while the controller runs: SQLite's online backup API)."""
        from basisctl.live.backup import backup_journal
        from basisctl.live.config import load_config

        cfg = load_config(config)
        out = backup_journal(cfg.resolve(cfg.journal), to if to is not None else cfg.resolve(cfg.backup.dir),
                             keep if keep is not None else cfg.backup.keep)
        console.print(f"backup: {out}", highlight=False)

    @journal_app.command("restore")
    @handle_errors
    def restore_cmd(
        config: Path = typer.Option(..., "--config", help="the controller TOML whose journal to replace"),
        source: Path | None = typer.Option(None, "--from", help="backup file (default: the newest in [backup] dir)"),
        yes: bool = typer.Option(False, "--yes", help="required: replacing a journal is deliberate"),
    ) -> None:
        """Put a backup in place of the journal (refused while a controller runs on it). The journal replaced is
        kept beside it as <journal>.replaced-<stamp>."""
        from basisctl.live.backup import backups_of, restore_journal
        from basisctl.live.config import load_config

        cfg = load_config(config)
        journal = cfg.resolve(cfg.journal)
        if source is None:
            have = backups_of(journal, cfg.resolve(cfg.backup.dir))
            if not have:
                fail(f"no backup of {journal.name} in {cfg.resolve(cfg.backup.dir)}; pass --from FILE")
            source = have[-1]
        if not yes:
            fail(f"restore replaces {journal} with {source}: pass --yes to confirm")
        kept = restore_journal(source, journal)
        console.print(f"restored {journal} from {source}" + (f"; the replaced journal is kept as {kept}" if kept
                      else ""), highlight=False)
