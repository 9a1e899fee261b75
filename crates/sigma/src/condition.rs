//! The `condition` expression: `and`, `or`, `not`, parentheses, `1 of X*`, `all of X*`,
//! `N of them`, and identifiers. Precedence (lowest first): `or`, `and`, `not`.
//! The deprecated aggregation syntax (`| count() by x > 5`) is rejected with a reason:
//! correlation rules replace it.

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cond {
    Ident(String),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// `N of pattern` / `all of pattern`; `pattern` `None` is `them`.
    Of {
        quantity: Quantity,
        pattern: Option<String>,
    },
}

/// How many selections `of` needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quantity {
    All,
    AtLeast(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    Pipe,
}

/// Longest accepted condition and deepest nesting (hostile input).
const MAX_LEN: usize = 64 * 1024;
const MAX_DEPTH: usize = 64;

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    if s.len() > MAX_LEN {
        return Err(format!("condition longer than {MAX_LEN} bytes"));
    }
    let mut out = Vec::new();
    let mut word = String::new();
    for c in s.chars() {
        match c {
            '(' | ')' | '|' => {
                if !word.is_empty() {
                    out.push(Token::Word(std::mem::take(&mut word)));
                }
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Pipe,
                });
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    out.push(Token::Word(std::mem::take(&mut word)));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(Token::Word(word));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// Parses a condition.
pub(crate) fn parse(s: &str) -> Result<Cond, String> {
    let toks = tokenize(s)?;
    if toks.contains(&Token::Pipe) {
        return Err("aggregation conditions (`| count() ...`) are deprecated and not supported: write a correlation rule".into());
    }
    if toks.is_empty() {
        return Err("empty condition".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let c = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!(
            "unexpected {} in condition",
            describe(&p.toks[p.pos])
        ));
    }
    Ok(c)
}

fn describe(t: &Token) -> String {
    match t {
        Token::Word(w) => format!("`{w}`"),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::Pipe => "`|`".into(),
    }
}

fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.and()?];
        while is_kw(self.peek(), "or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::Or(items)
        })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.not()?];
        while is_kw(self.peek(), "and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Cond::And(items)
        })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if is_kw(self.peek(), "not") {
            self.pos += 1;
            self.enter()?;
            let inner = self.not();
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner?)));
        }
        self.primary()
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("condition nested deeper than {MAX_DEPTH}"));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Cond, String> {
        match self.peek().cloned() {
            Some(Token::Open) => {
                self.pos += 1;
                self.enter()?;
                let inner = self.or();
                self.depth -= 1;
                let inner = inner?;
                if self.peek() != Some(&Token::Close) {
                    return Err("missing `)` in condition".into());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Word(w)) => {
                self.pos += 1;
                if is_kw(self.peek(), "of") {
                    let quantity = if w.eq_ignore_ascii_case("all") {
                        Quantity::All
                    } else {
                        match w.parse::<usize>() {
                            Ok(n) => Quantity::AtLeast(n),
                            Err(_) => return Err(format!("`{w} of`: expected a number or `all`")),
                        }
                    };
                    self.pos += 1;
                    let target = match self.peek() {
                        Some(Token::Word(t)) => t.clone(),
                        _ => return Err(format!("`{w} of` without a selection pattern")),
                    };
                    self.pos += 1;
                    let pattern = if target.eq_ignore_ascii_case("them") {
                        None
                    } else {
                        Some(target)
                    };
                    return Ok(Cond::Of { quantity, pattern });
                }
                if ["and", "or", "not", "of"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k))
                {
                    return Err(format!("unexpected `{w}` in condition"));
                }
                Ok(Cond::Ident(w))
            }
            Some(t) => Err(format!("unexpected {} in condition", describe(&t))),
            None => Err("condition ends too early".into()),
        }
    }
}

/// Whether a selection name matches an `of` pattern (`*` any run of characters).
pub(crate) fn name_matches(pattern: &str, name: &str) -> bool {
    fn rec(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| rec(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && rec(rest, &n[1..]),
        }
    }
    rec(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Cond {
        Cond::Ident(s.into())
    }

    #[test]
    fn precedence_and_parentheses() {
        assert_eq!(
            parse("a or b and not c").ok(),
            Some(Cond::Or(vec![
                id("a"),
                Cond::And(vec![id("b"), Cond::Not(Box::new(id("c")))])
            ]))
        );
        assert_eq!(
            parse("(a or b) and c").ok(),
            Some(Cond::And(vec![Cond::Or(vec![id("a"), id("b")]), id("c")]))
        );
        assert_eq!(
            parse("1 of selection_* and not all of them").ok(),
            Some(Cond::And(vec![
                Cond::Of {
                    quantity: Quantity::AtLeast(1),
                    pattern: Some("selection_*".into())
                },
                Cond::Not(Box::new(Cond::Of {
                    quantity: Quantity::All,
                    pattern: None
                }))
            ]))
        );
    }

    #[test]
    fn errors() {
        assert!(parse("selection | count() > 5").is_err());
        assert!(parse("(a and b").is_err());
        assert!(parse("a and").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("x of them").is_err());
        assert!(parse(&"(".repeat(100)).is_err());
        assert!(parse(&"not ".repeat(100)).is_err());
    }

    #[test]
    fn of_patterns() {
        assert!(name_matches("selection_*", "selection_img"));
        assert!(name_matches("sel*ion", "selection"));
        assert!(!name_matches("filter_*", "selection"));
    }
}
