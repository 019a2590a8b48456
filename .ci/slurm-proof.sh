#!/usr/bin/env bash
# CI: prove the Slurm profile (slurm/config.yaml) on a real one-node Slurm cluster.
#
#   bash .ci/slurm-proof.sh          # the whole proof; the daemons are stopped on exit
#   bash .ci/slurm-proof.sh up       # only install, configure, start, check readiness
#   bash .ci/slurm-proof.sh down     # cancel leftover jobs, stop the daemons
#
# Needs root on Debian/Ubuntu (no systemd needed) and ../shared/data (tests/shared-data.yaml).
#  1. install munge + Slurm from the distribution's packages (skipped when installed);
#  2. write a one-node slurm.conf for this machine (no accounting daemon), start munged,
#     slurmctld and slurmd, wait until the node is idle and an srun and an sbatch job ran;
#  3. run the CI overlay (tests/shared-data.yaml + tests/ci-slurm.yaml) locally, as the
#     reference, in its own working directory;
#  4. run the same overlay with `snakemake --profile slurm` from the repository root in a
#     second working directory, adding only what a cluster without an accounting database
#     needs (--slurm-status-command squeue), under `timeout -s INT`;
#  5. check that every non-local job of the plan ran inside a Slurm job of this run
#     (squeue --states=all: COMPLETED; its Slurm log names the job's outputs), that the
#     local rules ran locally, that training jobs got `threads` CPUs and torch used as
#     many threads, and that runs.csv and every metrics.json equal the local run's;
#  6. failure and retry: rerun one training cell with its memory lowered to
#     RETRY_MEM_MB x attempt. Slurm kills attempt 1 for exceeding its memory (OverMemoryKill
#     below), Snakemake reports the failure with the path of its Slurm log and resubmits the
#     cell with twice the memory; attempt 2 completes with the same metrics as locally.
#  7. K cells side by side: the four memory-task cells of tests/ci-slurm-k.yaml (one
#     thread each), once one at a time in a plain `snakemake --cores 1` run, once with
#     `--resources train_slots=4 --group-components train_cells=4`: one Slurm job must
#     run all four, ask for what README.md says (4 x one cell's CPUs and memory, one
#     round of the cell's runtime), run them at the same time (their start and end times
#     in its Slurm log overlap) and give every cell the same metrics as alone.
# Any failure exits non-zero. Working directories: $RNNBENCH_SLURM_PROOF_DIR (default
# /tmp/rnnbench-slurm-proof), wiped at the start; its *.log files are the evidence.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${RNNBENCH_SLURM_PROOF_DIR:-/tmp/rnnbench-slurm-proof}
SNAKEMAKE_TIMEOUT=${RNNBENCH_SLURM_PROOF_TIMEOUT:-360} # seconds, for each Snakemake run
OVERLAYS=("$REPO/tests/shared-data.yaml" "$REPO/tests/ci-slurm.yaml")
# What a cluster without slurmdbd needs: sacct cannot work there, squeue can (MinJobAge
# below keeps finished jobs visible to squeue for 10 minutes).
NO_DBD_OVERRIDES=(--slurm-status-command squeue)
RETRY_CELL=results/runs/memory/lstm/adam/len20/seed0/metrics.json
RETRY_MEM_MB=400 # attempt 1: 400 MB < the ~550 MB a training step needs; attempt 2: 800 MB
PIDFILES=(/run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid)
# The K-cells batch: K cells of one CPU each side by side in one Slurm job.
K_CELLS=4
# The node offers at least K_CELLS CPUs (slurm.conf CPUs, with config_overrides so that
# slurmd accepts more than the VM's 2 cores): the K-cells batch asks for K x 1 CPU.
NODE_CPUS=$(($(nproc) > K_CELLS ? $(nproc) : K_CELLS))
HOST=$(hostname -s)
unset SNAKEMAKE_PROFILE

