//! ferrodef's Lucene-like query language: parser, AST and relative time expressions.
//!
//! Grammar (adjacent clauses are ANDed; precedence `NOT` > `AND` > `OR`):
//! ```text
//! query   := or
//! or      := and (("OR" | "||") and)*
//! and     := unary (("AND" | "&&")? unary)*
//! unary   := ("NOT" | "!") unary | ("+" | "-") primary | primary
//! primary := "(" or ")" | field ":" value | value
//! value   := "(" or-of-values ")" | "\"phrase\"" | "/regex/" | "[" a "TO" b "]" | "{" a "TO" b "}"
//!          | (">=" | ">" | "<=" | "<") word | word
//! ```
//! `_exists_:field` and `field:*` test existence; an unquoted `a.b.c.d/n` (or IPv6) value is a
//! CIDR match; unquoted values with `*`/`?` are wildcards. Errors carry the byte offset.

use std::fmt;
use std::ops::Bound;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

/// Maximum nesting of parentheses and NOTs.
pub const MAX_DEPTH: usize = 64;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Matches every document.
    MatchAll,
    /// All must match.
    And(Vec<Expr>),
    /// Any must match.
    Or(Vec<Expr>),
    /// Must not match.
    Not(Box<Expr>),
    /// An exact value (keyword) or a word (text); no field means the default field.
    Term {
        /// The field, if one was named.
        field: Option<String>,
        /// The unescaped value.
        value: String,
    },
    /// A quoted phrase.
    Phrase {
        /// The field, if one was named.
        field: Option<String>,
        /// The unescaped text.
        text: String,
    },
    /// A value with `*`/`?` wildcards; escaped characters are kept with their backslash
    /// (`\*` is a literal star), see [`wildcard_to_regex`].
    Wildcard {
        /// The field, if one was named.
        field: Option<String>,
        /// The pattern.
        pattern: String,
    },
    /// A regular expression over the whole value.
    Regex {
        /// The field.
        field: String,
        /// The regular expression (without the slashes).
        pattern: String,
    },
    /// A range; bound values are kept as strings (numbers, times, IPs...).
    Range {
        /// The field.
        field: String,
        /// Lower bound.
        lower: Bound<String>,
        /// Upper bound.
        upper: Bound<String>,
    },
    /// The field has a value.
    Exists {
        /// The field.
        field: String,
    },
    /// The IP field is in this network.
    Cidr {
        /// The field.
        field: String,
        /// The network.
        net: ipnet::IpNet,
    },
}

/// A syntax error with its byte offset in the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// Byte offset of the problem.
    pub offset: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.offset)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
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

const SPECIAL: &[char] = &['(', ')', '"', '[', ']', '{', '}', ':', '/', '\\'];

fn is_field_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@')
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
    toks: Vec<(Tok, usize)>,
    /// Depth of `[`/`{` ranges: inside one, `TO` is a keyword.
    in_range: bool,
}

