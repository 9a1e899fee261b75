//! Splitting a syslog byte stream (TCP, TLS, a file) into messages.
//!
//! Two framings exist (RFC 6587): *octet counting* (`MSG-LEN SP MSG`, as RFC 5425/6587 senders
//! such as rsyslog with `TCP_Framing="octet-counted"` and `logger --octet-count` use) and
//! *non-transparent* framing (each message ends with LF). [`Framer`] detects which one a
//! connection uses from its first bytes: a run of digits, a space and `<` means octet counting.
//!
//! Frames longer than the configured maximum are cut at the maximum and flagged as truncated;
//! the rest of such a frame is skipped, never glued onto the next message.
//!
//! ```
//! use ferrodef_syslog::framing::Framer;
//!
//! let mut f = Framer::new(64 * 1024);
//! let mut out = Vec::new();
//! f.push(b"<13>Oct 11 22:14:15 host app: one\n<13>Oct 11 22:14:15 ho", |m, _| out.push(m.to_vec()));
//! f.push(b"st app: two\n", |m, _| out.push(m.to_vec()));
//! assert_eq!(out.len(), 2);
//!
//! let mut f = Framer::new(64 * 1024);
//! let mut out = Vec::new();
//! f.push(b"11 <13>1 - - x8 <13>1 - ", |m, _| out.push(m.to_vec()));
//! f.finish(|m, _| out.push(m.to_vec()));
//! assert_eq!(out, vec![b"<13>1 - - x".to_vec(), b"<13>1 - ".to_vec()]);
//! ```

/// How a stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `MSG-LEN SP MSG` (RFC 6587 section 3.4.1).
    OctetCounting,
    /// Messages end with LF (RFC 6587 section 3.4.2); a trailing CR is the parser's to trim.
    NonTransparent,
}

/// Incremental, allocation-bounded splitter of one stream into messages.
#[derive(Debug)]
pub struct Framer {
    max_len: usize,
    framing: Option<Framing>,
    buf: Vec<u8>,
    /// Bytes of the current oversized frame still to skip (octet counting), or `usize::MAX`
    /// to skip up to the next LF (non-transparent).
    skip: usize,
    /// Offset of the first byte of `buf` in the stream (for error positions).
    consumed: u64,
    truncated: u64,
}

/// Longest MSG-LEN accepted (digits); longer runs mean the stream is not octet counted.
const MAX_LEN_DIGITS: usize = 10;

impl Framer {
    /// A framer that cuts messages at `max_len` bytes (at least 1).
    pub fn new(max_len: usize) -> Self {
        Framer {
            max_len: max_len.max(1),
            framing: None,
            buf: Vec::new(),
            skip: 0,
            consumed: 0,
            truncated: 0,
        }
    }

    /// The framing detected so far (None before the first message is recognisable).
    pub fn framing(&self) -> Option<Framing> {
        self.framing
    }

    /// Number of frames cut because they exceeded the maximum length.
    pub fn truncated(&self) -> u64 {
        self.truncated
    }

    /// Bytes of the stream already handed out or skipped.
    pub fn position(&self) -> u64 {
        self.consumed
    }

    /// Feeds bytes; calls `emit(message, truncated)` for every complete message.
    pub fn push(&mut self, data: &[u8], mut emit: impl FnMut(&[u8], bool)) {
        let mut data = data;
        // Fast path for skipping the tail of an oversized frame.
        while self.skip > 0 && !data.is_empty() {
            if self.skip == usize::MAX {
                match memchr::memchr(b'\n', data) {
                    Some(p) => {
                        self.skip = 0;
                        self.consumed += (p + 1) as u64;
                        data = data.get(p + 1..).unwrap_or(&[]);
                    }
                    None => {
                        self.consumed += data.len() as u64;
                        return;
                    }
                }
            } else {
                let n = self.skip.min(data.len());
                self.skip -= n;
                self.consumed += n as u64;
                data = data.get(n..).unwrap_or(&[]);
            }
        }
        if data.is_empty() {
            return;
        }
        self.buf.extend_from_slice(data);
        let mut start = 0;
        loop {
            match self.next_frame(start) {
                Step::Frame { from, to, next } => {
                    if let Some(m) = self.buf.get(from..to) {
                        if !is_blank(m) {
                            emit(m, false);
                        }
                    }
                    start = next;
                }
                Step::Oversized { from, skip_after } => {
                    let to = from + self.max_len;
                    if let Some(m) = self.buf.get(from..to) {
                        emit(m, true);
                    }
                    self.truncated += 1;
                    match skip_after {
                        SkipAfter::Bytes(rest) => {
                            let avail = self.buf.len() - to;
                            if rest <= avail {
                                start = to + rest;
                            } else {
                                self.skip = rest - avail;
                                start = self.buf.len();
                            }
                        }
                        SkipAfter::ToNewline => {
                            match self.buf.get(to..).and_then(|r| memchr::memchr(b'\n', r)) {
                                Some(p) => start = to + p + 1,
                                None => {
                                    self.skip = usize::MAX;
                                    start = self.buf.len();
                                }
                            }
                        }
                    }
                }
                Step::NeedMore => break,
            }
        }
        self.consumed += start as u64;
        self.buf.drain(..start);
    }

