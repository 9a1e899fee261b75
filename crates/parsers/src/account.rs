//! Account and group changes logged by shadow-utils (`useradd`, `usermod`, `userdel`,
//! `groupadd`, `groupmod`, `groupdel`, `gpasswd`, `passwd`, `chage`, `chsh`, `chfn`,
//! `chpasswd`, `newusers`), in the wording of their syslog calls, e.g.
//! `new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0`,
//! `delete user 'bob'`, `add 'bob' to group 'sudo'`, `user bob added by root to group sudo`,
//! `password for 'bob' changed by 'root'`, `changed password expiry for bob`.
//!
//! Category `account`; fields `action` (`user_added`, `user_deleted`, `user_modified`,
//! `password_changed`, `password_locked`, `password_unlocked`, `group_added`,
//! `group_deleted`, `group_modified`, `group_member_added`, `group_member_removed` — the
//! same names the Windows account events get), `targetuser` (the account changed), `group`,
//! `uid`, `gid`, `home`, `shell`, `newname`, `change` (what `usermod` changed), `from`/`to`
//! (old and new value), `tty` (`from=` of `useradd`), `username` (who made the change, when
//! the line says: `gpasswd`, `passwd`), `success`.

use std::sync::LazyLock;

use regex::Regex;

use crate::parsed::Parsed;

/// One line shape: its pattern (named groups are the fields), action and success.
struct Shape {
    re: Regex,
    action: &'static str,
    success: bool,
}

/// Named groups of the patterns and the fields they fill.
const GROUPS: [(&str, &str); 12] = [
    ("target", "targetuser"),
    ("group", "group"),
    ("uid", "uid"),
    ("gid", "gid"),
    ("home", "home"),
    ("shell", "shell"),
    ("tty", "tty"),
    ("actor", "username"),
    ("newname", "newname"),
    ("change", "change"),
    ("from", "from"),
    ("to", "to"),
];

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    let s = |re: &str, action, success| Shape {
        re: Regex::new(re).expect("valid regex"),
        action,
        success,
    };
    vec![
        s(
            r"^new user: name=(?P<target>[^,\s]+), UID=(?P<uid>\d+), GID=(?P<gid>\d+), home=(?P<home>[^,]*), shell=(?P<shell>[^,\s]*)(?:, from=(?P<tty>\S+))?",
            "user_added",
            true,
        ),
        s(
            r"^(?:new group|group added to /etc/group): name=(?P<group>[^,\s]+), GID=(?P<gid>\d+)",
            "group_added",
            true,
        ),
        s(
            r"^group added to /etc/gshadow: name=(?P<group>[^,\s]+)",
            "group_added",
            true,
        ),
        s(
            r"^failed adding user '(?P<target>[^']+)'",
            "user_added",
            false,
        ),
        s(r"^delete user '(?P<target>[^']+)'", "user_deleted", true),
        s(
            r"^removed (?:shadow )?group '(?P<group>[^']+)' owned by '(?P<target>[^']+)'",
            "group_deleted",
            true,
        ),
        s(
            r"^group '(?P<group>[^']+)' removed(?: from /etc/g?(?:group|shadow))?",
            "group_deleted",
            true,
        ),
        s(
            r"^group changed in /etc/g(?:roup|shadow) \(group (?P<group>[^/\s]+)/(?P<gid>\d+)(?:, new name: (?P<newname>[^,)]+))?",
            "group_modified",
            true,
        ),
        s(
            r"^add '(?P<target>[^']+)' to (?:shadow )?group '(?P<group>[^']+)'",
            "group_member_added",
            true,
        ),
        s(
            r"^delete '(?P<target>[^']+)' from (?:shadow )?group '(?P<group>[^']+)'",
            "group_member_removed",
            true,
        ),
        s(
            r"^user (?P<target>\S+) added by (?P<actor>\S+) to group (?P<group>\S+)",
            "group_member_added",
            true,
        ),
        s(
            r"^user (?P<target>\S+) removed by (?P<actor>\S+) from group (?P<group>\S+)",
            "group_member_removed",
            true,
        ),
        s(
            r"^(?:password of group (?P<group>\S+) (?:changed|removed) by (?P<actor>\S+)|members of group (?P<group2>\S+) set by (?P<actor2>\S+))",
            "group_modified",
            true,
        ),
        s(
            r"^change user name '(?P<target>[^']+)' to '(?P<newname>[^']+)'",
            "user_modified",
            true,
        ),
        s(
            r"^change user '(?P<target>[^']+)' password",
            "password_changed",
            true,
        ),
        s(
            r"^lock user '(?P<target>[^']+)' password",
            "password_locked",
            true,
        ),
        s(
            r"^unlock user '(?P<target>[^']+)' password",
            "password_unlocked",
            true,
        ),
        s(
            r"^change (?:user )?'(?P<target>[^']+)' (?P<change>\S+) from '(?P<from>[^']*)' to '(?P<to>[^']*)'",
            "user_modified",
            true,
        ),
        s(
            r"^password for '(?P<target>[^']+)' changed by '(?P<actor>[^']+)'",
            "password_changed",
            true,
        ),
        s(
            r"^changed password expiry for (?P<target>\S+)",
            "user_modified",
            true,
        ),
        s(
            r"^changed user '(?P<target>[^']+)' (?P<change>shell|information)(?: to '(?P<to>[^']*)')?",
            "user_modified",
            true,
        ),
    ]
});

/// A shadow-utils account or group change line.
pub fn parse_account(msg: &str) -> Option<Parsed> {
    let msg = msg.trim();
    let (shape, c) = SHAPES
        .iter()
        .find_map(|s| s.re.captures(msg).map(|c| (s, c)))?;
    let mut r = Parsed::new("account", Some("account")).s("action", shape.action);
    for (group, field) in GROUPS {
        let m = c
            .name(group)
            .or_else(|| c.name(&format!("{group}2")))
            .map(|m| m.as_str());
        r = r.opt(field, m);
    }
    Some(r.b("success", shape.success))
}
