#!/usr/bin/env python3
"""Configuration problems are reported with file:line.

* the tutorial config plus an unknown key and an invalid value: pathflow
  starts anyway (as nfacctd does, skipping the lines) and warns on stderr
  naming file:line for both; with --strict it exits non-zero;
* `plugins: mysql`: startup stops with a message naming file and line;
* `pathflow check-config -f` says the same: status 0 for the first config,
  non-zero with --strict, non-zero for the mysql one."""
import re
import signal

import lib


def lines_of(path, pattern):
    with open(path) as f:
        return [i for i, l in enumerate(f, 1) if re.match(pattern, l)]


def names(text, path, line):
    """Does `text` name path:line (full path or file name)?"""
    return ("%s:%d" % (path, line)) in text or re.search(r"(^|[\s/'\"(\[])%s:%d\b" % (
        re.escape(path.rsplit("/", 1)[-1]), line), text, re.M) is not None


def case(c):
    with open(lib.TUTORIAL_CONF) as f:
        tutorial = f.read()
    bad = c.path("bad.conf")
    with open(bad, "w") as f:
        f.write(tutorial.rstrip("\n") + "\nfrobnicate_widgets: true\nsql_refresh_time: abc\n")
    unknown_line = lines_of(bad, r"frobnicate_widgets:")[0]
    invalid_line = lines_of(bad, r"sql_refresh_time: abc")[0]
    mysql = c.derive_config("mysql.conf", {"plugins": "mysql"})
    mysql_line = lines_of(mysql, r"plugins: mysql")[0]

    # collect with the bad config: runs, warns with file:line.
    pf, port, mport = c.start_pathflow(c.path("a.db"), conf=bad, name="pathflow-bad")
    lib.time.sleep(1.0)
    c.check(pf.alive(), "pathflow with unknown key + invalid value did not keep running")
    rc = c.stop_pathflow(pf)
    err = pf.stderr()
    c.check(names(err, bad, unknown_line), "stderr does not name %s:%d (unknown key): %r" % (bad, unknown_line, lib.tail(err, 6)))
    c.check(names(err, bad, invalid_line), "stderr does not name %s:%d (invalid value): %r" % (bad, invalid_line, lib.tail(err, 6)))

    # --strict: refuses.
    ps, _, _ = c.start_pathflow(c.path("b.db"), conf=bad, name="pathflow-strict", extra=["--strict"], wait=False)
    rc = ps.wait(20)
    if rc is None:
        ps.stop()
        c.check(False, "pathflow --strict with skipped lines was still running after 20 s")
    else:
        c.check(rc != 0, "pathflow --strict with skipped lines exited 0")
        err = ps.stderr()
        c.check(names(err, bad, unknown_line), "--strict: stderr does not name %s:%d: %r" % (bad, unknown_line, lib.tail(err)))

    # plugins: mysql: startup stops, naming file:line.
    pm, _, _ = c.start_pathflow(c.path("c.db"), conf=mysql, name="pathflow-mysql", wait=False)
    rc = pm.wait(20)
    if rc is None:
        pm.stop()
        c.check(False, "pathflow with plugins: mysql was still running after 20 s")
    else:
        err = pm.stderr() + pm.stdout()
        c.check(rc != 0, "pathflow with plugins: mysql exited 0")
        c.check(names(err, mysql, mysql_line), "plugins: mysql: message does not name %s:%d: %r" % (mysql, mysql_line, lib.tail(err)))
        c.check("mysql" in err, "plugins: mysql: message does not mention mysql: %r" % lib.tail(err))

    # check-config.
    def check_config(conf, *extra):
        r = lib.run([lib.PATHFLOW, "check-config", "-f", conf] + list(extra), timeout=30, what="check-config", check=False)
        return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

    rc, out = check_config(lib.TUTORIAL_CONF)
    c.check(rc == 0, "check-config on the tutorial config: status %d: %r" % (rc, lib.tail(out)))
    rc, out = check_config(bad)
    c.check(rc == 0, "check-config on bad.conf: status %d (skipped lines are not fatal)" % rc)
    c.check(names(out, bad, unknown_line) and names(out, bad, invalid_line),
            "check-config does not name %s:%d and :%d: %r" % (bad, unknown_line, invalid_line, lib.tail(out, 6)))
    rc, out = check_config(bad, "--strict")
    c.check(rc != 0, "check-config --strict on bad.conf exited 0")
    rc, out = check_config(mysql)
    c.check(rc != 0, "check-config on mysql.conf exited 0")
    c.check(names(out, mysql, mysql_line), "check-config on mysql.conf does not name %s:%d: %r" % (mysql, mysql_line, lib.tail(out)))


lib.main(case)
