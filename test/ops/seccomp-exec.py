#!/usr/bin/python3
# Applies a seccomp allow-list, as systemd's SystemCallFilter= does (anything else kills the
# process with SIGSYS), then execs the given command. Used by service.test.ts to start the
# daemon under exactly the unit's filter.
#   seccomp-exec.py SYSCALLS_FILE -- command args...
import os
import sys

import seccomp

def main() -> None:
    names_file, rest = sys.argv[1], sys.argv[sys.argv.index('--') + 1:]
    allowed = [line.strip() for line in open(names_file) if line.strip()]
    rules = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
    unknown = 0
    for name in allowed:
        try:
            rules.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            unknown += 1  # not a syscall of this architecture: systemd skips it too
    rules.load()
    os.execv(rest[0], rest)

main()
