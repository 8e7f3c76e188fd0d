#!/usr/bin/env bash
# Backup and restore check (docs/operations.md).
#
# Takes a backup of a PostgreSQL database with pg_dump (custom format) and a copy of the private
# file storage (PORTAL_VAR_DIR/private), restores both into a fresh scratch database and a scratch
# folder, and checks the copy:
#   - `manage.py migrate --check`: no unapplied migrations;
#   - `manage.py verify_audit_trail`: every organisation's hash chain is intact;
#   - `manage.py verify_signatures`: every signature still matches its content and cited files;
#   - `manage.py verify_stored_files`: every stored file (evidence, report PDFs, exports) is there
#     and has the SHA-256 recorded when it was stored;
#   - the row count of every table equals the source's, counted in the very snapshot pg_dump read;
#   - row-level security, policies, table owners and grants are the same as the source's.
# Prints a summary with timings, exits non-zero if anything failed, and always drops the scratch
# database and deletes the dump and scratch files.
#
# Usage: scripts/backup_restore_check.sh [--seed] [--no-owner] [SOURCE_URL]
#   SOURCE_URL   default postgres://postgres@127.0.0.1:5432/portal_backup_src. Connect as a role
#                that may create databases and reads every row past row-level security (a
#                superuser, a BYPASSRLS role, or the owner while no table forces RLS): pg_dump
#                and the row counts refuse to work on a subset.
#   --seed       create the source database if it does not exist, migrate it and load the demo
#                data first (`manage.py migrate`, `manage.py load_demo`), for a fresh machine.
#   --no-owner   restore with `pg_restore --no-owner`: the copy's objects are owned by the role
#                running the check. Only for a checking role that may not take other roles'
#                ownership; owners are then left out of the comparison.
# Environment:
#   PORTAL_VAR_DIR         where the portal keeps its files (default ./var); PORTAL_VAR_DIR/private
#                          is copied and the checks read the copy.
#   PORTAL_STORAGE_URL     when the files live in a bucket (docs/deploy.md): nothing is copied and
#                          the checks read the files from the bucket, through the storage API.
#   BACKUP_CHECK_STORAGE_URL  the bucket to read instead, e.g. the replica or restored copy of the
#                          bucket (default PORTAL_STORAGE_URL), with the same AWS_* keys.
#   PYTHON                 the portal's Python (default .venv/bin/python).
#   BACKUP_CHECK_ADMIN_DB  database to connect to for CREATE/DROP DATABASE (default postgres).
#   BACKUP_CHECK_JOBS      parallel pg_restore jobs (default 2).
#   TMPDIR                 where the dump and the copy of the files go while the check runs.
#   BACKUP_CHECK_TAMPER    audit | signature | rls: damage the restored copy (never the source) before
#                          the checks, to prove the check fails: change the oldest audit event, alter
#                          the oldest signature's snapshot, or turn row-level security off on one
#                          table. 1 means audit.
#
# Ownership and privileges: by default the restore keeps owners and GRANTs (no --no-owner, no
# --no-privileges), so the copy behaves like the source: tables owned by the owner role, the
# application role holding only its grants and so still subject to row-level security. Policies,
# ENABLE/FORCE ROW LEVEL SECURITY and grants are restored either way; roles are cluster-wide and
# are not in a pg_dump file, so they must exist where the copy is restored (they do here: the
# scratch database is on the source's server).

set -euo pipefail

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

SEED=0
NO_OWNER=0
SOURCE_URL=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seed) SEED=1 ;;
        --no-owner) NO_OWNER=1 ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "Unknown option: $1 (see --help)" >&2; exit 2 ;;
        *)
            [[ -z "$SOURCE_URL" ]] || { echo "Only one source URL, please (see --help)" >&2; exit 2; }
            SOURCE_URL="$1"
            ;;
    esac
    shift
