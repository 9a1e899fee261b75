//! Kernel lines: network interfaces entering or leaving promiscuous mode (a sniffer, or a
//! bridge/container interface), in the older `device eth0 entered promiscuous mode` form and
//! the newer `eth0: entered promiscuous mode` one, with or without the `[  12.345678]` uptime
//! stamp of the kernel ring buffer. Audit records the kernel prints go to the auditd parser.
//!
//! Fields: `device`, `promiscuous` (true entered, false left). The category is left as it
//! is: MozDef's `promisc_kernel` alert selects these lines by `category: syslog` and their
//! summary; the tag `promiscuous` marks them.

use crate::parsed::Parsed;

re!(
    PROMISC,
    r"^(?:\[\s*\d+\.\d+\]\s*)?(?:device (\S+)|(\S+):) (entered|left) promiscuous mode"
);

/// Kernel messages: promiscuous mode, else audit records.
pub fn parse_kernel(msg: &str) -> Option<Parsed> {
    let m = msg.trim();
    if let Some(c) = PROMISC.captures(m) {
        let device = c.get(1).or(c.get(2)).map_or("", |d| d.as_str());
        let mut r = Parsed::new("kernel", None)
            .s("device", device)
            .b("promiscuous", &c[3] == "entered");
        r.tags.push("promiscuous");
        return Some(r);
    }
    if m.contains("audit(") {
        return crate::parse_auditd(m);
    }
    None
}
