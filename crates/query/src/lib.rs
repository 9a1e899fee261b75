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
//!
//! Limits, so that no query can make the server work without bound: the query text
//! ([`MAX_QUERY_BYTES`]), its clauses ([`MAX_CLAUSES`]), nesting ([`MAX_DEPTH`]), the size of a
//! regular expression ([`MAX_REGEX_BYTES`], [`MAX_REGEX_SIZE`]) and the range of times
//! (years 0 to 9999).
//!
//! Modules: [`ast`] (the tree and its printing), `lexer`, `parser`, [`time`] (times and date
//! math), `pattern` (wildcards and regular expressions), [`matcher`] (evaluating a query
//! against one event in memory, with the store's semantics).

pub mod ast;
mod error;
mod lexer;
pub mod matcher;
mod parser;
mod pattern;
pub mod time;

pub use ast::Expr;
pub use error::ParseError;
pub use matcher::{Doc, MatchError, Matcher, Words};
pub use pattern::{check_regex, wildcard_to_regex, MAX_REGEX_BYTES, MAX_REGEX_SIZE};
pub use time::{parse_time, DateMath, TimeError};

use error::err;
use lexer::Tok;

/// Maximum nesting of parentheses and NOTs.
pub const MAX_DEPTH: usize = 64;
/// Longest query text, in bytes.
pub const MAX_QUERY_BYTES: usize = 32 * 1024;
/// Most clauses (terms, phrases, patterns, ranges... after field groups are expanded) in one
/// query.
pub const MAX_CLAUSES: usize = 1024;

/// Parses a query. An empty query, `*` and `*:*` match everything.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    if input.len() > MAX_QUERY_BYTES {
        return err(
            format!(
                "query of {} bytes is longer than the limit of {MAX_QUERY_BYTES} bytes",
                input.len()
            ),
            MAX_QUERY_BYTES,
        );
    }
    let trimmed = input.trim();
    if trimmed.is_empty() || trimmed == "*" || trimmed == "*:*" {
        return Ok(Expr::MatchAll);
    }
    let toks = lexer::tokens(input)?;
    let mut p = parser::Parser::new(toks, input.len());
    let e = p.or(None)?;
    if let Some((t, pos)) = p.next() {
        return match t {
            Tok::RParen => err("unbalanced ')'", pos),
            _ => err("unexpected input", pos),
        };
    }
    Ok(e)
}
