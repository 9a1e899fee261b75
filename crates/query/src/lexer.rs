//! The lexer: query text to tokens with their byte offsets.

use crate::error::{err, ParseError};

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Plus,
    Minus,
    /// `field:` (the name)
    Field(String),
    /// A bare word; `raw` keeps backslashes before `*`/`?` (for wildcards).
    Word {
        text: String,
        raw: String,
        wild: bool,
    },
    Quoted(String),
    Regex(String),
    /// `[` or `{`
    RangeOpen(bool),
    /// `]` or `}`
    RangeClose(bool),
    To,
    Cmp(&'static str),
}

/// Characters that end a bare word (unless escaped).
pub(crate) const SPECIAL: &[char] = &['(', ')', '"', '[', ']', '{', '}', ':', '/', '\\'];

fn is_field_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@')
}

/// Splits `s` into tokens with their byte offsets.
pub(crate) fn tokens(s: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    Lexer {
        s,
        pos: 0,
        toks: Vec::new(),
        in_range: false,
    }
    .run()
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
    toks: Vec<(Tok, usize)>,
    /// Inside a `[`/`{` range: `TO` is a keyword.
    in_range: bool,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }
    fn peek2(&self) -> Option<char> {
        let mut it = self.s[self.pos..].chars();
        it.next();
        it.next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn run(mut self) -> Result<Vec<(Tok, usize)>, ParseError> {
        // After `field:` (or a comparison) the next token is a value, which may contain ':'
        // (IPv6) and '/' (CIDR), and may be a `/regex/`.
        let mut value_pos = false;
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            let start = self.pos;
            let (tok, next_is_value) = self.token(c, start, value_pos)?;
            self.toks.push((tok, start));
            value_pos = next_is_value;
        }
        Ok(self.toks)
    }

    /// The token starting with `c` at `start`; true when a value follows it.
    fn token(&mut self, c: char, start: usize, value_pos: bool) -> Result<(Tok, bool), ParseError> {
        if let Some(tok) = self.symbol(c, value_pos) {
            return Ok((tok, false));
        }
        match c {
            '"' => Ok((Tok::Quoted(self.quoted(start)?), false)),
            '/' if value_pos => Ok((Tok::Regex(self.regex(start)?), false)),
            '>' | '<' if value_pos => Ok((Tok::Cmp(self.comparison(c)), true)),
            _ => self.word(start, value_pos),
        }
    }

    /// Parentheses, range brackets, boolean operators: the one- or two-character tokens.
    fn symbol(&mut self, c: char, value_pos: bool) -> Option<Tok> {
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' | '{' => {
                self.in_range = true;
                Tok::RangeOpen(c == '[')
            }
            ']' | '}' => {
                self.in_range = false;
                Tok::RangeClose(c == ']')
            }
            '&' | '|' if self.peek2() == Some(c) => {
                self.bump();
                if c == '&' {
                    Tok::And
                } else {
                    Tok::Or
                }
            }
            '!' if !value_pos => Tok::Not,
            '+' if !value_pos && !self.in_range => Tok::Plus,
            '-' if !value_pos && !self.in_range => Tok::Minus,
            _ => return None,
        };
        self.bump();
        Some(tok)
    }

    /// A `"quoted phrase"` (the opening quote at `start`), unescaped.
    fn quoted(&mut self, start: usize) -> Result<String, ParseError> {
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return err("unterminated quoted phrase", start),
                Some('"') => return Ok(text),
                Some('\\') => match self.bump() {
                    Some(e) => text.push(e),
                    None => return err("unterminated quoted phrase", start),
                },
                Some(ch) => text.push(ch),
            }
        }
    }

    /// A `/regular expression/` (the opening slash at `start`); `\/` is a slash, other escapes
    /// are kept for the regex engine.
    fn regex(&mut self, start: usize) -> Result<String, ParseError> {
        self.bump();
        let mut re = String::new();
        loop {
            match self.bump() {
                None => return err("unterminated regular expression", start),
                Some('/') => return Ok(re),
                Some('\\') => match self.bump() {
                    Some('/') => re.push('/'),
                    Some(e) => {
                        re.push('\\');
                        re.push(e);
                    }
                    None => return err("unterminated regular expression", start),
                },
                Some(ch) => re.push(ch),
            }
        }
    }

    /// `>`, `>=`, `<`, `<=` (starting with `c`).
    fn comparison(&mut self, c: char) -> &'static str {
        self.bump();
        let eq = self.peek() == Some('=');
        if eq {
            self.bump();
        }
        match (c, eq) {
            ('>', true) => ">=",
            ('>', false) => ">",
            (_, true) => "<=",
            (_, false) => "<",
        }
    }

    /// A word, a keyword, or `field:`.
    fn word(&mut self, start: usize, value_pos: bool) -> Result<(Tok, bool), ParseError> {
        let mut text = String::new();
        let mut raw = String::new();
        let mut wild = false;
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            if c == '\\' {
                self.bump();
                match self.bump() {
                    Some(e) => {
                        // `raw` keeps every escape, so a wildcard prints back as it was read.
                        text.push(e);
                        raw.push('\\');
                        raw.push(e);
                    }
                    None => return err("nothing to escape after '\\'", self.pos - 1),
                }
                continue;
            }
            if c == ':' && !value_pos && !self.in_range {
                // `field:` — only if everything so far is a field name.
                if !text.is_empty() && text.chars().all(is_field_char) && raw == text {
                    self.bump();
                    return Ok((Tok::Field(text), true));
                }
            }
            if c == ':' && value_pos {
                // IPv6 and other values may contain ':'.
                self.bump();
                text.push(c);
                raw.push(c);
                continue;
            }
            if c == '/' && value_pos && !text.is_empty() {
                // CIDR prefix.
                self.bump();
                text.push(c);
                raw.push(c);
                continue;
            }
            if SPECIAL.contains(&c) {
                if c == ':' && self.in_range {
                    // times in ranges: 2026-11-22T10:00:00Z
                    self.bump();
                    text.push(c);
                    raw.push(c);
                    continue;
                }
                break;
            }
            if (c == '&' && self.peek2() == Some('&')) || (c == '|' && self.peek2() == Some('|')) {
                break;
            }
            if c == '*' || c == '?' {
                wild = true;
            }
            self.bump();
            text.push(c);
            raw.push(c);
        }
        if text.is_empty() {
            return match self.peek() {
                Some('/') => err("regular expressions need a field (field:/regex/)", start),
                Some(c) => err(format!("unexpected '{c}'"), start),
                None => err("unexpected end of query", start),
            };
        }
        if !value_pos && raw == text {
            match text.as_str() {
                "AND" => return Ok((Tok::And, false)),
                "OR" => return Ok((Tok::Or, false)),
                "NOT" => return Ok((Tok::Not, false)),
                "TO" if self.in_range => return Ok((Tok::To, false)),
                _ => {}
            }
        }
        if self.in_range && text == "TO" {
            return Ok((Tok::To, false));
        }
        Ok((Tok::Word { text, raw, wild }, false))
    }
}