step() { printf '\n=== slurm proof: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
fail() {
	echo "SLURM PROOF FAILED: $*" >&2
	exit 1
}

# wait_for SECONDS WHAT COMMAND...: run COMMAND every 0.5 s until it succeeds.
wait_for() {
	local seconds=$1 what=$2 i
	shift 2
	for i in $(seq $((seconds * 2))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	fail "$what: not ready after ${seconds}s"
}

stop_daemons() {
	local f p i jobs
	if [[ -s /run/slurmctld.pid ]] && scontrol ping >/dev/null 2>&1; then
		# slurmstepd outlives slurmd: cancel what is left of this cluster's jobs first.
		jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
		if [[ -n ${jobs// /} ]]; then
			# shellcheck disable=SC2086
			scancel $jobs 2>/dev/null || true
			for i in $(seq 60); do
				[[ -z $(squeue -h -t RUNNING,COMPLETING,PENDING -o %A 2>/dev/null) ]] && break
				sleep 0.5
			done
		fi
	fi
	# Reverse start order, each by its pid file; wait until it has exited.
	for f in "${PIDFILES[@]}"; do
		[[ -s $f ]] || continue
		p=$(cat "$f")
		if kill "$p" 2>/dev/null; then
			for i in $(seq 60); do
				kill -0 "$p" 2>/dev/null || break
				sleep 0.5
			done
		fi
		rm -f "$f"
	done
}

install_slurm() {
	local packages=(munge slurmctld slurmd slurm-client)
	if [[ $(dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -c 'install ok installed') != "${#packages[@]}" ]]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
	fi
	dpkg-query -W "${packages[@]}"
	if [[ ! -s /etc/munge/munge.key ]]; then
		mungekey --create --keyfile=/etc/munge/munge.key
		chown munge:munge /etc/munge/munge.key
		chmod 600 /etc/munge/munge.key
	fi
}

SLURM_CONF_BACKUP=/etc/slurm/slurm.conf.before-rnnbench

configure_slurm() {
	local mem_mb=$(($(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) - 1024))
	mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
	# Keep a slurm.conf that was there before; restore_slurm_conf puts it back.
	if [ -e /etc/slurm/slurm.conf ] && [ ! -e "$SLURM_CONF_BACKUP" ]; then
		cp -p /etc/slurm/slurm.conf "$SLURM_CONF_BACKUP"
	fi
	# No accounting daemon: sacct does not work, Snakemake polls squeue instead.
	# task/none: no CPU binding. The node declares NODE_CPUS, more than a 2-core runner has;
	# binding would map a 2-CPU job onto one real core (torch then gets 1 thread).
	# jobacct_gather/linux + OverMemoryKill: slurmstepd measures each job step's memory
	# every second and kills a step that uses more than the job's --mem (no cgroups needed).
	cat >/etc/slurm/slurm.conf <<-EOF
		ClusterName=ci
		SlurmctldHost=${HOST}(127.0.0.1)
		SlurmUser=root
		AuthType=auth/munge
		CryptoType=crypto/munge
		MpiDefault=none
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		JobAcctGatherType=jobacct_gather/linux
		JobAcctGatherFrequency=task=1
		JobAcctGatherParams=OverMemoryKill
		ReturnToService=2
		SlurmctldPidFile=/run/slurmctld.pid
		SlurmdPidFile=/run/slurmd.pid
		SlurmdSpoolDir=/var/spool/slurmd
		StateSaveLocation=/var/spool/slurmctld
		SlurmctldLogFile=/var/log/slurm/slurmctld.log
		SlurmdLogFile=/var/log/slurm/slurmd.log
		SchedulerType=sched/backfill
		SelectType=select/cons_tres
		SelectTypeParameters=CR_Core_Memory
		DefMemPerCPU=1000
		MinJobAge=600
		JobCompType=jobcomp/filetxt
		JobCompLoc=/var/log/slurm/jobcomp.log
		AccountingStorageType=accounting_storage/none
		SlurmdParameters=config_overrides
		NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${NODE_CPUS} RealMemory=${mem_mb} State=UNKNOWN
		PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
	EOF
}

start_daemons() {
	stop_daemons # leftovers of an earlier run on this machine
	mkdir -p /run/munge
	chown munge:munge /run/munge
	chmod 755 /run/munge
	runuser -u munge -- /usr/sbin/munged --force
	wait_for 20 "munged" bash -c 'munge -n | unmunge'
	/usr/sbin/slurmctld -c # -c: start without the jobs of an earlier run
	wait_for 30 "slurmctld" scontrol ping
	/usr/sbin/slurmd
}

check_ready() {
	# The exact compact state: not idle* / unk* / down* (slurmd not registered yet).
	wait_for 60 "node $HOST idle" bash -c "sinfo -h -n '$HOST' -o %t | grep -qx 'idle\|mix\|alloc'"
	sinfo
	[[ $(timeout 60 srun -t 1 hostname) == "$HOST" ]] || fail "srun did not run on $HOST"
	local jid out=/tmp/rnnbench-slurm-check.out
	rm -f "$out"
	jid=$(sbatch --parsable -t 1 -o "$out" --wrap 'echo sbatch-ok on $(hostname)')
	wait_for 60 "sbatch job $jid" bash -c "squeue -h -j $jid --states=all -o %T | grep -qx COMPLETED"
	grep -qx "sbatch-ok on $HOST" "$out" || fail "sbatch job $jid: unexpected output"
	echo "srun and sbatch ok on $HOST"
}

up() {
	[[ $(id -u) == 0 ]] || fail "needs root (installs packages, starts daemons)"
	step "install munge and Slurm (distribution packages)"
	install_slurm
	step "configure and start a one-node cluster"
	configure_slurm
	start_daemons
	step "readiness"
	check_ready
}

# slurm_jobs RUNID FILE: this run's Slurm jobs (the plugin names each job by the run ID).
slurm_jobs() {
	squeue --states=all -h --name "$1" -o '%i|%T|%C|%m|%l|%k' | sort -t'|' -k1,1n >"$2"
	cat "$2"
}

# slurm_run NAME ARGS...: `snakemake --profile slurm ARGS` (with what a cluster without
# slurmdbd needs) under the timeout, its log in $WORK/NAME.log (its tail printed if it
# fails); then RUNID is its SLURM run ID and $WORK/NAME-jobs.txt lists its Slurm jobs.
slurm_run() {
	local name=$1
	shift
	timeout -s INT -k 60 "$SNAKEMAKE_TIMEOUT" snakemake --profile slurm "${NO_DBD_OVERRIDES[@]}" \
		"$@" >"$WORK/$name.log" 2>&1 || {
		tail -60 "$WORK/$name.log"
		fail "the $name run failed or timed out (log: $WORK/$name.log)"
	}
	RUNID=$(grep -oP 'SLURM run ID: \K\S+' "$WORK/$name.log") || fail "no SLURM run ID in $WORK/$name.log"
	slurm_jobs "$RUNID" "$WORK/$name-jobs.txt"
}

case "${1:-all}" in
up)
	up
	exit 0
	;;
down)
	stop_daemons
	exit 0
	;;
all) ;;
*) fail "unknown mode ${1}; use up, down or nothing" ;;
esac

# Leave no slurm.conf pointing at a stopped controller: with one, every later
# `snakemake` call waits ~9 s in the Slurm plugin's `scontrol show config` probe.
restore_slurm_conf() {
	if [ -e "$SLURM_CONF_BACKUP" ]; then
		mv -f "$SLURM_CONF_BACKUP" /etc/slurm/slurm.conf
	else
		rm -f /etc/slurm/slurm.conf
	fi
}

trap 'rc=$?; step "stop the daemons"; stop_daemons; restore_slurm_conf; exit $rc' EXIT
up

step "snakemake --profile slurm -n in the repository root (the default experiment)"
cd "$REPO"
plan=$(snakemake --profile slurm -n 2>&1) || {
	echo "$plan"
	fail "snakemake --profile slurm -n failed"
}
grep -q "^Using profile slurm " <<<"$plan" || fail "the profile was not picked up"
grep -E "^(train|total) +[0-9]+$" <<<"$plan" | sort -u || fail "no training jobs planned"

step "working directories in $WORK"
rm -rf "$WORK"
mkdir -p "$WORK/local" "$WORK/slurm"
# tests/shared-data.yaml reads ../shared/data relative to the working directory.
ln -s "$(cd "$REPO/.." && pwd)/shared" "$WORK/shared"
cp "$REPO/config.yaml" "$WORK/local/"
cp "$REPO/config.yaml" "$WORK/slurm/"

step "local reference run"
timeout -s INT -k 60 "$SNAKEMAKE_TIMEOUT" snakemake -s "$REPO/Snakefile" -d "$WORK/local" \
	--cores "$(nproc)" --configfile "${OVERLAYS[@]}" >"$WORK/local.log" 2>&1 ||
	{
		tail -40 "$WORK/local.log"
		fail "the local reference run failed (log: $WORK/local.log)"
	}
tail -2 "$WORK/local.log"

step "Slurm run: snakemake --profile slurm, from the repository root"
snakemake --profile slurm -n -d "$WORK/slurm" --configfile "${OVERLAYS[@]}" \
	>"$WORK/slurm-plan.log" 2>&1 || {
	cat "$WORK/slurm-plan.log"
	fail "the dry run with the profile failed"
}
started=$SECONDS
slurm_run slurm -d "$WORK/slurm" --configfile "${OVERLAYS[@]}"
tail -2 "$WORK/slurm.log"
echo "Slurm run: $((SECONDS - started)) s"

step "check: every non-local job ran as a Slurm job of this run and completed"
grep "Name=$RUNID " /var/log/slurm/jobcomp.log | cut -d' ' -f1,3,5,8,9 || true
python - "$WORK" <<'PY'
"""Compare the plan (dry run) with what Snakemake and Slurm did."""
import json
import re
import sys
from collections import Counter
from pathlib import Path

work = Path(sys.argv[1])
problems = []


def jobs(log):
    """(is_local, rule, outputs) for each job block printed in a Snakemake log."""
    found = []
    for m in re.finditer(r"^\s*(localrule|rule) (\w+):\n((?:\s+\w+: .*\n)+)", log, re.M):
        outputs = re.search(r"^\s+output: (.*)$", m.group(3), re.M)
        found.append((m.group(1) == "localrule", m.group(2), outputs.group(1).split(", ") if outputs else []))
    return found


# The Snakefile's localrules (downloads, aggregation, plots, report): never Slurm jobs.
LOCAL_RULES = {"all", "prepare", "fetch", "aggregate", "compare", "plot", "datacard_report",
               "published", "summarize", "summarize_all", "collect_all", "compare_all",
               "tune_select", "lr_figure", "baselines_folds"}
plan = jobs((work / "slurm-plan.log").read_text())  # a dry run prints every job as "rule"
remote = [j for j in plan if j[1] not in LOCAL_RULES]
local = [j for j in plan if j[1] in LOCAL_RULES]
run_log = (work / "slurm.log").read_text()
ran_local = Counter(rule for is_local, rule, _ in jobs(run_log) if is_local)
if ran_local != Counter(rule for _, rule, _ in local):
    problems.append(f"local jobs: planned {Counter(r for _, r, _ in local)}, ran {ran_local}")

submitted = dict(
    (jid, Path(path))
    for jid, path in re.findall(r"submitted with SLURM jobid (\d+) \(log: (.+)\)\.$", run_log, re.M)
)
states = {}
for line in (work / "slurm-jobs.txt").read_text().splitlines():
    jid, state, cpus, mem, limit, comment = line.split("|")
    states[jid] = (state, int(cpus), comment)
if set(states) != set(submitted):
    problems.append(f"Slurm jobs {sorted(states)} != submitted {sorted(submitted)}")
slurm_outputs = {}
for jid, path in submitted.items():
    state = states.get(jid, ("missing",))[0]
    if state != "COMPLETED":
        problems.append(f"Slurm job {jid}: {state}")
    if not path.exists():
        problems.append(f"Slurm job {jid}: no log {path}")
        continue
    text = path.read_text()
    if not re.search(r"^\d+ of \d+ steps \(100%\) done$", text, re.M):
        problems.append(f"Slurm job {jid}: its log {path} does not end with 100% done")
    for _, rule, outputs in jobs(text):
        for out in outputs:
            slurm_outputs[out] = (jid, rule)
for _, rule, outputs in remote:
    for out in outputs:
        if out not in slurm_outputs:
            problems.append(f"{rule} -> {out}: not produced in any Slurm job of this run")
        elif not (work / "slurm" / out).exists():
            problems.append(f"{out}: missing")
for _, rule, outputs in local:
    for out in outputs:
        if out in slurm_outputs:
            problems.append(f"local rule {rule} ran in Slurm job {slurm_outputs[out][0]}")

threads = {}
for metrics in (work / "slurm/results/runs").glob("**/metrics.json"):
    threads[str(metrics.relative_to(work / "slurm"))] = json.loads(metrics.read_text())["hardware"]["torch_threads"]
train_jobs = {jid for out, (jid, rule) in slurm_outputs.items() if rule == "train"}
cpus = {states[jid][1] for jid in train_jobs if jid in states}
if len(cpus) != 1 or set(threads.values()) != cpus:
    problems.append(f"training: Slurm CPUs {cpus}, torch threads {threads}")
if problems:
    sys.exit("Slurm check failed:\n  " + "\n  ".join(problems))
rules = Counter(rule for _, rule, _ in remote)
print(
    f"{len(remote)} non-local jobs ({dict(rules)}) ran in {len(submitted)} Slurm jobs, all"
    f" COMPLETED, each job's outputs named in its Slurm log; {len(train_jobs)} of them ran"
    f" the {rules['train']} training cells with {cpus.pop()} CPUs = torch threads;"
    f" {len(local)} local jobs ({dict(Counter(r for _, r, _ in local))}) ran locally"
)
PY

step "check: Slurm results equal the local run's"
python "$REPO/.ci/compare_runs.py" "$WORK/local" "$WORK/slurm"

step "failure and retry: $RETRY_CELL with mem_mb=$RETRY_MEM_MB*attempt"
# The profile's set-resources with train's mem_mb lowered (a --set-resources on the
# command line replaces the profile's list, so the rest is passed again).
mapfile -t set_resources < <(
	python - "$REPO/slurm/config.yaml" "$RETRY_MEM_MB" <<'PY'
import sys

import yaml

profile = yaml.safe_load(open(sys.argv[1]))
resources = profile.get("set-resources") or {}
resources.setdefault("train", {})["mem_mb"] = f"{sys.argv[2]}*attempt"
for rule, values in resources.items():
    for name, value in values.items():
        print(f"{rule}:{name}={value}".replace(" ", ""))
PY
)
[[ " ${set_resources[*]} " == *" train:mem_mb=${RETRY_MEM_MB}*attempt "* ]] ||
	fail "could not read set-resources from slurm/config.yaml"
echo "--set-resources ${set_resources[*]}"
# The lowered memory is deliberate (attempt 1 must be killed), so the parse-time cost check
# (cost_check, rnnbench.cost) only warns here instead of refusing the run.
slurm_run retry -d "$WORK/slurm" --configfile "${OVERLAYS[@]}" \
	--config "cost_check={over_budget: warn}" --forcerun "$RETRY_CELL" \
	--set-resources "${set_resources[@]}" -- "$RETRY_CELL"
python - "$WORK" "$RETRY_MEM_MB" <<'PY'
"""Attempt 1 killed by Slurm for its memory and reported with its Slurm log; attempt 2 done."""
import re
import sys
from pathlib import Path

work, mem = Path(sys.argv[1]), int(sys.argv[2])
log = (work / "retry.log").read_text()
jobs = [line.split("|") for line in (work / "retry-jobs.txt").read_text().splitlines()]
submitted = dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: (.+)\)\.$", log, re.M))
problems = []
if [(j[1] in ("FAILED", "OUT_OF_MEMORY", "CANCELLED"), j[3]) for j in jobs] != [
    (True, f"{mem}M"),
    (False, f"{2 * mem}M"),
] or jobs[1][1] != "COMPLETED":
    problems.append(f"expected attempt 1 ({mem}M) failed, attempt 2 ({2 * mem}M) COMPLETED: {jobs}")
