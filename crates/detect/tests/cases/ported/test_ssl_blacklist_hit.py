# Cases for MozDef's alerts/ssl_blacklist_hit.py (AlertSSLBlacklistHit), which has no upstream test: written for
# ferrodef in the format of MozDef's tests/alerts harness (AlertTestSuite), from the class's
# logic. Each description names the line of alerts/ssl_blacklist_hit.py it checks. Extract with
# ../extract_mozdef_cases.py (see there).

from .positive_alert_test_case import PositiveAlertTestCase
from .negative_alert_test_case import NegativeAlertTestCase

from .alert_test_suite import AlertTestSuite


class TestAlertSSLBlacklistHit(AlertTestSuite):
    alert_filename = "ssl_blacklist_hit"
    alert_classname = "AlertSSLBlacklistHit"
    # One alert per event (walkEvents), each carrying its event.
    num_samples = 1

    default_event = {
        "_source": {
            "eventsource": "nsm",
            "category": "brointel",
            "hostname": "nsm2.example.com",
            "summary": "10.1.2.3 connected to a host with an abuse.ch SSLBL certificate",
            "details": {
                "sources": "abuse.ch SSLBL",
                "sourceipaddress": "10.1.2.3",
                "seenindicator": "0123456789abcdef0123456789abcdef01234567",
            },
        }
    }

    default_alert = {
        "category": "correlatedalerts",
        "tags": ["nsm,bro,correlated"],
        "severity": "NOTICE",
        "summary": "nsm2.example.com 10.1.2.3 connected to a host with an abuse.ch SSLBL certificate",
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="lines 17-20 (eventsource nsm, category brointel, details.sources 'abuse.ch SSLBL', a source address), line 37 (summary '{hostname} {summary}'), lines 31-33 (correlatedalerts, ['nsm,bro,correlated'], NOTICE)",
            events=[AlertTestSuite.create_event(default_event)],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['sources'] = ['abuse.ch Feodo', 'abuse.ch SSLBL']
    test_cases.append(
        PositiveAlertTestCase(
            description="line 19 TermMatch('details.sources'): any value of a list of intel sources",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['hostname'] = 'nsm3.example.com'
    event['_source']['summary'] = 'another intel hit'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = 'nsm3.example.com another intel hit'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 37: the summary is the event's hostname, a space, the event's summary",
            events=[event],
            expected_alert=alert
        )
    )

    test_cases.append(
        PositiveAlertTestCase(
            description="walkEvents (line 27): two hits give two alerts, each with its own event",
            events=AlertTestSuite.create_events(default_event, 2),
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 14})
    event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 14})
    test_cases.append(
        PositiveAlertTestCase(
            description="line 14 SearchQuery(minutes=15): an event 14 minutes old is inside the window",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 16})
    event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 16})
    test_cases.append(
        NegativeAlertTestCase(
            description="line 14 SearchQuery(minutes=15): an event 16 minutes old is outside the window",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['eventsource'] = 'systemslogs'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 17 TermMatch('eventsource', 'nsm'): another event source",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['category'] = 'bro'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 18 TermMatch('category', 'brointel'): another category",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['sources'] = 'abuse.ch URLhaus'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 TermMatch('details.sources', 'abuse.ch SSLBL'): another intel source",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['sources'] = 'abuse.ch SSLBL extra'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 TermMatch on a keyword field is the whole value: a longer source name",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['sourceipaddress'] = None
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 ExistsMatch('details.sourceipaddress'): no source address",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['alert_names'] = ['AlertSSLBlacklistHit']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 23 filtersManual: an event that already fed this alert is left out",
            events=[event],
        )
    )