fn err<T>(message: impl Into<String>, offset: usize) -> Result<T, ParseError> {
    Err(ParseError {
        message: message.into(),
        offset,
    })
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
        // After `field:` the next token is a value, which may contain ':' (IPv6) and '/' (CIDR).
        let mut after_field = false;
        while let Some(c) = self.peek() {
            let start = self.pos;
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            let value_pos = after_field;
            after_field = false;
            match c {
                '(' => {
                    self.bump();
                    self.toks.push((Tok::LParen, start));
                }
                ')' => {
                    self.bump();
                    self.toks.push((Tok::RParen, start));
                }
                '[' | '{' => {
                    self.bump();
                    self.in_range = true;
                    self.toks.push((Tok::RangeOpen(c == '['), start));
                }
                ']' | '}' => {
                    self.bump();
                    self.in_range = false;
                    self.toks.push((Tok::RangeClose(c == ']'), start));
                }
                '"' => {
                    self.bump();
                    let mut text = String::new();
                    loop {
                        match self.bump() {
                            None => return err("unterminated quoted phrase", start),
                            Some('"') => break,
                            Some('\\') => match self.bump() {
                                Some(e) => text.push(e),
                                None => return err("unterminated quoted phrase", start),
                            },
                            Some(ch) => text.push(ch),
                        }
                    }
                    self.toks.push((Tok::Quoted(text), start));
                }
                '/' if value_pos => {
                    self.bump();
                    let mut re = String::new();
                    loop {
                        match self.bump() {
                            None => return err("unterminated regular expression", start),
                            Some('/') => break,
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
                    self.toks.push((Tok::Regex(re), start));
                }
                '&' if self.peek2() == Some('&') => {
                    self.pos += 2;
                    self.toks.push((Tok::And, start));
                }
                '|' if self.peek2() == Some('|') => {
                    self.pos += 2;
                    self.toks.push((Tok::Or, start));
                }
                '!' if !value_pos => {
                    self.bump();
                    self.toks.push((Tok::Not, start));
                }
                '+' if !value_pos && !self.in_range => {
                    self.bump();
                    self.toks.push((Tok::Plus, start));
                }
                '-' if !value_pos && !self.in_range => {
                    self.bump();
                    self.toks.push((Tok::Minus, start));
                }
                '>' | '<' if value_pos => {
                    self.bump();
                    let op = if self.peek() == Some('=') {
                        self.bump();
                        if c == '>' {
                            ">="
                        } else {
                            "<="
                        }
                    } else if c == '>' {
                        ">"
                    } else {
                        "<"
                    };
                    self.toks.push((Tok::Cmp(op), start));
                    after_field = true;
                }
                _ => {
                    let (tok, is_field) = self.word(start, value_pos)?;
                    after_field = is_field;
                    self.toks.push((tok, start));
                }
            }
        }
        Ok(self.toks)
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

struct Parser {
    toks: Vec<(Tok, usize)>,
    i: usize,
    len: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.len, |t| t.1)
    }
    fn next(&mut self) -> Option<(Tok, usize)> {
        let t = self.toks.get(self.i).cloned();
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(
                format!("query nested deeper than {MAX_DEPTH} levels"),
                self.pos(),
            );
        }
        Ok(())
    }

    fn or(&mut self, field: Option<&str>) -> Result<Expr, ParseError> {
        let mut items = vec![self.and(field)?];
        while self.peek() == Some(&Tok::Or) {
            let p = self.pos();
            self.next();
            if matches!(self.peek(), None | Some(Tok::RParen)) {
                return err("expected a clause after OR", p);
            }
            items.push(self.and(field)?);
        }
        Ok(flatten(items, true))
    }

    fn and(&mut self, field: Option<&str>) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary(field)?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    let p = self.pos();
                    self.next();
                    if matches!(self.peek(), None | Some(Tok::RParen) | Some(Tok::Or)) {
                        return err("expected a clause after AND", p);
                    }
                    items.push(self.unary(field)?);
                }
                None | Some(Tok::Or) | Some(Tok::RParen) => break,
                Some(_) => items.push(self.unary(field)?),
            }
        }
        Ok(flatten(items, false))
    }

    fn unary(&mut self, field: Option<&str>) -> Result<Expr, ParseError> {
        match self.peek() {
            Some(Tok::Not) | Some(Tok::Minus) => {
                let p = self.pos();
                self.next();
                if matches!(
                    self.peek(),
                    None | Some(Tok::RParen) | Some(Tok::And) | Some(Tok::Or)
                ) {
                    return err("expected a clause after NOT", p);
                }
                self.enter()?;
                let inner = self.unary(field)?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            Some(Tok::Plus) => {
                self.next();
                self.primary(field)
            }
            _ => self.primary(field),
        }
    }

    fn primary(&mut self, field: Option<&str>) -> Result<Expr, ParseError> {
        let p = self.pos();
        let Some((tok, _)) = self.next() else {
            return err("unexpected end of query", p);
        };
        match tok {
            Tok::LParen => {
                self.enter()?;
                let e = self.or(field)?;
                self.depth -= 1;
                match self.next() {
                    Some((Tok::RParen, _)) => Ok(e),
                    _ => err("missing ')' for '('", p),
                }
            }
            Tok::Field(name) => {
                if field.is_some() {
                    return err("a field inside a field group", p);
                }
                self.value(&name, p)
            }
            Tok::Word { text, raw, wild } => Ok(word_expr(field, text, raw, wild)),
            Tok::Quoted(text) => Ok(Expr::Phrase {
                field: field.map(str::to_string),
                text,
            }),
            Tok::RParen => err("unbalanced ')'", p),
            Tok::And | Tok::Or => err("expected a clause before AND/OR", p),
            Tok::Regex(_) | Tok::RangeOpen(_) | Tok::Cmp(_) => err(
                "regular expressions, ranges and comparisons need a field (field:...)",
                p,
            ),
            other => err(format!("unexpected {}", describe(&other)), p),
        }
    }

    /// What follows `field:`.
    fn value(&mut self, field: &str, field_pos: usize) -> Result<Expr, ParseError> {
        let p = self.pos();
        let Some((tok, _)) = self.next() else {
            return err(format!("missing value after '{field}:'"), p);
        };
        let f = || field.to_string();
        Ok(match tok {
            Tok::Word { text, raw, wild } => {
                if field == "_exists_" {
                    if wild {
                        return err("_exists_ takes a field name", p);
                    }
                    return Ok(Expr::Exists { field: text });
                }
                if raw == "*" {
                    return Ok(Expr::Exists { field: f() });
                }
                if !wild && text.contains('/') {
                    match text.parse::<ipnet::IpNet>() {
                        Ok(net) => return Ok(Expr::Cidr { field: f(), net }),
                        Err(_) if looks_like_cidr(&text) => {
                            return err(format!("invalid CIDR network '{text}'"), p)
                        }
                        Err(_) => {}
                    }
                }
                word_expr(Some(field), text, raw, wild)
            }
            Tok::Quoted(text) => Expr::Phrase {
                field: Some(f()),
                text,
            },
            Tok::Regex(pattern) => Expr::Regex {
                field: f(),
                pattern,
            },
            Tok::Cmp(op) => {
                let vp = self.pos();
                let v = match self.next() {
                    Some((Tok::Word { text, .. }, _)) | Some((Tok::Quoted(text), _)) => text,
                    _ => return err(format!("missing value after '{op}'"), vp),
                };
                let (lower, upper) = match op {
                    ">" => (Bound::Excluded(v), Bound::Unbounded),
                    ">=" => (Bound::Included(v), Bound::Unbounded),
                    "<" => (Bound::Unbounded, Bound::Excluded(v)),
                    _ => (Bound::Unbounded, Bound::Included(v)),
                };
                Expr::Range {
                    field: f(),
                    lower,
                    upper,
                }
            }
            Tok::RangeOpen(incl_lo) => {
                let lo = self.bound_value("lower bound")?;
                match self.next() {
                    Some((Tok::To, _)) => {}
                    _ => return err("expected 'TO' in range", self.prev_pos()),
                }
                let hi = self.bound_value("upper bound")?;
                let incl_hi = match self.next() {
                    Some((Tok::RangeClose(i), _)) => i,
                    _ => return err("unterminated range: expected ']' or '}'", p),
                };
                let mk = |v: Option<String>, incl: bool| match v {
                    None => Bound::Unbounded,
                    Some(v) if incl => Bound::Included(v),
                    Some(v) => Bound::Excluded(v),
                };
                Expr::Range {
                    field: f(),
                    lower: mk(lo, incl_lo),
                    upper: mk(hi, incl_hi),
                }
            }
            Tok::LParen => {
                self.enter()?;
                let e = self.or(Some(field))?;
                self.depth -= 1;
                match self.next() {
                    Some((Tok::RParen, _)) => e,
                    _ => return err("missing ')' for '('", p),
                }
            }
            _ => {
                let _ = field_pos;
                return err(format!("missing value after '{field}:'"), p);
            }
        })
    }

    fn prev_pos(&self) -> usize {
        self.toks
            .get(self.i.saturating_sub(1))
            .map_or(self.len, |t| t.1)
    }

    fn bound_value(&mut self, what: &str) -> Result<Option<String>, ParseError> {
        let p = self.pos();
        match self.next() {
            Some((Tok::Word { raw, .. }, _)) if raw == "*" => Ok(None),
            Some((Tok::Word { text, .. }, _)) | Some((Tok::Quoted(text), _)) => Ok(Some(text)),
            _ => err(format!("expected a {what} in range"), p),
        }
    }
}

