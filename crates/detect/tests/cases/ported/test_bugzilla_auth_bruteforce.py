# Cases for MozDef's alerts/bugzilla_auth_bruteforce.py (AlertBugzillaPBruteforce), which has no upstream test: written for
# ferrodef in the format of MozDef's tests/alerts harness (AlertTestSuite), from the class's
# logic. Each description names the line of alerts/bugzilla_auth_bruteforce.py it checks. Extract with
# ../extract_mozdef_cases.py (see there).

from .positive_alert_test_case import PositiveAlertTestCase
from .negative_alert_test_case import NegativeAlertTestCase

from .alert_test_suite import AlertTestSuite


class TestAlertBugzillaPBruteforce(AlertTestSuite):
    alert_filename = "bugzilla_auth_bruteforce"
    alert_classname = "AlertBugzillaPBruteforce"
    # One alert per event (walkEvents), each carrying its event.
    num_samples = 1

    default_event = {
        "_source": {
            "category": "bro",
            "source": "notice",
            "hostname": "nsm1.example.com",
            "summary": "10.9.8.7 had 80 failed logins on bugzilla.example.com in 10m",
            "details": {
                "note": "BugzBruteforcing::HTTP_BugzBruteforcing_Attacker",
                "sourceipaddress": "10.9.8.7",
            },
        }
    }

    default_alert = {
        "category": "httperrors",
        "tags": ["http"],
        "severity": "NOTICE",
        "summary": "nsm1.example.com 10.9.8.7 had 80 failed logins on bugzilla.example.com in 10m",
        "url": "https://www.mozilla.org",
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="line 18-20 (category bro, source notice, details.note phrase BugzBruteforcing::HTTP_BugzBruteforcing_Attacker) and line 38 (summary '{hostname} {summary}'), line 31-33 (severity = 'NOTICE'), line 35 (url from bugzilla_auth_bruteforce.conf)",
            events=[AlertTestSuite.create_event(default_event)],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['hostname'] = 'nsm2.example.com'
    event['_source']['summary'] = '10.1.1.1 notice text'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = 'nsm2.example.com 10.1.1.1 notice text'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 38: the summary is the event's hostname, a space, the event's summary",
            events=[event],
            expected_alert=alert
        )
    )

    test_cases.append(
        PositiveAlertTestCase(
            description="walkEvents (line 23+): two matching events give two alerts, each with its own event",
            events=AlertTestSuite.create_events(default_event, 2),
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 14})
    event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 14})
    test_cases.append(
        PositiveAlertTestCase(
            description="line 15 SearchQuery(minutes=15): an event 14 minutes old is inside the window",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'hours': 3})
    test_cases.append(
        PositiveAlertTestCase(
            description="line 15 SearchQuery(minutes=15): an old utctimestamp with a recent receivedtimestamp is inside the window (either time)",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 16})
    event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 16})
    test_cases.append(
        NegativeAlertTestCase(
            description="line 15 SearchQuery(minutes=15): an event 16 minutes old is outside the window",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['category'] = 'syslog'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 18 TermMatch('category', 'bro'): another category",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['source'] = 'intel'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 TermMatch('source', 'notice'): another source",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['note'] = 'AuthBruteforcing::HTTP_AuthBruteforcing_Attacker'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 PhraseMatch('details.note'): another Bro notice",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['note'] = 'BugzBruteforcing::HTTP_BugzBruteforcing_Attacker_Extra'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 PhraseMatch('details.note') on a keyword field is the whole value: a longer note",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['note'] = 'bugzbruteforcing::http_bugzbruteforcing_attacker'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 PhraseMatch('details.note') on a keyword field is case-sensitive",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['alert_names'] = ['AlertBugzillaPBruteforce']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 23 filtersManual: an event that already fed this alert is left out",
            events=[event],
        )
    )
