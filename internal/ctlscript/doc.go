// Package ctlscript reads a deployment's control script (deploy.sh, xxctl.sh, or the
// restart: command of imgup.yaml) with a real shell parser, mvdan.cc/sh/v3, and
// dry-runs it in that module's interpreter to learn what the restart will do.
//
// The dry run runs nothing that changes anything and never writes a file:
//   - every docker-compose, docker compose and docker call is recorded (arguments,
//     folder, the environment the script exported, --env-file, --profile, --pull) and
//     answered harmlessly: compose version succeeds, queries like docker ps print
//     nothing;
//   - what reaches the network is answered as an offline machine does, with failure
//     (Result.Offline): docker pull, push and login, compose pull, up/run/create
//     --pull always, curl, wget, git's clone, pull and fetch, package managers' install
//     and update, ping, nc, ssh;
//   - dirname, basename, readlink -f, realpath, seq, id, cat (of a file inside the
//     root), ls and the shell's builtins (pwd, echo, printf, true, false, test, cd...)
//     are computed; sleep returns at once;
//   - the text tools (grep, sed, awk, cut, sort, head, tail, tr, uniq, wc, tac, rev,
//     paste) and the pure reading ones (the checksums, stat, find without actions,
//     date) run for real, as the host's own binaries (tools.go): sed with --sandbox,
//     awk only as gawk --sandbox, writing forms refused before anything runs, file
//     operands only regular files inside the root, an empty environment, bounded time,
//     output and memory. Where the host has no sandboxed form (mawk, busybox), the
//     built-in forms of awk's print and sed's s are computed, and the rest is a note;
//   - a command whose input comes from a command the dry run did not run (a stand-in)
//     and that fails is taken as succeeding, with a note: no stop is one a stand-in
//     caused;
//   - read and select on the script's own standard input (a terminal in a person's
//     run, nothing in imgup's) meet its end and fail as bash's do: Result.Prompts;
//   - a script inside the root that the script runs (./scripts/x.sh, bash x.sh) is
//     dry-run in turn; every other command is recorded as not run and succeeds with
//     no output;
//   - files are read only inside the root, through the caller's bounded reader; a
//     folder, a FIFO, a device, a missing file or one outside the root is a note;
//   - a time, step and memory budget ends any script: reaching it is a note;
//   - a run that ends with a status other than 0 says where (Result.ExitAt), and
//     Result.Output keeps the last lines it printed.
//
// What it cannot learn is a note, never an error: a reading of the script is advice,
// and the running containers' labels answer first.
package ctlscript