fn looks_like_cidr(s: &str) -> bool {
    s.split_once('/').is_some_and(|(a, b)| {
        (a.parse::<std::net::IpAddr>().is_ok()) && b.chars().all(|c| c.is_ascii_digit())
    })
}

fn describe(t: &Tok) -> &'static str {
    match t {
        Tok::To => "'TO' outside a range",
        Tok::RangeClose(_) => "']' or '}' outside a range",
        Tok::Not => "NOT",
        _ => "token",
    }
}

fn word_expr(field: Option<&str>, text: String, raw: String, wild: bool) -> Expr {
    let field_s = field.map(str::to_string);
    if wild {
        if raw == "*" && field.is_none() {
            return Expr::MatchAll;
        }
        Expr::Wildcard {
            field: field_s,
            pattern: raw,
        }
    } else {
        Expr::Term {
            field: field_s,
            value: text,
        }
    }
}

fn flatten(items: Vec<Expr>, or: bool) -> Expr {
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        match (e, or) {
            (Expr::Or(v), true) => out.extend(v),
            (Expr::And(v), false) => out.extend(v),
            (e, _) => out.push(e),
        }
    }
    if out.len() == 1 {
        return out.remove(0);
    }
    if or {
        Expr::Or(out)
    } else {
        Expr::And(out)
    }
}

