#!/usr/bin/env python3
"""Peer benchmark: MozDef's own normalization (mq/esworker_eventtask.py keyMapping + toUTC),
run on the same four-event mix as ferrodef's `normalize` criterion bench.

Usage: mozdef_keymapping.py MOZDEF_GIT_DIR [N]
MOZDEF_GIT_DIR is a git directory of mozilla/MozDef (e.g. a bare clone); MozDef's code is read
from it at run time, not kept in this repository. Needs: pip install python-dateutil pytz "tzlocal<3" (MozDef used the pytz API of tzlocal 2)
"""
import ast
import json
import subprocess
import sys
import time
import types
from datetime import datetime


def show(git_dir, path):
    return subprocess.run(["git", "--git-dir", git_dir, "show", "HEAD:" + path],
                          check=True, capture_output=True, text=True).stdout


def load(git_dir):
    ns = {}
    exec(show(git_dir, "mozdef_util/mozdef_util/utilities/toUTC.py"), ns)
    exec(show(git_dir, "mozdef_util/mozdef_util/utilities/to_unicode.py"), ns)
    exec(show(git_dir, "mozdef_util/mozdef_util/utilities/remove_at.py"), ns)
    src = show(git_dir, "mq/esworker_eventtask.py")
    tree = ast.parse(src)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "keyMapping")
    fn_src = ast.get_source_segment(src, fn)
    ns.update(datetime=datetime, options=types.SimpleNamespace(mozdefhostname="bench"),
              logger=types.SimpleNamespace(exception=print, error=print))
    exec(fn_src, ns)
    return ns["keyMapping"]


MIX = [
    {"utctimestamp": "2026-11-22T10:00:00.123Z", "category": "syslog", "hostname": "bastion-1.example.com",
     "processname": "sshd", "processid": "4242", "severity": "INFO", "tags": ["syslog"],
     "summary": "Failed password for invalid user admin from 198.51.100.23 port 52311 ssh2",
     "details": {"program": "sshd", "sourceipaddress": "198.51.100.23", "username": "admin"}},
    {"timestamp": 1763805600, "type": "syslog", "host": "web-1", "program": "sudo", "level": "notice",
     "message": "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"},
    {"utctimestamp": "2026-11-22T10:00:01Z", "category": "proxy", "hostname": "proxy-1", "summary": "TCP_DENIED CONNECT",
     "details": {"sourceipaddress": "10.1.2.3", "destination": "http://evil.example.com:8443/", "proxyaction": "TCP_DENIED",
                 "method": "CONNECT", "status": 403, "bytes": 0, "useragent": "curl/8.5.0"}},
    {"@timestamp": "2026-11-22 10:00:02", "category": "web", "source_host": "web-2", "summary": "GET /index.html 200",
     "fields": {"sourceipaddress": "203.0.113.9", "method": "GET", "url": "/index.html", "status": 200, "bytes": 5120}},
]


def main():
    key_mapping = load(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    for e in MIX:
        assert key_mapping(dict(e)) is not None
    start = time.perf_counter()
    for _ in range(n):
        for e in MIX:
            json.dumps(key_mapping(dict(e)))
    secs = time.perf_counter() - start
    print(json.dumps({"peer": "mozdef keyMapping (python %s)" % sys.version.split()[0],
                      "events": n * len(MIX), "seconds": secs, "events_per_second": n * len(MIX) / secs}))


if __name__ == "__main__":
    main()
