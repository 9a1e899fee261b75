# Cases for MozDef's alerts/ldap_lockout.py (ldapLockout), which has no upstream test: written for
# ferrodef in the format of MozDef's tests/alerts harness (AlertTestSuite), from the class's
# logic. Each description names the line of alerts/ldap_lockout.py it checks. Extract with
# ../extract_mozdef_cases.py (see there).

from .positive_alert_test_case import PositiveAlertTestCase
from .negative_alert_test_case import NegativeAlertTestCase

from .alert_test_suite import AlertTestSuite


class TestLdapLockout(AlertTestSuite):
    alert_filename = "ldap_lockout"
    alert_classname = "ldapLockout"
    # One alert per event (walkEvents), each carrying its event.
    num_samples = 1

    default_event = {
        "_source": {
            "category": "ldapChange",
            "hostname": "ldap1.example.com",
            "summary": "cn=admin,dc=mozilla modify mail=jdoe@example.com,o=com,dc=mozilla",
            "details": {
                "actor": "cn=admin,dc=mozilla",
                "changetype": "modify",
                "dn": "mail=jdoe@example.com,o=com,dc=mozilla",
                "changepairs": ["replace:pwdAccountLockedTime"],
            },
        }
    }

    default_alert = {
        "category": "ldap",
        "tags": ["ldap"],
        "severity": "NOTICE",
        "summary": "mail=jdoe@example.com,o=com,dc=mozilla LDAP account locked",
    }

    test_cases = []

    test_cases.append(
        PositiveAlertTestCase(
            description="lines 17-19 (category ldapChange, actor cn=admin,dc=mozilla, changepairs replace:pwdAccountLockedTime), line 32 (summary '{dn} LDAP account locked'), lines 29-31 (ldap, [ldap], NOTICE)",
            events=[AlertTestSuite.create_event(default_event)],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['changepairs'] = ['replace:pwdFailureTime', 'replace:pwdAccountLockedTime']
    test_cases.append(
        PositiveAlertTestCase(
            description="line 19 PhraseMatch('details.changepairs'): any value of the list may be the lock",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['changepairs'] = 'replace:pwdAccountLockedTime'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 19 PhraseMatch('details.changepairs'): a single string value",
            events=[event],
            expected_alert=default_alert
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['dn'] = 'mail=other@example.com,o=com,dc=mozilla'
    alert = AlertTestSuite.create_alert(default_alert)
    alert['summary'] = 'mail=other@example.com,o=com,dc=mozilla LDAP account locked'
    test_cases.append(
        PositiveAlertTestCase(
            description="line 32: the summary starts with the event's details.dn",
            events=[event],
            expected_alert=alert
        )
    )

    test_cases.append(
        PositiveAlertTestCase(
            description="walkEvents (line 25): two lockouts give two alerts, each with its own event",
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
    event['_source']['category'] = 'ldap'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 17 TermMatch('category', 'ldapChange'): another category",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['actor'] = 'mail=jdoe@example.com,o=com,dc=mozilla'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 18 TermMatch('details.actor', 'cn=admin,dc=mozilla'): a change by another actor",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['actor'] = 'cn=admin,dc=mozilla IP=10.0.0.1:389'
    test_cases.append(
        NegativeAlertTestCase(
            description="line 18 TermMatch on a keyword field is the whole value: an actor that only starts with cn=admin,dc=mozilla",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['changepairs'] = ['replace:pwdFailureTime']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 PhraseMatch('details.changepairs', 'replace:pwdAccountLockedTime'): another change",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['details']['changepairs'] = ['delete:pwdAccountLockedTime']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 19 PhraseMatch on a keyword field is the whole value: the lock removed (delete:pwdAccountLockedTime)",
            events=[event],
        )
    )

    event = AlertTestSuite.create_event(default_event)
    event['_source']['alert_names'] = ['ldapLockout']
    test_cases.append(
        NegativeAlertTestCase(
            description="line 21 filtersManual: an event that already fed this alert is left out",
            events=[event],
        )
    )