/// Parses a query. An empty query, `*` and `*:*` match everything.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let trimmed = input.trim();
    if trimmed.is_empty() || trimmed == "*" || trimmed == "*:*" {
        return Ok(Expr::MatchAll);
    }
    let toks = Lexer {
        s: input,
        pos: 0,
        toks: Vec::new(),
        in_range: false,
    }
    .run()?;
    let mut p = Parser {
        toks,
        i: 0,
        len: input.len(),
        depth: 0,
    };
    let e = p.or(None)?;
    if let Some((t, pos)) = p.next() {
        return match t {
            Tok::RParen => err("unbalanced ')'", pos),
            _ => err("unexpected input", pos),
        };
    }
    Ok(e)
}

/// Turns a wildcard pattern (`*` any characters, `?` one character, `\x` a literal `x`)
/// into a regular expression body matching the whole value (for an anchored matcher).
pub fn wildcard_to_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&regex_syntax::escape(&n.to_string()));
                }
            }
            c => out.push_str(&regex_syntax::escape(&c.to_string())),
        }
    }
    out
}

fn quote_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars().all(|c| {
            !c.is_whitespace()
                && !SPECIAL.contains(&c)
                && !matches!(c, '*' | '?' | '!' | '+' | '-' | '<' | '>' | '&' | '|')
        })
        && !matches!(v, "AND" | "OR" | "NOT" | "TO");
    if plain {
        v.to_string()
    } else {
        let mut s = String::from("\"");
        for c in v.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
        s
    }
}

/// Where an expression is printed, for parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    InOr,
    InAnd,
    InNot,
}

