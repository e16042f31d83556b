// Package ctlscript reads a deployment's control script (deploy.sh, xxctl.sh, or the
// restart: command of imgup.yaml) with a real shell parser, mvdan.cc/sh/v3, and
// dry-runs it in that module's interpreter to learn what the restart will do.
//
// The dry run never runs anything and never writes a file:
//   - every docker-compose, docker compose and docker call is recorded (arguments,
//     folder, the COMPOSE_* environment) and answered harmlessly: compose version
//     succeeds, queries like docker ps print nothing;
//   - dirname, basename, readlink -f, realpath, seq, id, cat (of a file inside the root),
//     the text filters scripts read configuration with, in their common forms (grep,
//     cut, awk's print, sed's s, sort, head, tail, tr, uniq, wc -l, ls), and the shell's
//     builtins (pwd, echo, printf, true, false, test, cd...) are computed; sleep returns
//     at once and read meets the end of its input;
//   - a script inside the root that the script runs (./scripts/x.sh, bash x.sh) is
//     dry-run in turn; every other command is recorded as not run and succeeds with
//     no output;
//   - files are read only inside the root, through the caller's bounded reader; a
//     folder, a FIFO, a device, a missing file or one outside the root is a note;
//   - a time, step and memory budget ends any script: reaching it is a note.
//
// What it cannot learn is a note, never an error: a reading of the script is advice,
// and the running containers' labels answer first.
package ctlscript
