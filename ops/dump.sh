#!/usr/bin/env bash
# The nightly logical dump (pg_dump custom format), with retention.
#
#   BACKUP_DIR=/backups/boka PGHOST=... PGUSER=... ops/dump.sh [DATABASE]
#
# Writes $BACKUP_DIR/dumps/<database>-<UTC timestamp>.dump, checks it reads back (pg_restore
# --list), and deletes dumps older than $DUMPS_KEEP_DAYS (default 14). A dump is the way back
# from a mistake that WAL replay would faithfully repeat elsewhere (restoring one tenant's rows,
# moving to a new major version); point-in-time recovery uses the base backups and the WAL.
#   pg_restore --dbname=boka_restored --no-owner $BACKUP_DIR/dumps/boka-<stamp>.dump
set -euo pipefail

: "${BACKUP_DIR:?set BACKUP_DIR}"
DUMPS_KEEP_DAYS=${DUMPS_KEEP_DAYS:-14}
database=${1:-${PGDATABASE:-boka}}

dumps="$BACKUP_DIR/dumps"
mkdir -p "$dumps"
target="$dumps/$database-$(date -u +%Y%m%dT%H%M%SZ).dump"
partial="$target.partial"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --compress=6 --no-password --dbname="$database" --file="$partial"
pg_restore --list "$partial" >/dev/null
mv "$partial" "$target"
trap - EXIT
echo "dump: $target ($(du -h "$target" | cut -f1))"

find "$dumps" -maxdepth 1 -name "$database-*.dump" -mtime +"$DUMPS_KEEP_DAYS" -print -delete
