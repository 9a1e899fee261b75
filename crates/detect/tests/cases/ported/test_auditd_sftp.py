# Cases for MozDef's alerts/auditd_sftp.py (AlertSFTPEvent), which has no upstream test: written for
# ferrodef in the format of MozDef's tests/alerts harness (AlertTestSuite), from the class's
# logic. Each description names the line of alerts/auditd_sftp.py it checks. Extract with
# ../extract_mozdef_cases.py (see there).

from .positive_alert_test_case import PositiveAlertTestCase
from .negative_alert_test_case import NegativeAlertTestCase

from .alert_test_suite import AlertTestSuite


class TestAlertSFTPEvent(AlertTestSuite):
    alert_filename = "auditd_sftp"
    alert_classname = "AlertSFTPEvent"
    # One alert per event (walkEvents), each carrying its event.
    num_samples = 1

    default_event = {
        "_source": {
            "category": "execve",
            "processname": "audisp-json",
            "hostname": "host1.example.com",
            "summary": "Execve: ssh -oForwardX11 no -oForwardAgent no -l jdoe -s -- host2 sftp",
            "details": {
                "processname": "ssh",
                "parentprocess": "sftp",
                "originaluser": "jdoe",
                "user": "jdoe",
                "cwd": "/home/jdoe",
            },
        }
    }

    default_alert = {
        "category": "execve",
        "tags": ["audisp-json, audit"],
        "severity": "NOTICE",
        "summary": "SFTP Event by jdoe from host host1.example.com in directory /home/jdoe",
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="lines 17-20 (category execve, processname audisp-json, details.processname ssh, details.parentprocess sftp), line 45 (summary from originaluser, hostname, cwd), lines 29-31 (execve, NOTICE, ['audisp-json, audit'])",
            events=[AlertTestSuite.create_event(default_event)],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['originaluser'] = 'root'
    event['_source']['details']['user'] = 'jdoe'
    event['_source']['details']['cwd'] = '/var/tmp'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = 'SFTP Event by root from host host1.example.com in directory /var/tmp'
    test_cases.append(
        PositiveAlertTestCase(
            description="lines 40-43: the user is details.originaluser (not details.user), the directory details.cwd",
            events=[event],
            expected_alert=alert
        )
    )

    test_cases.append(
        PositiveAlertTestCase(
            description="walkEvents (line 25): two sftp sessions give two alerts, each with its own event",
            events=AlertTestSuite.create_events(default_event, 2),
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 4})
    event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 4})
    test_cases.append(
        PositiveAlertTestCase(
            description="line 14 SearchQuery(minutes=5): an event 4 minutes old is inside the window",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['utctimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 6})
    event['_source']['receivedtimestamp'] = AlertTestSuite.subtract_from_timestamp_lambda({'minutes': 6})
    test_cases.append(
        NegativeAlertTestCase(
            description="line 14 SearchQuery(minutes=5): an event 6 minutes old is outside the window",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['category'] = 'write'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 17 TermMatch('category', 'execve'): another category",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['processname'] = 'auditd'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 18 TermMatch('processname', 'audisp-json'): another reporting process",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['processname'] = 'scp'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 TermMatch('details.processname', 'ssh'): another executed program",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['parentprocess'] = 'bash'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 PhraseMatch('details.parentprocess', 'sftp'): another parent",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['parentprocess'] = 'sftp-server'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 20 PhraseMatch on a keyword field is the whole value: parent sftp-server",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['alert_names'] = ['AlertSFTPEvent']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 23 filtersManual: an event that already fed this alert is left out",
            events=[event],
        )
    )


class TestAlertSFTPEventWithoutUserOrDirectory(AlertTestSuite):
    alert_filename = "auditd_sftp"
    alert_classname = "AlertSFTPEvent"
    num_samples = 1

    # No details.originaluser nor details.cwd (dict_merge cannot remove keys of the default).
    default_event = {
        "_source": {
            "category": "execve",
            "processname": "audisp-json",
            "hostname": "host1.example.com",
            "details": {
                "processname": "ssh",
                "parentprocess": "sftp",
            },
        }
    }

    default_alert = {
        "category": "execve",
        "tags": ["audisp-json, audit"],
        "severity": "NOTICE",
        "summary": "SFTP Event by unknown from host host1.example.com in directory unknown",
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="lines 33-43: without details.originaluser and details.cwd the user and directory are 'unknown'",
            events=[AlertTestSuite.create_event(default_event)],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['cwd'] = '/tmp'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = 'SFTP Event by unknown from host host1.example.com in directory /tmp'
    test_cases.append(
        PositiveAlertTestCase(
            description="lines 40-43: only details.cwd present: the user is 'unknown', the directory the cwd",
            events=[event],
            expected_alert=alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['originaluser'] = None
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = 'SFTP Event by None from host host1.example.com in directory unknown'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 40: a details.originaluser that is present but null is taken as is (Python prints None)",
            events=[event],
            expected_alert=alert
        )
    )