else:
    first = submitted.get(jobs[0][0])
    if first is None:
        problems.append(f"Slurm job {jobs[0][0]} not in the Snakemake log")
    else:
        if f"log: {first} (check log file(s) for error details)" not in log:
            problems.append(f"the failure is not reported with its Slurm log {first}")
        slurm_log = Path(first).read_text() if Path(first).exists() else ""
        killed = re.search(r"exceeded memory limit \((\d+) > (\d+)\), being killed", slurm_log)
        if not killed:
            problems.append(f"{first}: no 'exceeded memory limit ... being killed'")
        else:
            print(f"attempt 1: Slurm job {jobs[0][0]} ({jobs[0][1]}, --mem {jobs[0][3]}):"
                  f" {killed.group(0)}")
            print(f"reported as: log: {first}")
if "Trying to restart job" not in log:
    problems.append("no 'Trying to restart job' in the Snakemake log")
if problems:
    sys.exit("retry check failed:\n  " + "\n  ".join(problems))
print(f"attempt 2: Slurm job {jobs[1][0]} (--mem {jobs[1][3]}): {jobs[1][1]}")
PY
grep -m1 -B1 -A1 "message: Error in group" "$WORK/retry.log" || true
python "$REPO/.ci/compare_runs.py" "$WORK/local" "$WORK/slurm"

