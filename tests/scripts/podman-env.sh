# Sourced by image-debian.sh and image-test.sh: a podman and buildah set-up private to this
# checkout, under target/podman, so that nothing of the machine's own containers configuration
# or storage is used or changed. What it sets, and why:
#   runtime runc        crun refuses the hybrid cgroup layout of machines such as CI's
#   cgroupfs            there is no systemd to ask for cgroups
#   events_logger file  no journald either
#   nofile, nproc       a container asking for more than the hard limits here fails to start
#                       (20,000 open files; podman's own nproc default is above the hard limit)
#   no static_dir       with it, every container exit hangs 20 s
# Networks live in target/podman too; the tests create theirs on 198.18.0.0/24 only.
# Expects: the repository root as the working directory.

podman_root="$PWD/target/podman"
mkdir -p "$podman_root/storage" "$podman_root/run" "$podman_root/tmp" "$podman_root/networks"
cat >"$podman_root/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$podman_root/storage"
runroot = "$podman_root/run"
CONF
cat >"$podman_root/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$podman_root/events.log"
tmp_dir = "$podman_root/tmp"
[network]
network_backend = "netavark"
network_config_dir = "$podman_root/networks"
CONF
export CONTAINERS_STORAGE_CONF="$podman_root/storage.conf"
export CONTAINERS_CONF="$podman_root/containers.conf"
# buildah keeps its own temporary files in TMPDIR while it builds.
export TMPDIR="$podman_root/tmp"
