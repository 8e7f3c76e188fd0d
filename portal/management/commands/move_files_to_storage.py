"""Copy the private files from the local folder to the configured bucket, verifying every copy.

    PORTAL_STORAGE_URL=s3://... python manage.py move_files_to_storage [--from FOLDER] [--dry-run] [--delete-local]

Every file under the folder (default PORTAL_VAR_DIR/private), and every file a row names, is looked
at once, by the same name in the bucket:

* already in the bucket with the expected SHA-256: left alone (so the command can run again and
  again, and after an interrupted run picks up where it stopped);
* not in the bucket: copied, then read back from the bucket and hashed;
* expected hash: the one the row recorded when the file was stored (evidence, report PDFs,
  exports), else the hash of the local file;
* a copy (or an object already there) whose hash differs is reported as a mismatch and never
  overwritten; a row whose file is in neither place is reported as missing.

The local file is deleted only with --delete-local, and only once the bucket's copy has been
read back and matched. Exits non-zero when anything mismatched or is missing.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.management.base import BaseCommand, CommandError

from portal.storage import RecordedFile, file_sha256, recorded_files, storage_description


def _local_names(root: Path) -> set[str]:
    names: set[str] = set()
    if not root.is_dir():
        return names
    for folder, _dirs, files in os.walk(root):
        for file_name in files:
            names.add(Path(folder, file_name).relative_to(root).as_posix())
    return names


def _prune_empty_folders(root: Path) -> None:
    for folder, _dirs, _files in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        if Path(folder) != root:
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only succeeds when empty


class Command(BaseCommand):
    help = (
        "Copy every private file from the local folder to the bucket of PORTAL_STORAGE_URL under the same name, "
        "verify each copy's SHA-256, and report counts and mismatches. Idempotent; deletes nothing unless "
        "--delete-local."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--from",
            dest="source",
            default=None,
            help="The local folder the files are in (default: PORTAL_VAR_DIR/private)",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be copied")
        parser.add_argument(
            "--delete-local",
            action="store_true",
            help="Delete each local file once its copy in the bucket has been read back and matched",
        )

    def handle(self, *args, **options) -> None:
        root = Path(options["source"] or settings.VAR_DIR / "private").resolve()
        source = FileSystemStorage(location=str(root))
        target: Storage = storages["default"]
        if isinstance(target, FileSystemStorage) and Path(target.location).resolve() == root:
            raise CommandError(
                f"Files are already stored in {root}: set PORTAL_STORAGE_URL to the bucket (docs/deploy.md) and run "
                "this command with it."
            )
        dry_run, delete_local = options["dry_run"], options["delete_local"]
        recorded: dict[str, RecordedFile] = {}
        for item in recorded_files():
            recorded.setdefault(item.name, item)
        local = _local_names(root)
        where = storage_description(target)
        self.stdout.write(f"From the folder {root} ({len(local)} file(s)) to the {where}; {len(recorded)} recorded.")
        counts: Counter[str] = Counter()

        def problem(name: str, message: str, kind: str = "mismatched") -> None:
            counts[kind] += 1
            self.stdout.write(self.style.ERROR(f"{kind.upper():<10} {name}: {message}"))

        for name in sorted(local | set(recorded)):
            row = recorded.get(name)
            expected = row.sha256 if row is not None and row.sha256 else None
            in_source = name in local
            try:
                source_hash = file_sha256(name, source) if in_source else None
                basis = expected or source_hash
                if expected and source_hash and source_hash != expected:
                    problem(name, f"the local file's SHA-256 is {source_hash}, {expected} was recorded; not copied")
                    continue
                if target.exists(name):
                    target_hash = file_sha256(name, target)
                    if basis is not None and target_hash != basis:
                        problem(
                            name, f"already in the bucket with SHA-256 {target_hash}, expected {basis}; left as it is"
                        )
                        continue
                    counts["already there"] += 1
                elif in_source:
                    if dry_run:
                        counts["to copy"] += 1
                        self.stdout.write(f"would copy {name}")
                        continue
                    with source.open(name, "rb") as handle:
                        saved = target.save(name, handle)
                    if saved != name:
                        problem(name, f"stored as {saved} instead of under the same name")
                        continue
                    copy_hash = file_sha256(name, target)
                    if copy_hash != basis:
                        detail = ""
                        if expected and source_hash != expected:
                            detail = " (the local file already differed from the recorded hash)"
                        problem(name, f"the copy's SHA-256 is {copy_hash}, expected {basis}{detail}")
                        continue
                    counts["copied"] += 1
                    if options["verbosity"] >= 2:
                        self.stdout.write(f"copied     {name}")
                else:
                    assert row is not None
                    problem(name, f"recorded by {row.model} {row.pk} but in neither place", kind="missing")
                    continue
            except Exception as exc:  # one unreadable file must not stop the rest
                problem(name, f"{type(exc).__name__}: {exc}", kind="failed")
                continue
            if delete_local and in_source and not dry_run and source_hash == basis:
                source.delete(name)
                counts["deleted locally"] += 1
        if counts["deleted locally"]:
            _prune_empty_folders(root)
        always = ("copied", "already there", "mismatched", "missing")
        order = ["to copy", *always, "failed", "deleted locally"]
        summary = ", ".join(f"{key} {counts[key]}" for key in order if key in counts or key in always)
        bad = counts["mismatched"] + counts["missing"] + counts["failed"]
        if bad:
            raise CommandError(f"{summary}. {bad} file(s) need attention: nothing was deleted or overwritten for them.")
        if dry_run:
            self.stdout.write(self.style.SUCCESS(f"{summary}. Dry run: nothing was copied or deleted."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{summary}. Every file in the {where} matches its expected SHA-256."))
