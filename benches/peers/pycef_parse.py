"""Peer for the CEF parser bench: pycef (PyPI pycef 1.11) parsing the same line as
crates/cef/benches/parse.rs. Usage: pip install pycef==1.11; python3 benches/peers/pycef_parse.py"""
import timeit

import pycef

# The `MOZILLA` line of crates/cef/benches/parse.rs.
LINE = ("<164>Nov 22 10:15:07 auth-1 accounts[812]: CEF:0|mozilla|accounts|3|AuthFail|Authentication failure|5|"
        "cs1Label=requestClientApplication cs1=Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 "
        "Firefox/130.0 requestMethod=POST request=/v1/account/login?service\\=sync src=203.0.113.9 "
        "dhost=accounts.example.com suser=tarek act=denied msg=Password did not match")
N = 100_000
t = timeit.timeit(lambda: pycef.parse(LINE), number=N)
print(f"pycef.parse: {t / N * 1e9:.0f} ns/line, {N / t:,.0f} lines/s")