    /// Ends the stream: a last message without its LF (or a short octet-counted frame) is
    /// still emitted (never dropped).
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8], bool)) {
        if self.skip == 0 && !self.buf.is_empty() {
            let mut from = 0;
            if self.framing == Some(Framing::OctetCounting) {
                if let Some((_, body)) = octet_header(&self.buf) {
                    from = body;
                }
            }
            let rest = self.buf.get(from..).unwrap_or(&[]);
            if rest.len() > self.max_len {
                self.truncated += 1;
                emit(rest.get(..self.max_len).unwrap_or(&[]), true);
            } else if !is_blank(rest) {
                emit(rest, false);
            }
        }
        self.consumed += self.buf.len() as u64;
        self.buf.clear();
        self.skip = 0;
    }

    fn next_frame(&mut self, start: usize) -> Step {
        let b = self.buf.get(start..).unwrap_or(&[]);
        if b.is_empty() {
            return Step::NeedMore;
        }
        let framing = match self.framing {
            Some(f) => f,
            None => match detect(b) {
                Some(f) => {
                    self.framing = Some(f);
                    f
                }
                None => return Step::NeedMore,
            },
        };
        match framing {
            Framing::OctetCounting => {
                // Between frames, stray LFs (some senders add them) are ignored.
                let lead = b
                    .iter()
                    .take_while(|c| matches!(c, b'\n' | b'\r' | b' '))
                    .count();
                let b = b.get(lead..).unwrap_or(&[]);
                let start = start + lead;
                if b.is_empty() {
                    return Step::Frame {
                        from: start,
                        to: start,
                        next: start,
                    };
                }
                match octet_header(b) {
                    Some((len, body)) => {
                        if len > self.max_len {
                            if b.len() < body + self.max_len {
                                return Step::NeedMore;
                            }
                            return Step::Oversized {
                                from: start + body,
                                skip_after: SkipAfter::Bytes(len - self.max_len),
                            };
                        }
                        if b.len() < body + len {
                            return Step::NeedMore;
                        }
                        Step::Frame {
                            from: start + body,
                            to: start + body + len,
                            next: start + body + len,
                        }
                    }
                    None if b.len() <= MAX_LEN_DIGITS && b.iter().all(u8::is_ascii_digit) => {
                        Step::NeedMore
                    }
                    // Not a length: the sender switched framing. Fall back to LF framing
                    // for this message rather than losing it.
                    None => self.newline_frame(start),
                }
            }
            Framing::NonTransparent => self.newline_frame(start),
        }
    }

    fn newline_frame(&self, start: usize) -> Step {
        let b = self.buf.get(start..).unwrap_or(&[]);
        match memchr::memchr(b'\n', b) {
            Some(p) if p <= self.max_len => Step::Frame {
                from: start,
                to: start + p,
                next: start + p + 1,
            },
            Some(_) => Step::Oversized {
                from: start,
                skip_after: SkipAfter::ToNewline,
            },
            None if b.len() > self.max_len => Step::Oversized {
                from: start,
                skip_after: SkipAfter::ToNewline,
            },
            None => Step::NeedMore,
        }
    }
}

enum SkipAfter {
    Bytes(usize),
    ToNewline,
}

enum Step {
    Frame { from: usize, to: usize, next: usize },
    Oversized { from: usize, skip_after: SkipAfter },
    NeedMore,
}

/// Whitespace/NUL only: carries no message (blank lines, stray separators).
fn is_blank(m: &[u8]) -> bool {
    m.iter().all(|c| c.is_ascii_whitespace() || *c == 0)
}

/// `DIGITS SP` at the start of `b`: (length, offset of the body).
fn octet_header(b: &[u8]) -> Option<(usize, usize)> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > MAX_LEN_DIGITS || b.get(digits) != Some(&b' ') {
        return None;
    }
    let len = std::str::from_utf8(b.get(..digits)?).ok()?.parse().ok()?;
    Some((len, digits + 1))
}

/// Framing from a stream's first bytes; None while undecidable.
fn detect(b: &[u8]) -> Option<Framing> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > MAX_LEN_DIGITS {
        return Some(Framing::NonTransparent);
    }
    if b.first() == Some(&b'0') {
        return Some(Framing::NonTransparent);
    }
    match (b.get(digits), b.get(digits + 1)) {
        (None, _) | (Some(b' '), None) => None,
        (Some(b' '), Some(b'<')) => Some(Framing::OctetCounting),
        _ => Some(Framing::NonTransparent),
    }
}