done
SOURCE_URL="${SOURCE_URL:-postgres://postgres@127.0.0.1:5432/portal_backup_src}"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
ADMIN_DB="${BACKUP_CHECK_ADMIN_DB:-postgres}"
JOBS="${BACKUP_CHECK_JOBS:-2}"
TAMPER="${BACKUP_CHECK_TAMPER:-}"
[[ "$TAMPER" == "1" ]] && TAMPER=audit
case "$TAMPER" in
    "" | audit | signature | rls) ;;
    *) echo "BACKUP_CHECK_TAMPER must be audit, signature or rls; got '$TAMPER'" >&2; exit 2 ;;
esac
VAR_DIR="${PORTAL_VAR_DIR:-var}"
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-10}"

for tool in pg_dump pg_restore psql tar; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (PostgreSQL client tools are needed)" >&2; exit 2; }
done
[[ -x "$PYTHON" ]] || { echo "No Python at $PYTHON: run make install, or set PYTHON" >&2; exit 2; }

# --- helpers --------------------------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; }
seconds_since() { LC_ALL=C awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
human_bytes() { numfmt --to=iec-i --suffix=B --format=%.1f "$1"; }
redact() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

# The same URL with another database name (the password, host and options kept).
url_with_db() {
    "$PYTHON" - "$1" "$2" <<'PY'
import sys
from urllib.parse import quote, urlsplit, urlunsplit

url = urlsplit(sys.argv[1])
print(urlunsplit(url._replace(path="/" + quote(sys.argv[2], safe=""))))
PY
}
db_name_of() {
    "$PYTHON" - "$1" <<'PY'
import sys
from urllib.parse import unquote, urlsplit

url = urlsplit(sys.argv[1])
if url.scheme not in ("postgres", "postgresql") or not url.path.strip("/"):
    sys.exit(f"not a PostgreSQL URL with a database name: {url.scheme}://...")
print(unquote(url.path.lstrip("/")))
PY
}

# psql reading SQL from stdin (so :'var' and :"var" interpolate), quiet, unaligned, stop on error.
psql_in() { local url="$1"; shift; psql "$url" -X -w -q -A -t -v ON_ERROR_STOP=1 "$@"; }

# Exact row count of every table, one "schema.table count" line each; row_security = off makes a
# role that RLS would filter fail loudly instead of counting a subset.
COUNT_SQL="SET row_security = off;
SELECT n.nspname || '.' || c.relname || ' ' ||
       (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname),
                                            false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1;"

# Row-level security, policies, owners and grants: what a restore must carry over.
security_sql() {
    # With --no-owner the copy's owner (and so the grantor of every grant) is the checking role.
    local owner_col="pg_get_userbyid(c.relowner)" acl_col="coalesce(c.relacl::text, 'default')"
    if [[ "$NO_OWNER" == 1 ]]; then
        owner_col="'not compared'"
        acl_col="'not compared'"
    fi
    cat <<SQL
SELECT 'relation ' || n.nspname || '.' || c.relname || ' kind=' || c.relkind::text
       || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
       || ' owner=' || $owner_col || ' acl=' || $acl_col
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
UNION ALL
SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive || ' '
       || array_to_string(roles, ',') || ' ' || cmd || ' using=' || coalesce(qual, '-')
       || ' check=' || coalesce(with_check, '-')
FROM pg_policies
UNION ALL
SELECT 'schema ' || nspname || ' acl=' || coalesce(nspacl::text, 'default')
FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'default-acl ' || pg_get_userbyid(defaclrole) || ' ' || defaclobjtype::text || ' ' || defaclacl::text
FROM pg_default_acl
ORDER BY 1;
SQL
}

SOURCE_DB="$(db_name_of "$SOURCE_URL")"
ADMIN_URL="$(url_with_db "$SOURCE_URL" "$ADMIN_DB")"
SCRATCH_DB="portal_restorecheck_$(date -u +%Y%m%d%H%M%S)_$$"
RESTORE_URL="$(url_with_db "$SOURCE_URL" "$SCRATCH_DB")"
WORK="$(mktemp -d -t portal-backup-check.XXXXXX)"
DUMP="$WORK/portal.dump"
SCRATCH_CREATED=0
SNAPSHOT_PID=""
STARTED="$(now)"

# The script's own stdout and stderr, for messages from the exit trap, which can run while a
# command's output is redirected to a file.
exec {OUT}>&1 {ERR}>&2

cleanup() {
    local status=$?
    if [[ -n "$SNAPSHOT_PID" ]] && kill -0 "$SNAPSHOT_PID" 2>/dev/null; then
        kill "$SNAPSHOT_PID" 2>/dev/null || true
    fi
    if [[ "$SCRATCH_CREATED" == 1 ]]; then
        if psql_in "$ADMIN_URL" -v db="$SCRATCH_DB" <<<'DROP DATABASE IF EXISTS :"db" WITH (FORCE);' 2>&"$ERR"; then
            echo "Dropped the scratch database $SCRATCH_DB." >&"$OUT"
        else
            echo "Could not drop the scratch database $SCRATCH_DB: drop it by hand." >&"$ERR"
            status=1
        fi
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "Backup and restore check of $(redact "$SOURCE_URL")"
echo "Scratch database: $SCRATCH_DB; work folder: $WORK"

# --- optional seed --------------------------------------------------------------------------
if [[ "$SEED" == 1 ]]; then
    t="$(now)"
    exists="$(psql_in "$ADMIN_URL" -v db="$SOURCE_DB" <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
    if [[ -z "$exists" ]]; then
        psql_in "$ADMIN_URL" -v db="$SOURCE_DB" <<<'CREATE DATABASE :"db";'
        echo "Created the source database $SOURCE_DB."
    fi
    # Demo data with tasks run in-process (no REDIS_URL): reports render, emails go to the log.
    if ! env -u REDIS_URL -u CACHE_URL DATABASE_URL="$SOURCE_URL" PORTAL_VAR_DIR="$VAR_DIR" \
        "$PYTHON" manage.py migrate --noinput -v0 >"$WORK/seed.log" 2>&1 \
        || ! env -u REDIS_URL -u CACHE_URL DATABASE_URL="$SOURCE_URL" PORTAL_VAR_DIR="$VAR_DIR" \
            "$PYTHON" manage.py load_demo >>"$WORK/seed.log" 2>&1; then
        tail -n 30 "$WORK/seed.log" >&2
        echo "Seeding the source database failed." >&2
        exit 1
    fi
    echo "Seeded $SOURCE_DB (migrate, load_demo) in $(seconds_since "$t") s."
fi

# --- backup: one snapshot for pg_dump and the source's row counts ----------------------------
# A REPEATABLE READ transaction exports its snapshot; pg_dump reads that snapshot and the row
# counts are taken in the same transaction, so they match the dump even while the source is
# being written to.
coproc SNAP { exec psql "$SOURCE_URL" -X -w -q -A -t -v ON_ERROR_STOP=1 2>"$WORK/snapshot.err"; }
SNAPSHOT_PID="$SNAP_PID"
exec {SNAP_TO}>&"${SNAP[1]}" {SNAP_FROM}<&"${SNAP[0]}"
printf '%s\n' "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;" "SELECT pg_export_snapshot();" >&"$SNAP_TO"
if ! IFS= read -r -t 60 snapshot <&"$SNAP_FROM" || [[ -z "$snapshot" ]]; then
    cat "$WORK/snapshot.err" >&2
    echo "Could not open a snapshot on the source database." >&2
    exit 1
fi

t="$(now)"
if ! pg_dump --format=custom --snapshot="$snapshot" --no-password --file="$DUMP" "$SOURCE_URL" 2>"$WORK/pg_dump.err"; then
    cat "$WORK/pg_dump.err" >&2
    echo "pg_dump failed." >&2
    exit 1
fi
DUMP_SECONDS="$(seconds_since "$t")"
DUMP_BYTES="$(stat -c %s "$DUMP")"

printf '%s\n' "$COUNT_SQL" '\echo __END__' "COMMIT;" '\q' >&"$SNAP_TO"
: >"$WORK/source.counts"
while true; do
    if ! IFS= read -r line <&"$SNAP_FROM"; then
        cat "$WORK/snapshot.err" >&2
        echo "Counting the source's rows failed." >&2
        exit 1
    fi
    [[ "$line" == "__END__" ]] && break
    [[ -n "$line" ]] && echo "$line" >>"$WORK/source.counts"
done
exec {SNAP_TO}>&- {SNAP_FROM}<&-
wait "$SNAPSHOT_PID" 2>/dev/null || true
SNAPSHOT_PID=""
echo "Dumped $SOURCE_DB: $(human_bytes "$DUMP_BYTES") in $DUMP_SECONDS s."

# The private files (evidence, reports, exports), copied after the dump so every file it names is there.
t="$(now)"
mkdir -p "$WORK/var"
STORAGE_URL="${BACKUP_CHECK_STORAGE_URL:-${PORTAL_STORAGE_URL:-}}"
if [[ -n "$STORAGE_URL" ]]; then
    FILES_NOTE="in the bucket $(redact "${STORAGE_URL%%\?*}"): read there by the checks, not copied"
elif [[ -d "$VAR_DIR/private" ]]; then
    tar -C "$VAR_DIR" -cf "$WORK/private.tar" private
    FILES_COUNT="$(find "$VAR_DIR/private" -type f | wc -l)"
    FILES_BYTES="$(stat -c %s "$WORK/private.tar")"
    tar -C "$WORK/var" -xf "$WORK/private.tar"
    FILES_NOTE="$FILES_COUNT files, $(human_bytes "$FILES_BYTES") tar of $VAR_DIR/private, in $(seconds_since "$t") s"
else
    FILES_NOTE="no $VAR_DIR/private folder: no files copied"
fi

# --- restore into a fresh database with the source's encoding and locale --------------------
IFS='|' read -r ENCODING COLLATE CTYPE < <(psql_in "$SOURCE_URL" \
    <<<"SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = current_database();")
psql_in "$ADMIN_URL" -v db="$SCRATCH_DB" -v enc="$ENCODING" -v coll="$COLLATE" -v ctype="$CTYPE" <<'SQL'
CREATE DATABASE :"db" TEMPLATE template0 ENCODING :'enc' LC_COLLATE :'coll' LC_CTYPE :'ctype';
SQL
SCRATCH_CREATED=1

restore_args=(--exit-on-error --no-password --jobs="$JOBS" --dbname="$RESTORE_URL")
RESTORE_MODE="owners and grants kept"
if [[ "$NO_OWNER" == 1 ]]; then
    restore_args+=(--no-owner)
    RESTORE_MODE="--no-owner: owned by the checking role, grants kept"
fi
t="$(now)"
if ! pg_restore "${restore_args[@]}" "$DUMP" 2>"$WORK/pg_restore.err"; then
    cat "$WORK/pg_restore.err" >&2
    echo "pg_restore failed." >&2
    exit 1
fi
RESTORE_SECONDS="$(seconds_since "$t")"
echo "Restored into $SCRATCH_DB in $RESTORE_SECONDS s ($RESTORE_MODE)."

# --- deliberate damage, to prove the checks catch it (the scratch copy only) -----------------
case "$TAMPER" in
    audit)
        psql_in "$RESTORE_URL" <<<"UPDATE portal_auditevent SET verb = verb || '.tampered'
            WHERE id = (SELECT id FROM portal_auditevent ORDER BY created_at, sequence LIMIT 1);"
        echo "BACKUP_CHECK_TAMPER=audit: changed the verb of the oldest audit event in $SCRATCH_DB."
        ;;
    rls)
        psql_in "$RESTORE_URL" <<'SQL'
