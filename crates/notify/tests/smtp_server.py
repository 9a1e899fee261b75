"""A real SMTP server for ferrodef-notify's email tests (aiosmtpd, Debian's python3-aiosmtpd).

Usage: smtp_server.py PORT OUT_FILE [CERT KEY]
Listens on 127.0.0.1:PORT; with CERT and KEY it offers STARTTLS and requires it. Each message
received is appended to OUT_FILE as one JSON line: mail_from, rcpt_tos, data, tls. Prints
READY when it accepts connections; stops when its standard input closes.
"""

import json
import ssl
import sys

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    kwargs = {}
    if len(sys.argv) >= 5:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        kwargs = {"tls_context": ctx, "require_starttls": True}
    controller = Controller(Recorder(out), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("READY", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
