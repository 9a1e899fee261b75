//! The recursive-descent parser: tokens to [`Expr`].

use std::ops::Bound;

use crate::ast::Expr;
use crate::error::{err, ParseError};
use crate::lexer::Tok;
use crate::{check_regex, parse_time, MAX_CLAUSES, MAX_DEPTH};

pub(crate) struct Parser {
    toks: Vec<(Tok, usize)>,
    i: usize,
    len: usize,
    depth: usize,
    /// Clauses (leaves of the tree) so far.
    clauses: usize,
}

impl Parser {
    /// A parser of `toks`, read from a query of `len` bytes.
    pub(crate) fn new(toks: Vec<(Tok, usize)>, len: usize) -> Parser {
        Parser {
            toks,
            i: 0,
            len,
            depth: 0,
            clauses: 0,
        }
    }

    /// Counts a clause found at `pos` against [`MAX_CLAUSES`] and checks the limits of its
    /// kind (regular expression size, times in ranges).
    fn leaf(&mut self, pos: usize, e: Expr) -> Result<Expr, ParseError> {
        self.clauses += 1;
        if self.clauses > MAX_CLAUSES {
            return err(
                format!("more than {MAX_CLAUSES} clauses in the query (the limit)"),
                pos,
            );
        }
        match &e {
            Expr::Regex { pattern, .. } => {
                if let Err(m) = check_regex(pattern) {
                    return err(m, pos);
                }
            }
            Expr::Range { lower, upper, .. } => {
                // Date math is only ever a time: check it now, where the position is known.
                for v in [lower, upper] {
                    if let Bound::Included(v) | Bound::Excluded(v) = v {
                        if v.starts_with("now") {
                            if let Err(e) = parse_time(v, chrono::Utc::now()) {
                                return err(
                                    format!("'{v}' is not a usable time: {}", e.message),
                                    pos,
                                );
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(e)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.len, |t| t.1)
    }
    pub(crate) fn next(&mut self) -> Option<(Tok, usize)> {
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

    pub(crate) fn or(&mut self, field: Option<&str>) -> Result<Expr, ParseError> {
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
                let vp = self.pos();
                let e = self.value(&name, p)?;
                match e {
                    Expr::And(_) | Expr::Or(_) | Expr::Not(_) | Expr::MatchAll => Ok(e),
                    leaf => self.leaf(vp, leaf),
                }
            }
            // `_exists_:(a b)`: each word is a field name, as in `_exists_:a`.
            Tok::Word { text, wild, .. } if field == Some("_exists_") => {
                let e = exists(text, wild, p)?;
                self.leaf(p, e)
            }
            Tok::Word { text, raw, wild } => self.leaf(p, word_expr(field, text, raw, wild)),
            Tok::Quoted(text) => self.leaf(
                p,
                Expr::Phrase {
                    field: field.map(str::to_string),
                    text,
                },
            ),
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
                    return exists(text, wild, p);
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

/// `_exists_:name`: a field name, without wildcards.
fn exists(field: String, wild: bool, p: usize) -> Result<Expr, ParseError> {
    if wild {
        return err("_exists_ takes a field name", p);
    }
    Ok(Expr::Exists { field })
}