DO $$
DECLARE target regclass;
BEGIN
    SELECT c.oid INTO target FROM pg_class c WHERE c.relrowsecurity ORDER BY c.oid::regclass::text LIMIT 1;
    IF target IS NULL THEN
        RAISE EXCEPTION 'no table with row-level security to tamper with';
    END IF;
    EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', target);
END $$;
SQL
        echo "BACKUP_CHECK_TAMPER=rls: turned row-level security off on one table in $SCRATCH_DB."
        ;;
    signature)
        psql_in "$RESTORE_URL" <<<"UPDATE portal_signature SET snapshot = jsonb_set(snapshot, '{tampered}', 'true')
            WHERE id = (SELECT id FROM portal_signature ORDER BY signed_at LIMIT 1);"
        echo "BACKUP_CHECK_TAMPER=signature: altered the oldest signature's snapshot in $SCRATCH_DB."
        ;;
esac

# --- checks ---------------------------------------------------------------------------------
FAILED=0
declare -a SUMMARY=()
record() {  # name, PASS|FAIL, detail
    [[ "$2" == PASS ]] || FAILED=1
    SUMMARY+=("$(printf '  %-13s %s  %s' "$1" "$2" "$3")")
}

# manage.py against the restored copy and the copied files; no broker or cache needed.
manage() {
    env -u REDIS_URL -u CACHE_URL DATABASE_URL="$RESTORE_URL" PORTAL_VAR_DIR="$WORK/var" \
        PORTAL_STORAGE_URL="$STORAGE_URL" "$PYTHON" manage.py "$@"
}

