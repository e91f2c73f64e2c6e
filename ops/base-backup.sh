#!/usr/bin/env bash
# A base backup (pg_basebackup) for point-in-time recovery, with retention.
#
#   BACKUP_DIR=/backups/boka PGHOST=... PGUSER=... ops/base-backup.sh
#
# Writes $BACKUP_DIR/base/<UTC timestamp>/ (plain format with the WAL it needs, so each backup
# restores on its own), keeps the newest $BASE_BACKUPS_KEEP (default 7: a week of nightly
# backups), and removes the archived WAL ($WAL_ARCHIVE, default $BACKUP_DIR/wal) older than the
# oldest backup kept: recovery can reach any moment from that backup on. Connection settings
# are libpq's (PGHOST, PGPORT, PGUSER, PGPASSWORD or ~/.pgpass); the role needs REPLICATION.
# Run it nightly from cron or a systemd timer, e.g.  15 2 * * *  postgres  /opt/boka/ops/base-backup.sh
set -euo pipefail

: "${BACKUP_DIR:?set BACKUP_DIR}"
WAL_ARCHIVE=${WAL_ARCHIVE:-$BACKUP_DIR/wal}
BASE_BACKUPS_KEEP=${BASE_BACKUPS_KEEP:-7}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
base="$BACKUP_DIR/base"
mkdir -p "$base" "$WAL_ARCHIVE"

# A partial directory never looks like a backup: renamed only once pg_basebackup succeeded
# (it verifies the copy against its manifest as it writes it).
partial="$base/.$stamp.partial"
trap 'rm -rf "$partial"' EXIT
pg_basebackup --pgdata="$partial" --format=plain --wal-method=stream --checkpoint=fast \
  --label="boka $stamp" --no-password
pg_verifybackup --quiet "$partial"
mv "$partial" "$base/$stamp"
trap - EXIT
echo "base backup: $base/$stamp ($(du -sh "$base/$stamp" | cut -f1))"

# Retention: the newest BASE_BACKUPS_KEEP backups.
mapfile -t backups < <(find "$base" -mindepth 1 -maxdepth 1 -type d -name '*Z' -printf '%f\n' | sort)
excess=$(( ${#backups[@]} - BASE_BACKUPS_KEEP ))
for (( i = 0; i < excess; i++ )); do
  rm -rf "${base:?}/${backups[i]}"
  echo "removed base backup ${backups[i]}"
done

# WAL from before the oldest kept backup's start is no longer needed.
oldest=$(find "$base" -mindepth 1 -maxdepth 1 -type d -name '*Z' -printf '%f\n' | sort | head -n1)
first_wal=$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$base/$oldest/backup_label")
if [[ -n "$first_wal" ]]; then
  pg_archivecleanup "$WAL_ARCHIVE" "$first_wal"
fi