impl Expr {
    fn fmt_in(&self, f: &mut fmt::Formatter<'_>, ctx: Ctx) -> fmt::Result {
        let pre =
            |field: &Option<String>| field.as_ref().map(|x| format!("{x}:")).unwrap_or_default();
        match self {
            Expr::MatchAll => write!(f, "*"),
            Expr::And(v) | Expr::Or(v) => {
                let is_and = matches!(self, Expr::And(_));
                // Parentheses only where precedence needs them (the parser's input had them too).
                let parens = if is_and {
                    ctx == Ctx::InNot
                } else {
                    matches!(ctx, Ctx::InAnd | Ctx::InNot)
                };
                let (sep, inner) = if is_and {
                    (" AND ", Ctx::InAnd)
                } else {
                    (" OR ", Ctx::InOr)
                };
                if parens {
                    write!(f, "(")?;
                }
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, "{sep}")?;
                    }
                    e.fmt_in(f, inner)?;
                }
                if parens {
                    write!(f, ")")?;
                }
                Ok(())
            }
            Expr::Not(e) => {
                write!(f, "NOT ")?;
                e.fmt_in(f, Ctx::InNot)
            }
            Expr::Term { field, value } => write!(f, "{}{}", pre(field), quote_value(value)),
            Expr::Phrase { field, text } => {
                let mut s = String::new();
                for c in text.chars() {
                    if c == '"' || c == '\\' {
                        s.push('\\');
                    }
                    s.push(c);
                }
                write!(f, "{}\"{}\"", pre(field), s)
            }
            Expr::Wildcard { field, pattern } => write!(f, "{}{}", pre(field), pattern),
            Expr::Regex { field, pattern } => {
                write!(f, "{field}:/{}/", pattern.replace('/', "\\/"))
            }
            Expr::Range {
                field,
                lower,
                upper,
            } => {
                let (o, lo) = match lower {
                    Bound::Included(v) => ('[', quote_value(v)),
                    Bound::Excluded(v) => ('{', quote_value(v)),
                    Bound::Unbounded => ('[', "*".into()),
                };
                let (c, hi) = match upper {
                    Bound::Included(v) => (']', quote_value(v)),
                    Bound::Excluded(v) => ('}', quote_value(v)),
                    Bound::Unbounded => (']', "*".into()),
                };
                write!(f, "{field}:{o}{lo} TO {hi}{c}")
            }
            Expr::Exists { field } => write!(f, "_exists_:{field}"),
            Expr::Cidr { field, net } => write!(f, "{field}:{net}"),
        }
    }
}

impl fmt::Display for Expr {
    /// A canonical query that parses back to the same expression (a term whose value needs
    /// quoting prints as a phrase).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_in(f, Ctx::Top)
    }
}

impl Expr {
    /// Every field name the expression refers to.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }
    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::MatchAll => {}
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.collect_fields(out)),
            Expr::Not(e) => e.collect_fields(out),
            Expr::Term { field, .. }
            | Expr::Phrase { field, .. }
            | Expr::Wildcard { field, .. } => {
                if let Some(f) = field {
                    out.push(f);
                }
            }
            Expr::Regex { field, .. }
            | Expr::Range { field, .. }
            | Expr::Exists { field }
            | Expr::Cidr { field, .. } => out.push(field),
        }
    }
}

/// A time expression that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the expression.
    pub offset: usize,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.offset)
    }
}

impl std::error::Error for TimeError {}

fn terr<T>(message: impl Into<String>, offset: usize) -> Result<T, TimeError> {
    Err(TimeError {
        message: message.into(),
        offset,
    })
}

