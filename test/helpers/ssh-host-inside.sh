#!/usr/bin/env bash
# The inside of test/helpers/ssh-host.ts's stand-in server, run by it as root through `ip netns exec <namespace>`,
# which gives this script a mount namespace of its own whose mounts never reach the machine's. Here the stand-in
# gets its own /etc/docker (the registry CA it trusts), its own /etc/passwd and /etc/group (the SSH user and the
# group of its Docker socket) and its own /run (so /var/run/docker.sock is its dockerd's, and the machine's
# daemon cannot be reached from an SSH session at all). Then it runs that dockerd and sshd until both are
# stopped; everything mounted here goes with the last process of the namespace.
# Usage: ssh-host-inside.sh STATE_DIR   (the files ssh-host.ts prepared; see there)
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ $# -ne 1 ]; then
  echo "usage: ip netns exec NAMESPACE $0 STATE_DIR  (run by test/helpers/ssh-host.ts)" >&2
  exit 2
fi
state="$1"

# `ip netns exec` mounted a fresh /sys for the network namespace, without the cgroup hierarchies dockerd needs
# (and binding the machine's /sys/fs/cgroup back is not possible from here: that path now is the new sysfs).
# The same hierarchies are mounted again, as the machine has them (state/cgroup-mounts: "type path options").
mount -t tmpfs -o mode=0755 ssh-host-cgroup /sys/fs/cgroup
while read -r type path options; do
  mkdir -p "$path"
  mount -t "$type" -o "$options" cgroup "$path"
done <"$state/cgroup-mounts"
mount --bind "$state/etc-docker" /etc/docker
mount --bind "$state/passwd" /etc/passwd
mount --bind "$state/group" /etc/group
mount -t tmpfs -o mode=0755 ssh-host-run /run
mkdir -m 0755 /run/sshd # sshd's privilege separation directory

# Two sockets, one daemon: the standard path for SSH sessions, and one in the state dir for the helper itself.
dockerd \
  --data-root "$state/docker/data" \
  --exec-root "$state/docker/exec" \
  --pidfile "$state/docker/dockerd.pid" \
  -H unix:///run/docker.sock \
  -H "unix://$state/docker/docker.sock" \
  --group ssh-host-docker \
  --storage-driver=vfs \
  --exec-opt native.cgroupdriver=cgroupfs \
  --cgroup-parent "$(cat "$state/cgroup-parent")" \
  >"$state/docker/dockerd.log" 2>&1 &

/usr/sbin/sshd -D -e -f "$state/ssh/sshd_config" >"$state/ssh/sshd.log" 2>&1 &

wait
