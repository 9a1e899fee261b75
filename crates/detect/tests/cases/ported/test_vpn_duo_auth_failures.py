# Cases for MozDef's alerts/vpn_duo_auth_failures.py (AlertManyVPNDuoAuthFailures), which has no upstream test: written for
# ferrodef in the format of MozDef's tests/alerts harness (AlertTestSuite), from the class's
# logic. Each description names the line of alerts/vpn_duo_auth_failures.py it checks. Extract with
# ../extract_mozdef_cases.py (see there).

from .positive_alert_test_case import PositiveAlertTestCase
from .negative_alert_test_case import NegativeAlertTestCase

from .alert_test_suite import AlertTestSuite


class TestAlertManyVPNDuoAuthFailures(AlertTestSuite):
    alert_filename = "vpn_duo_auth_failures"
    alert_classname = "AlertManyVPNDuoAuthFailures"
    # searchEventsAggregated(..., samplesLimit=5): an alert carries at most 5 events.
    num_samples = 5

    default_event = {
        "_source": {
            "category": "event",
            "tags": ["duosecurity"],
            "hostname": "duo.example.com",
            "summary": "authentication FAILURE summary_ignored",
            "details": {
                "integration": "global and external openvpn",
                "result": "FAILURE",
                "username": "jdoe@example.com",
                "ip": "1.2.3.4",
                "factor": "push",
            },
        }
    }

    default_alert = {
        "category": "openvpn",
        "tags": ["vpn", "auth", "duo"],
        "severity": "NOTICE",
        "summary": "5 openvpn authentication attempts by jdoe@example.com 1.2.3.4 (5 hits)",
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="lines 17-20 (category event, tag duosecurity, integration 'global and external openvpn', result FAILURE), line 28 walkAggregations(threshold=5): 5 failures of one user; lines 35-42 summary '{count} openvpn authentication attempts by {username}' + ' {ip} ({n} hits)'",
            events=AlertTestSuite.create_events(default_event, 5),
            expected_alert=default_alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 7)
    for event in events[4:]:
        event['_source']['details']['ip'] = '5.6.7.8'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = '7 openvpn authentication attempts by jdoe@example.com 1.2.3.4 (4 hits) 5.6.7.8 (3 hits)'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 40 mostCommon(allevents, details.ip): every event of the group is counted (7), most common address first; line 26 samplesLimit=5",
            events=events,
            expected_alert=alert
        )
    )

    events = []
    for n, ip in zip([6, 5, 4, 3, 2, 1], ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']):
        for _ in range(n):
            event = AlertTestSuite.create_event(default_event)
            event['_source']['details']['ip'] = ip
            events.append(event)
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = ('21 openvpn authentication attempts by jdoe@example.com 10.0.0.1 (6 hits) 10.0.0.2 (5 hits) '
                        '10.0.0.3 (4 hits) 10.0.0.4 (3 hits) 10.0.0.5 (2 hits)')
    test_cases.append(
        PositiveAlertTestCase(
            description="line 41 sourceip[:5]: only the five most common addresses are listed",
            events=events,
            expected_alert=alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['details']['ip'] = None
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = '5 openvpn authentication attempts by jdoe@example.com None (5 hits)'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 40 mostCommon: a details.ip that is present but null is counted as None",
            events=events,
            expected_alert=alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 7)
    for event in events[5:]:
        event['_source']['details']['username'] = 'other@example.com'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 26 searchEventsAggregated('details.username'): 5 failures of one user fire, 2 of another do not",
            events=events,
            expected_alert=default_alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['tags'] = ['duosecurity', 'vpn']
    test_cases.append(
        PositiveAlertTestCase(
            description="line 18 TermMatch('tags', 'duosecurity'): one of several tags",
            events=events,
            expected_alert=default_alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 1})
        event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 1})
    test_cases.append(
        PositiveAlertTestCase(
            description="line 14 SearchQuery(minutes=2): events 1 minute old are inside the window",
            events=events,
            expected_alert=default_alert
        )
    )

    test_cases.append(
        NegativeAlertTestCase(
            description="line 28 walkAggregations(threshold=5): 4 failures are below the threshold",
            events=AlertTestSuite.create_events(default_event, 4),
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    events[0]['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 3})
    events[0]['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 3})
    test_cases.append(
        NegativeAlertTestCase(
            description="lines 14 and 28: of 5 failures one is 3 minutes old, so 4 are in the window, below the threshold",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 8)
    for i, event in enumerate(events):
        event['_source']['details']['username'] = 'user%d@example.com' % (i % 2)
    test_cases.append(
        NegativeAlertTestCase(
            description="line 26: 8 failures split over two users (4 each) are below the threshold per user",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 3})
        event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 3})
    test_cases.append(
        NegativeAlertTestCase(
            description="line 14 SearchQuery(minutes=2): events 3 minutes old are outside the window",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['category'] = 'authentication'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 17 TermMatch('category', 'event'): another category",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['tags'] = ['tag1', 'tag2']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 18 TermMatch('tags', 'duosecurity'): events without the tag",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['details']['integration'] = 'global and external ssh'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 PhraseMatch('details.integration'): another Duo integration",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['details']['integration'] = 'global and external openvpn (staging)'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 PhraseMatch on a keyword field is the whole value: a longer integration name",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['details']['result'] = 'SUCCESS'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 PhraseMatch('details.result', 'FAILURE'): successful logins",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['details']['result'] = 'failure'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 PhraseMatch on a keyword field is case-sensitive: result 'failure'",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['details']['username'] = None
    test_cases.append(
        NegativeAlertTestCase(
            description="line 26 searchEventsAggregated adds ExistsMatch('details.username'): no user name",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events:
        event['_source']['alert_names'] = ['AlertManyVPNDuoAuthFailures']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 23 filtersManual: events that already fed this alert are left out",
            events=events,
        )
    )


class TestAlertManyVPNDuoAuthFailuresWithoutIp(AlertTestSuite):
    alert_filename = "vpn_duo_auth_failures"
    alert_classname = "AlertManyVPNDuoAuthFailures"
    num_samples = 5

    # No details.ip (dict_merge cannot remove keys of the default).
    default_event = {
        "_source": {
            "category": "event",
            "tags": ["duosecurity"],
            "details": {
                "integration": "global and external openvpn",
                "result": "FAILURE",
                "username": "jdoe@example.com",
            },
        }
    }

    default_alert = {
        "category": "openvpn",
        "tags": ["vpn", "auth", "duo"],
        "severity": "NOTICE",
        "summary": "5 openvpn authentication attempts by jdoe@example.com",
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="lines 40-42 mostCommon(allevents, details.ip): no event has details.ip, no address is listed",
            events=AlertTestSuite.create_events(default_event, 5),
            expected_alert=default_alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 5)
    for event in events[:3]:
        event['_source']['details']['ip'] = '1.2.3.4'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = '5 openvpn authentication attempts by jdoe@example.com 1.2.3.4 (3 hits)'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 40 mostCommon: events without details.ip count for the group (5) but add no address",
            events=events,
            expected_alert=alert
        )
    )
