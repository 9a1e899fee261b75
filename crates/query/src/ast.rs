//! The syntax tree of a query, and how it prints back as a query.

use std::fmt;
use std::ops::Bound;

use crate::lexer::SPECIAL;

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

/// A word with every character that would end it or change its meaning escaped.
fn escape_word(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        if c.is_whitespace()
            || SPECIAL.contains(&c)
            || matches!(
                c,
                '*' | '?' | '!' | '+' | '-' | '<' | '>' | '&' | '|' | '\\'
            )
        {
            s.push('\\');
        }
        s.push(c);
    }
    s
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
            Expr::Wildcard { field, pattern } => {
                // After `field:` a leading '<' or '>' would read as a comparison (a pattern
                // from a field group, `f:(>a*)`, has none): escaped, it means the same.
                let esc = field.is_some() && pattern.starts_with(['<', '>']);
                write!(
                    f,
                    "{}{}{}",
                    pre(field),
                    if esc { "\\" } else { "" },
                    pattern
                )
            }
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
            Expr::Exists { field } => write!(f, "_exists_:{}", escape_word(field)),
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
