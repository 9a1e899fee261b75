# Cases for MozDef's alerts/multiple_intel_hits.py (AlertMultipleIntelHits), which has no upstream test: written for
# ferrodef in the format of MozDef's tests/alerts harness (AlertTestSuite), from the class's
# logic. Each description names the line of alerts/multiple_intel_hits.py it checks. Extract with
# ../extract_mozdef_cases.py (see there).

from .positive_alert_test_case import PositiveAlertTestCase
from .negative_alert_test_case import NegativeAlertTestCase

from .alert_test_suite import AlertTestSuite


def intel_summary(count, hostname, indicator, samples):
    # alerts/multiple_intel_hits.py lines 40-60, written out: the double space comes from
    # formatting ' Bro intel match for indicator:' after '{1} '.
    return '{0} {1}  Bro intel match for indicator: on {2} sample hosts that hit it: {3}'.format(
        count, hostname, indicator, ''.join('{0} in {1} '.format(a, w) for a, w in samples))


class TestAlertMultipleIntelHits(AlertTestSuite):
    alert_filename = "multiple_intel_hits"
    alert_classname = "AlertMultipleIntelHits"
    # searchEventsAggregated(..., samplesLimit=10): an alert carries at most 10 events.
    num_samples = 10

    default_event = {
        "_source": {
            "category": "bro",
            "source": "intel",
            "hostname": "sensor1",
            "summary": "Bro intel hit",
            "details": {
                "seenindicator": "evil.example.com",
                "seenwhere": "DNS::IN_REQUEST",
                "sourceipaddress": "10.0.0.5",
                "destinationipaddress": "10.0.0.53",
            },
        }
    }

    default_alert = {
        "category": "bro",
        "tags": ["nsm,bro,intel"],
        "severity": "NOTICE",
        "summary": intel_summary(10, 'sensor1', 'evil.example.com', [('10.0.0.5', 'DNS::IN_REQUEST')] * 3),
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="lines 17-20 (category bro, source intel, a details.seenindicator, hostname sensor1/2/3), line 28 walkAggregations(threshold=10); lines 40-60 summary, DNS::IN_REQUEST gives the source address (line 54); lines 35-37 (bro, ['nsm,bro,intel'], NOTICE)",
            events=AlertTestSuite.create_events(default_event, 10),
            expected_alert=default_alert
        )
    )

    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = intel_summary(12, 'sensor1', 'evil.example.com', [('10.0.0.5', 'DNS::IN_REQUEST')] * 3)
    test_cases.append(
        PositiveAlertTestCase(
            description="line 40 aggreg['count'] counts every event (12), line 26 samplesLimit=10 keeps 10, line 43 the summary lists the first 3 samples",
            events=AlertTestSuite.create_events(default_event, 12),
            expected_alert=alert
        )
    )

    for where, addr, line in [('Conn::IN_RESP', '10.0.0.5', 54), ('HTTP::IN_HOST_HEADER', '10.0.0.5', 54),
                              ('Conn::IN_ORIG', '10.0.0.53', 58), ('HTTP::IN_X_CLUSTER_CLIENT_IP_HEADER', '10.0.0.53', 58),
                              ('HTTP::IN_X_FORWARDED_FOR_HEADER', '10.0.0.53', 58), ('SSL::IN_SERVER_NAME', '', 47)]:
        events = AlertTestSuite.create_events(default_event, 10)
        for event in events:
            event['_source']['details']['seenwhere'] = where
        alert = AlertTestSuite.create_alert(default_alert)
        alert['summary'] = intel_summary(10, 'sensor1', 'evil.example.com', [(addr, where)] * 3)
        test_cases.append(
            PositiveAlertTestCase(
                description="lines 51-60: seen in %s, the address shown is %s (line %d)" % (
                    where, {54: 'the source address', 58: 'the destination address', 47: 'empty'}[line], line),
                events=events,
                expected_alert=alert
            )
        )

    for where, field, line in [('DNS::IN_REQUEST', 'sourceipaddress', 54), ('Conn::IN_ORIG', 'destinationipaddress', 58)]:
        events = AlertTestSuite.create_events(default_event, 10)
        for event in events:
            event['_source']['details']['seenwhere'] = where
            event['_source']['details'][field] = None
        alert = AlertTestSuite.create_alert(default_alert)
        alert['summary'] = intel_summary(10, 'sensor1', 'evil.example.com', [(None, where)] * 3)
        test_cases.append(
            PositiveAlertTestCase(
                description="lines 45 and %d: a details.%s that is present but null is taken as is (Python prints None)" % (line, field),
                events=events,
                expected_alert=alert
            )
        )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['details']['seenwhere'] = 'Intel::IN_ANYWHERE DNS::IN_REQUEST'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = intel_summary(10, 'sensor1', 'evil.example.com', [('10.0.0.5', 'Intel::IN_ANYWHERE DNS::IN_REQUEST')] * 3)
    test_cases.append(
        PositiveAlertTestCase(
            description="line 53: 'DNS::IN_REQUEST' in seenwhere is a substring test",
            events=events,
            expected_alert=alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['hostname'] = 'sensor3'
        event['_source']['details']['seenindicator'] = '198.51.100.7'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = intel_summary(10, 'sensor3', '198.51.100.7', [('10.0.0.5', 'DNS::IN_REQUEST')] * 3)
    test_cases.append(
        PositiveAlertTestCase(
            description="line 20 TermsMatch hostname sensor3; line 38 the host is the first sample's hostname; line 40 the value is the indicator",
            events=events,
            expected_alert=alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 13)
    for event in events[10:]:
        event['_source']['details']['seenindicator'] = 'other.example.com'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 26 searchEventsAggregated('details.seenindicator'): 10 hits of one indicator fire, 3 of another do not",
            events=events,
            expected_alert=default_alert
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
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
            description="line 28 walkAggregations(threshold=10): 9 hits are below the threshold",
            events=AlertTestSuite.create_events(default_event, 9),
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 3})
        event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 3})
    test_cases.append(
        NegativeAlertTestCase(
            description="line 14 SearchQuery(minutes=2): events 3 minutes old are outside the window",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    events[0]['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 3})
    events[0]['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 3})
    test_cases.append(
        NegativeAlertTestCase(
            description="lines 14 and 28: of 10 hits one is 3 minutes old, so 9 are in the window, below the threshold",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for i, event in enumerate(events):
        event['_source']['details']['seenindicator'] = 'indicator%d.example.com' % (i % 2)
    test_cases.append(
        NegativeAlertTestCase(
            description="line 26: 10 hits split over two indicators (5 each) are below the threshold per indicator",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['category'] = 'brointel'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 17 TermMatch('category', 'bro'): another category",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['source'] = 'notice'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 18 TermMatch('source', 'intel'): another source",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['details']['seenindicator'] = None
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 ExistsMatch('details.seenindicator'): no indicator",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['hostname'] = 'sensor4'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 TermsMatch('hostname', ['sensor1', 'sensor2', 'sensor3']): another sensor",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['hostname'] = 'sensor1.example.com'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 TermsMatch on a keyword field is the whole value: sensor1.example.com",
            events=events,
        )
    )

    events = AlertTestSuite.create_events(default_event, 10)
    for event in events:
        event['_source']['alert_names'] = ['AlertMultipleIntelHits']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 23 filtersManual: events that already fed this alert are left out",
            events=events,
        )
    )
