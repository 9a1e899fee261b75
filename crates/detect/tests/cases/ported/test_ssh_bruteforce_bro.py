# Cases for MozDef's alerts/ssh_bruteforce_bro.py (AlertSSHManyConns), which has no upstream test: written for
# ferrodef in the format of MozDef's tests/alerts harness (AlertTestSuite), from the class's
# logic. Each description names the line of alerts/ssh_bruteforce_bro.py it checks. Extract with
# ../extract_mozdef_cases.py (see there).

from .positive_alert_test_case import PositiveAlertTestCase
from .negative_alert_test_case import NegativeAlertTestCase

from .alert_test_suite import AlertTestSuite


class TestAlertSSHManyConns(AlertTestSuite):
    alert_filename = "ssh_bruteforce_bro"
    alert_classname = "AlertSSHManyConns"
    # One alert per event (walkEvents), each carrying its event.
    num_samples = 1

    default_event = {
        "_source": {
            "category": "bro",
            "source": "notice",
            "hostname": "nsm1.example.com",
            "summary": "10.9.8.7 appears to be guessing SSH passwords (seen in 30 connections).",
            "details": {
                "note": "SSH::Password_Guessing",
                "sourceipaddress": "10.9.8.7",
            },
        }
    }

    default_alert = {
        "category": "bruteforce",
        "tags": ["http"],
        "severity": "NOTICE",
        "summary": "nsm1.example.com 10.9.8.7 appears to be guessing SSH passwords (seen in 30 connections).",
        "url": "https://www.mozilla.org",
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="line 19-21 (category bro, source notice, details.note phrase SSH::Password_Guessing) and line 39 (summary '{hostname} {summary}'), line 32-34 (severity = 'NOTICE'), line 36 (url from ssh_bruteforce_bro.conf)",
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
            description="line 39: the summary is the event's hostname, a space, the event's summary",
            events=[event],
            expected_alert=alert
        )
    )

    test_cases.append(
        PositiveAlertTestCase(
            description="walkEvents (line 24+): two matching events give two alerts, each with its own event",
            events=AlertTestSuite.create_events(default_event, 2),
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 14})
    event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 14})
    test_cases.append(
        PositiveAlertTestCase(
            description="line 16 SearchQuery(minutes=15): an event 14 minutes old is inside the window",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'hours': 3})
    test_cases.append(
        PositiveAlertTestCase(
            description="line 16 SearchQuery(minutes=15): an old utctimestamp with a recent receivedtimestamp is inside the window (either time)",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 16})
    event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 16})
    test_cases.append(
        NegativeAlertTestCase(
            description="line 16 SearchQuery(minutes=15): an event 16 minutes old is outside the window",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['category'] = 'syslog'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 TermMatch('category', 'bro'): another category",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['source'] = 'intel'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 TermMatch('source', 'notice'): another source",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['note'] = 'Scan::Address_Scan'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 21 PhraseMatch('details.note'): another Bro notice",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['note'] = 'SSH::Password_Guessing_Extra'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 21 PhraseMatch('details.note') on a keyword field is the whole value: a longer note",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['note'] = 'ssh::password_guessing'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 21 PhraseMatch('details.note') on a keyword field is case-sensitive",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['alert_names'] = ['AlertSSHManyConns']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 24 filtersManual: an event that already fed this alert is left out",
            events=[event],
        )
    )