/// Reads a time: RFC 3339, a date (`2026-11-22`, midnight UTC), epoch seconds or milliseconds,
/// or date math: `now`, `now-15m`, `now+1h`, `now-1d/d` (units y M w d h H m s).
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("now") {
        return date_math(rest, now, 3);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Ok(Utc.from_utc_datetime(&t));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = match s.parse() {
            Ok(n) => n,
            Err(_) => return terr("epoch value out of range", 0),
        };
        // 12+ digits: milliseconds.
        let t = if s.len() >= 12 {
            Utc.timestamp_millis_opt(n).single()
        } else {
            Utc.timestamp_opt(n, 0).single()
        };
        return t.map_or_else(|| terr("epoch value out of range", 0), Ok);
    }
    terr(
        format!("'{s}' is not a time (expected RFC 3339, YYYY-MM-DD, epoch, or now-15m)"),
        0,
    )
}

fn date_math(
    mut rest: &str,
    mut t: DateTime<Utc>,
    mut off: usize,
) -> Result<DateTime<Utc>, TimeError> {
    while !rest.is_empty() {
        let op = rest.as_bytes()[0];
        match op {
            b'+' | b'-' => {
                let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return terr("expected a number after '+'/'-'", off + 1);
                }
                let n: i64 = rest[1..1 + digits]
                    .parse()
                    .or_else(|_| terr("number too large", off + 1))?;
                let Some(unit) = rest[1 + digits..].chars().next() else {
                    return terr("expected a unit (y M w d h m s)", off + 1 + digits);
                };
                let n = if op == b'-' { -n } else { n };
                t = add_unit(t, n, unit).ok_or_else(|| TimeError {
                    message: format!(
                        "unknown unit '{unit}' or time out of range (units: y M w d h m s)"
                    ),
                    offset: off + 1 + digits,
                })?;
                let used = 1 + digits + unit.len_utf8();
                rest = &rest[used..];
                off += used;
            }
            b'/' => {
                let Some(unit) = rest[1..].chars().next() else {
                    return terr("expected a unit after '/'", off + 1);
                };
                t = round_down(t, unit).ok_or_else(|| TimeError {
                    message: format!("unknown rounding unit '{unit}'"),
                    offset: off + 1,
                })?;
                let used = 1 + unit.len_utf8();
                rest = &rest[used..];
                off += used;
            }
            _ => return terr("expected '+', '-' or '/' in date math", off),
        }
    }
    Ok(t)
}

fn add_unit(t: DateTime<Utc>, n: i64, unit: char) -> Option<DateTime<Utc>> {
    let months = |m: i64| -> Option<DateTime<Utc>> {
        let m32 = u32::try_from(m.unsigned_abs()).ok()?;
        if m >= 0 {
            t.checked_add_months(chrono::Months::new(m32))
        } else {
            t.checked_sub_months(chrono::Months::new(m32))
        }
    };
    match unit {
        'y' => months(n.checked_mul(12)?),
        'M' => months(n),
        'w' => t.checked_add_signed(Duration::try_weeks(n)?),
        'd' => t.checked_add_signed(Duration::try_days(n)?),
        'h' | 'H' => t.checked_add_signed(Duration::try_hours(n)?),
        'm' => t.checked_add_signed(Duration::try_minutes(n)?),
        's' => t.checked_add_signed(Duration::try_seconds(n)?),
        _ => None,
    }
}

fn round_down(t: DateTime<Utc>, unit: char) -> Option<DateTime<Utc>> {
    let d = t.date_naive();
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|x| Utc.from_utc_datetime(&x));
    match unit {
        'y' => day(NaiveDate::from_ymd_opt(d.year(), 1, 1)?),
        'M' => day(NaiveDate::from_ymd_opt(d.year(), d.month(), 1)?),
        'w' => day(d - Duration::days(i64::from(d.weekday().num_days_from_monday()))),
        'd' => day(d),
        'h' | 'H' => t.with_minute(0)?.with_second(0)?.with_nanosecond(0),
        'm' => t.with_second(0)?.with_nanosecond(0),
        's' => t.with_nanosecond(0),
        _ => None,
    }
}
