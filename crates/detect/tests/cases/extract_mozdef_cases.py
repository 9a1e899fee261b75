#!/usr/bin/env python3
"""Extracts MozDef's alert test cases (tests/alerts/test_*.py of mozilla/MozDef) into the
case-file format of `mozdef/alert_cases.json`, without Elasticsearch or RabbitMQ.

Usage: extract_mozdef_cases.py MOZDEF_CHECKOUT OUT.json [--tests DIR] [module to leave out ...]

`mozdef_more.json` here was made with the three modules of the public case file left out:
bruteforce_ssh proxy_drop_ip deadman

With `--tests DIR` the test modules are DIR/test_*.py instead of the checkout's
tests/alerts/test_*.py; they are written against the same harness (AlertTestSuite,
PositiveAlertTestCase, NegativeAlertTestCase, imported relatively as upstream's are) and are
loaded as members of the checkout's `tests.alerts` package, so that they also run unchanged in
MozDef's own test suite. `mozdef_ported.json` was made this way from `ported/`, the cases
written for the alerts that have no upstream test:
extract_mozdef_cases.py MOZDEF_CHECKOUT mozdef_ported.json --tests ported

Faithful to the upstream harness (AlertTestSuite.test_alert_test_case): each event is
dict_merge(dict_merge(generate_default_event(), default_event), case_event), the timestamp
lambdas are evaluated with the clock frozen at 2017-01-01T01:00:00+00:00, the random source
address of generate_default_event comes from a seeded RNG (paths listed in random_fields).
"""
import copy
import datetime as dt
import glob
import importlib
import importlib.util
import json
import os
import random
import sys
import types

FROZEN = dt.datetime(2017, 1, 1, 1, 0, 0, tzinfo=dt.timezone.utc)


def stub_modules(root):
    sys.path.insert(0, root)
    # freezegun / mock are only used to decorate the (not run) test method.
    fg = types.ModuleType("freezegun")
    fg.freeze_time = lambda *a, **k: (lambda f: f)
    sys.modules["freezegun"] = fg
    import unittest.mock as um
    sys.modules["mock"] = um
    rng = random.Random(14)

    class UnitTestSuite(object):
        def random_ip(self):
            return ".".join(str(rng.randint(1, 255)) for _ in range(4))

        def generate_default_event(self):
            ts = UnitTestSuite.current_timestamp_lambda()
            return {"_index": "events", "_source": {
                "category": "excategory", "utctimestamp": ts, "receivedtimestamp": ts,
                "mozdefhostname": "mozdefhost", "hostname": "exhostname", "severity": "NOTICE",
                "source": "exsource", "summary": "Example summary", "tags": ["tag1", "tag2"],
                "details": {"sourceipaddress": self.random_ip(), "hostname": "exhostname"}}}

        @staticmethod
        def current_timestamp():
            return FROZEN.isoformat()

        @staticmethod
        def subtract_from_timestamp(date_timedelta, timestamp=None):
            base = FROZEN if timestamp is None else dt.datetime.fromisoformat(timestamp)
            return (base - dt.timedelta(**date_timedelta)).isoformat()

        @staticmethod
        def create_timestamp_from_now(hour, minute, second):
            return FROZEN.replace(hour=hour, minute=minute, second=second).isoformat()

        @staticmethod
        def current_timestamp_lambda():
            return lambda: UnitTestSuite.current_timestamp()

        @staticmethod
        def subtract_from_timestamp_lambda(date_timedelta, timestamp=None):
            return lambda: UnitTestSuite.subtract_from_timestamp(date_timedelta, timestamp)

        @staticmethod
        def create_timestamp_from_now_lambda(hour, minute, second):
            return lambda: UnitTestSuite.create_timestamp_from_now(hour, minute, second)

    uts = types.ModuleType("tests.unit_test_suite")
    uts.UnitTestSuite = UnitTestSuite
    sys.modules["tests.unit_test_suite"] = uts


