#!/usr/bin/env bash
# Continuous WAL archiving: PostgreSQL's archive_command. Copies one finished WAL segment into the
# archive directory, atomically (a temporary name, flushed, then renamed), and never overwrites a
# different file of the same name (PostgreSQL must not be told "archived" for a segment that is
# not). Set in postgresql.conf, as the server's user:
#
#   wal_level = replica
#   archive_mode = on
#   archive_command = '/opt/boka/ops/archive-wal.sh %p %f /backups/boka/wal'
#   archive_timeout = 60      # a segment is archived at least every minute: the RPO bound
#
# Exit 0 only when the segment is safely in the archive; PostgreSQL retries otherwise and keeps
# the segment meanwhile.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: archive-wal.sh %p %f ARCHIVE_DIR" >&2
  exit 2
fi
source_path=$1 name=$2 archive=$3
target="$archive/$name"

if [[ -e "$target" ]]; then
  # Archived before (a retry after a crash between copy and acknowledgement): fine if identical.
  if cmp -s "$source_path" "$target"; then
    exit 0
  fi
  echo "archive-wal: $target exists and differs from $source_path; refusing to overwrite" >&2
  exit 1
fi

mkdir -p "$archive"
partial="$target.partial.$$"
trap 'rm -f "$partial"' EXIT
cp "$source_path" "$partial"
sync "$partial"
mv "$partial" "$target"
sync "$archive"
trap - EXIT