t="$(now)"
if manage migrate --check >"$WORK/migrate.out" 2>&1; then
    applied="$(psql_in "$RESTORE_URL" <<<"SELECT count(*) FROM django_migrations;")"
    record "migrations" PASS "none unapplied, $applied applied (migrate --check, $(seconds_since "$t") s)"
else
    cat "$WORK/migrate.out" >&2
    if manage showmigrations --plan 2>/dev/null | grep '^\[ \]' >"$WORK/unapplied.out"; then
        sed 's/^/unapplied: /' "$WORK/unapplied.out" >&2
        record "migrations" FAIL "$(wc -l <"$WORK/unapplied.out") unapplied (migrate --check, $(seconds_since "$t") s)"
    else
        record "migrations" FAIL "migrate --check failed: see its output ($(seconds_since "$t") s)"
    fi
fi

t="$(now)"
if manage verify_audit_trail >"$WORK/audit.out" 2>&1; then
    orgs="$(grep -c '^OK ' "$WORK/audit.out" || true)"
    events="$(awk '/^OK /{ n += $(NF - 1) } END { print n + 0 }' "$WORK/audit.out")"
    record "audit trail" PASS "$orgs organisations, $events events, every chain intact (verify_audit_trail, $(seconds_since "$t") s)"
else
    grep -v '^OK ' "$WORK/audit.out" >&2 || true
    broken="$(grep -c '^BROKEN ' "$WORK/audit.out" || true)"
    if [[ "$broken" -gt 0 ]]; then
        record "audit trail" FAIL "$broken organisation(s) with a broken chain (verify_audit_trail, $(seconds_since "$t") s)"
    else
        record "audit trail" FAIL "verify_audit_trail failed: see its output ($(seconds_since "$t") s)"
    fi
