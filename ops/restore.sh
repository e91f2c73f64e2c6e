#!/usr/bin/env bash
# Point-in-time restore of a base backup plus archived WAL into a fresh data directory.
#
#   ops/restore.sh --pgdata /var/lib/postgresql/15/restored \
#       [--backup /backups/boka/base/20261130T021500Z]   # default: the newest in $BACKUP_DIR/base
#       [--wal /backups/boka/wal]                        # default: $BACKUP_DIR/wal
#       [--target-time '2026-11-30 14:05:00+00']         # default: replay every archived segment
#
# Then start PostgreSQL on it (pg_ctl -D DIR start, or point the service at it): it replays the
# WAL up to the target, promotes itself and accepts writes on a new timeline. The restored
# cluster does not archive (archive_mode = off), so a drill cannot write into the production
# archive; after a real recovery, turn archiving back on and take a new base backup at once.
# A target time later than the last archived commit stops PostgreSQL with "recovery ended
# before configured recovery target was reached": leave --target-time out to recover all.
set -euo pipefail

backup="" wal="" target_time="" pgdata=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --backup) backup=$2; shift 2 ;;
    --wal) wal=$2; shift 2 ;;
    --target-time) target_time=$2; shift 2 ;;
    --pgdata) pgdata=$2; shift 2 ;;
    *) echo "restore.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$pgdata" ]] || { echo "restore.sh: --pgdata is required" >&2; exit 2; }
if [[ -z "$backup" ]]; then
  : "${BACKUP_DIR:?give --backup or set BACKUP_DIR}"
  backup="$BACKUP_DIR/base/$(find "$BACKUP_DIR/base" -mindepth 1 -maxdepth 1 -type d -name '*Z' -printf '%f\n' | sort | tail -n1)"
fi
wal=${wal:-${BACKUP_DIR:?give --wal or set BACKUP_DIR}/wal}
[[ -f "$backup/backup_label" ]] || { echo "restore.sh: $backup is not a base backup" >&2; exit 1; }
if [[ -e "$pgdata" && -n "$(ls -A "$pgdata")" ]]; then
  echo "restore.sh: $pgdata is not empty; restore into a fresh directory" >&2
  exit 1
fi

mkdir -p "$pgdata"
chmod 700 "$pgdata"
cp -a "$backup/." "$pgdata/"
rm -f "$pgdata/backup_manifest" "$pgdata/postmaster.pid"
wal=$(cd "$wal" && pwd)
{
  echo ""
  echo "# ops/restore.sh $(date -u +%FT%TZ): recovery from $backup"
  echo "restore_command = 'cp \"$wal/%f\" \"%p\"'"
  echo "archive_mode = off"
  if [[ -n "$target_time" ]]; then
    echo "recovery_target_time = '$target_time'"
    echo "recovery_target_action = 'promote'"
  fi
} >> "$pgdata/postgresql.auto.conf"
touch "$pgdata/recovery.signal"
echo "restore: $backup -> $pgdata (WAL from $wal${target_time:+, up to $target_time}); start PostgreSQL on it"