def evaluate(v):
    if callable(v):
        return v()
    if isinstance(v, dict):
        return {k: evaluate(x) for k, x in v.items()}
    if isinstance(v, list):
        return [evaluate(x) for x in v]
    return v


def main():
    root, out = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    tests_dir = None
    if rest[:1] == ["--tests"]:
        if len(rest) < 2:
            sys.exit("--tests needs a directory")
        tests_dir, rest = os.path.abspath(rest[1]), rest[2:]
    # Modules to leave out (e.g. those of the public case file).
    skip = set(rest)
    stub_modules(root)
    from tests.alerts.alert_test_suite import AlertTestSuite
    alerts = []
    src_dir = tests_dir or os.path.join(root, "tests/alerts")
    for path in sorted(glob.glob(os.path.join(src_dir, "test_*.py"))):
        mod = os.path.basename(path)[:-3]
        if mod[5:] in skip:
            continue
        if mod == "test_geomodel_location":
            continue
        if tests_dir:
            spec = importlib.util.spec_from_file_location("tests.alerts." + mod, path)
            m = importlib.util.module_from_spec(spec)
            sys.modules["tests.alerts." + mod] = m
            spec.loader.exec_module(m)
        else:
            m = importlib.import_module("tests.alerts." + mod)
        for cls in vars(m).values():
            if not (isinstance(cls, type) and issubclass(cls, AlertTestSuite) and cls is not AlertTestSuite):
                continue
            suite = cls()
            classname = getattr(cls, "alert_classname", None) or cls.__name__[4:]
            cases = []
            for tc in cls.test_cases:
                events = []
                random_fields = []
                for ev in tc.events:
                    base = suite.generate_default_event()
                    merged = suite.dict_merge(suite.dict_merge(base, copy.deepcopy(cls.default_event)), copy.deepcopy(ev))
                    if merged["_source"]["details"].get("sourceipaddress") == base["_source"]["details"].get("sourceipaddress") \
                            and "sourceipaddress" not in repr(cls.default_event) + repr(ev):
                        random_fields.append(["_source.details.sourceipaddress"])
                    events.append(evaluate(merged))
                case = {"description": tc.description, "positive": tc.expected_test_result, "events": events}
                if random_fields:
                    case["random_fields"] = random_fields[:1]
                if tc.expected_test_result:
                    exp = evaluate(copy.deepcopy(tc.expected_alert))
                    # What the harness adds before comparing (verify_expected_alert).
                    exp.setdefault("channel", None)
                    exp["notify_mozdefbot"] = not (exp["severity"] in ("NOTICE", "INFO") and exp["channel"] is None)
                    case["expected_alert"] = exp
                    if not getattr(cls, "deadman", False):
                        case["expected_alert_event_count"] = getattr(cls, "num_samples", len(events))
                cases.append(case)
            alerts.append({
                "test_module": ("%s/%s.py" % (os.path.basename(tests_dir), mod)) if tests_dir
                else "tests/alerts/%s.py" % mod, "test_class": cls.__name__,
                "alert_classname": classname, "alert_filename": "alerts/%s.py" % getattr(cls, "alert_filename", mod[5:]),
                "deadman": bool(getattr(cls, "deadman", False)), "frozen_now": FROZEN.isoformat(),
                "cases": cases})
    with open(out, "w") as f:
        source = "mozilla/MozDef @ d7d4dd1cd898bb4eeb59d014bd5bcfe96554a10f (MPL-2.0), tests/alerts"
        if tests_dir:
            source = ("written for ferrodef from the logic of mozilla/MozDef @ "
                      "d7d4dd1cd898bb4eeb59d014bd5bcfe96554a10f alerts/*.py (no upstream test), "
                      "in the format of its tests/alerts harness: crates/detect/tests/cases/ported")
        json.dump({"format": "see mozdef/SOURCE.md", "frozen_now": FROZEN.isoformat(),
                   "source": source,
                   "alerts": alerts}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