fi

t="$(now)"
signatures="$(psql_in "$RESTORE_URL" <<<"SELECT count(*) FROM portal_signature;")"
if manage verify_signatures >"$WORK/signatures.out" 2>&1; then
    record "signatures" PASS "$signatures signatures match what was signed (verify_signatures, $(seconds_since "$t") s)"
else
    cat "$WORK/signatures.out" >&2
    void="$(grep -c '^VOID ' "$WORK/signatures.out" || true)"
    if [[ "$void" -gt 0 ]]; then
        record "signatures" FAIL "$void of $signatures void (verify_signatures, $(seconds_since "$t") s)"
    else
        record "signatures" FAIL "verify_signatures failed: see its output ($(seconds_since "$t") s)"
    fi
fi

t="$(now)"
if manage verify_stored_files >"$WORK/files.out" 2>&1; then
    record "stored files" PASS "$(tail -n 1 "$WORK/files.out" | sed 's/ in the .*:/:/') (verify_stored_files, $(seconds_since "$t") s)"
else
    grep '^BAD ' "$WORK/files.out" | head -n 40 >&2 || true
    bad="$(grep -c '^BAD ' "$WORK/files.out" || true)"
    if [[ "$bad" -gt 0 ]]; then
        record "stored files" FAIL "$bad missing or changed (verify_stored_files, $(seconds_since "$t") s)"
    else
        cat "$WORK/files.out" >&2
        record "stored files" FAIL "verify_stored_files failed: see its output ($(seconds_since "$t") s)"
    fi