step "K cells side by side: $K_CELLS training cells in one Slurm job (train_slots: $K_CELLS)"
K_OVERLAYS=("${OVERLAYS[@]}" "$REPO/tests/ci-slurm-k.yaml")
mkdir -p "$WORK/k-alone" "$WORK/k-slurm"
cp "$REPO/config.yaml" "$WORK/k-alone/"
cp "$REPO/config.yaml" "$WORK/k-slurm/"
mapfile -t k_cells < <(snakemake -n -s "$REPO/Snakefile" -d "$WORK/k-alone" --configfile "${K_OVERLAYS[@]}" 2>&1 |
	grep -oP '^\s+output: \K(results/runs/\S+/metrics\.json)(?=,)' | sort -u)
[[ ${#k_cells[@]} == "$K_CELLS" ]] || fail "tests/ci-slurm-k.yaml plans ${#k_cells[@]} cells, not $K_CELLS"
printf '  %s\n' "${k_cells[@]}"
timeout -s INT -k 60 "$SNAKEMAKE_TIMEOUT" snakemake -s "$REPO/Snakefile" -d "$WORK/k-alone" \
	--cores 1 --configfile "${K_OVERLAYS[@]}" -- "${k_cells[@]}" >"$WORK/k-alone.log" 2>&1 ||
	{
		tail -40 "$WORK/k-alone.log"
		fail "the cells alone failed (log: $WORK/k-alone.log)"
	}
slurm_run k-slurm -d "$WORK/k-slurm" --configfile "${K_OVERLAYS[@]}" \
	--resources "train_slots=$K_CELLS" --group-components "train_cells=$K_CELLS" -- "${k_cells[@]}"
python - "$WORK" "$K_CELLS" "$REPO/.ci" "${k_cells[@]}" <<'PY'
"""One Slurm job ran the K cells, asked for K cells' resources, ran them at once, and
every cell's metrics equal those of the same cell run alone."""
import re
import sys
from datetime import datetime
from pathlib import Path

work, k, ci, cells = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
sys.path.insert(0, ci)
from compare_runs import compare_metrics  # noqa: E402

log = (work / "k-slurm.log").read_text()
problems = []
submitted = dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: (.+)\)\.$", log, re.M))
jobs = {line.split("|")[0]: line.split("|") for line in (work / "k-slurm-jobs.txt").read_text().splitlines()}
batches = [jid for jid, path in submitted.items() if "group_train_cells_train" in path]
if len(batches) != 1:
    sys.exit(f"expected one Slurm job for the {k} cells, got {batches} ({submitted})")
jid = batches[0]
_, state, cpus, mem, limit, _ = jobs[jid]
# One cell's request, as the plan printed it in the group's block of the Snakemake log.
cell = dict(re.findall(r"(\w+)=(\d+)", re.search(r"^\s+resources: (.*train_slots=1)$", log, re.M).group(1)))
want = (str(k * int(cell["cpus_per_task"])), f"{k * int(cell['mem_mb'])}M",
        f"{int(cell['runtime']) // 60}:{int(cell['runtime']) % 60:02d}:00")
if state != "COMPLETED" or (cpus, mem, limit) != want:
    problems.append(f"Slurm job {jid}: {state}, asked for {cpus} CPUs, {mem}, {limit};"
                    f" README: {k} x one cell's CPUs and memory, its runtime once = {want}")
# The batch's Slurm log: when each cell started and finished (Snakemake's time stamps).
text = Path(submitted[jid]).read_text()
stamp = r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]\n"
when = lambda s: datetime.strptime(" ".join(s.split()), "%a %b %d %H:%M:%S %Y")  # noqa: E731
started = {}  # Snakemake's jobid in the batch -> (start, first output)
for m in re.finditer(stamp + r"localrule train:\n((?:\s+\w+: .*\n)+)", text, re.M):
    output = re.search(r"^\s+output: (\S+?),", m.group(2), re.M).group(1)
    jobid = re.search(r"^\s+jobid: (\d+)$", m.group(2), re.M).group(1)
    started[jobid] = (when(m.group(1)), output)
finished = {jobid: when(t) for t, jobid in re.findall(stamp + r"Finished jobid: (\d+) \(Rule: train\)", text, re.M)}
if sorted(out for _, out in started.values()) != sorted(cells) or set(finished) != set(started):
    problems.append(f"{submitted[jid]}: cells started {started}, finished {finished}; want {cells}")
else:
    last_start, first_end = max(t for t, _ in started.values()), min(finished.values())
    for jobid, (t, out) in sorted(started.items(), key=lambda item: item[1]):
        print(f"  {out}: {t:%H:%M:%S} - {finished[jobid]:%H:%M:%S}")
    if not last_start < first_end:
        problems.append(f"the cells did not run at the same time: the last started at {last_start:%H:%M:%S},"
                        f" the first ended at {first_end:%H:%M:%S}")
    else:
        print(f"all {k} running at once from {last_start:%H:%M:%S} to {first_end:%H:%M:%S}")
compared = compare_metrics(work / "k-alone", work / "k-slurm", problems)
if compared != k:
    problems.append(f"compared {compared} metrics.json files, not {k}")
if problems:
    sys.exit("K-cells check failed:\n  " + "\n  ".join(problems))
print(f"Slurm job {jid}: {state}, {cpus} CPUs, {mem}, {limit} = {k} x one cell's"
      f" ({cell['cpus_per_task']} CPU, {cell['mem_mb']} MB, {cell['runtime']} min, once);"
      f" {compared} cells' metrics.json equal to the same cells run alone")
PY

step "Slurm proof passed"