fi

t="$(now)"
tables="$(wc -l <"$WORK/source.counts")"
rows="$(awk '{ n += $2 } END { print n + 0 }' "$WORK/source.counts")"
if psql_in "$RESTORE_URL" <<<"$COUNT_SQL" >"$WORK/restore.counts.raw" \
    && sed '/^$/d' "$WORK/restore.counts.raw" >"$WORK/restore.counts" \
    && [[ "$tables" -gt 0 ]] && diff -u "$WORK/source.counts" "$WORK/restore.counts" >"$WORK/counts.diff"; then
    record "row counts" PASS "$tables tables, $rows rows, identical to the dump's snapshot ($(seconds_since "$t") s)"
else
    head -n 40 "$WORK/counts.diff" >&2 2>/dev/null || true
    record "row counts" FAIL "differ from the source (source: $tables tables, $rows rows)"
fi

if security_sql | psql_in "$SOURCE_URL" >"$WORK/source.security" \
    && security_sql | psql_in "$RESTORE_URL" >"$WORK/restore.security" \
    && diff -u "$WORK/source.security" "$WORK/restore.security" >"$WORK/security.diff"; then
    policies="$(grep -c '^policy ' "$WORK/source.security" || true)"
    rls_tables="$(grep -c ' rls=true ' "$WORK/source.security" || true)"
    if [[ "$NO_OWNER" == 1 ]]; then
        record "security" PASS "$policies policies, $rls_tables tables with RLS identical (owners and grants not compared)"
    else
        record "security" PASS "$policies policies, $rls_tables tables with RLS, owners and grants identical"
    fi
else
    head -n 40 "$WORK/security.diff" >&2 2>/dev/null || true
    record "security" FAIL "policies, RLS flags, owners or grants differ from the source"
fi

# --- summary --------------------------------------------------------------------------------
echo
echo "Summary: $(redact "$SOURCE_URL") -> $SCRATCH_DB"
printf '  %-13s %s\n' "dump" "$(human_bytes "$DUMP_BYTES") ($DUMP_BYTES bytes, pg_dump --format=custom) in $DUMP_SECONDS s"
printf '  %-13s %s\n' "files" "$FILES_NOTE"
printf '  %-13s %s\n' "restore" "$RESTORE_SECONDS s (pg_restore --jobs=$JOBS, $RESTORE_MODE)"
[[ -n "$TAMPER" ]] && printf '  %-13s %s\n' "tampered" "BACKUP_CHECK_TAMPER=$TAMPER: the restored copy damaged on purpose"
printf '%s\n' "${SUMMARY[@]}"
if [[ "$FAILED" == 0 ]]; then
    echo "Result: PASS in $(seconds_since "$STARTED") s"
else
    echo "Result: FAIL in $(seconds_since "$STARTED") s"
    exit 1
fi
