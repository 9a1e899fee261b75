//! Word pairs of `summary`, indexed as terms of their own (the field `summary_pairs`), so that
//! a phrase is answered from the inverted index without reading positions (Elasticsearch's
//! `index_phrases` does the same).
//!
//! A phrase of two words matches a document exactly when the document holds the first word at
//! some position and the second at the next one, which is exactly when the pair is one of the
//! document's pairs: the phrase becomes one term, its count a document frequency. A longer
//! phrase needs all its pairs (a cheap filter that leads the search) and its positions (checked
//! only on the documents holding every pair). Reading the positions of every candidate would
//! be most of the time of a phrase over millions of matches (BENCHMARKS.md).
//!
//! The words are those of `summary`'s analyzer (tantivy's `default`: split on non-alphanumeric
//! characters, long tokens dropped, lower-cased), as the phrase's own words are; a pair is made
//! only of words at consecutive positions (a dropped long token leaves a gap, and no pair).

use tantivy::tokenizer::{BoxTokenStream, TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::Index;

/// The name the tokenizer is registered under in every partition's index.
pub const PAIRS_TOKENIZER: &str = "ferrodef_pairs";

/// The analyzer of `summary` (tantivy's `default`).
pub fn summary_analyzer() -> TextAnalyzer {
    tantivy::tokenizer::TokenizerManager::default()
        .get("default")
        .unwrap_or_else(|| TextAnalyzer::from(tantivy::tokenizer::SimpleTokenizer::default()))
}

/// The pair term of two words.
pub fn pair(first: &str, second: &str) -> String {
    let mut s = String::with_capacity(first.len() + 1 + second.len());
    s.push_str(first);
    s.push(' ');
    s.push_str(second);
    s
}

/// Makes the index able to write `summary_pairs`.
pub fn register(index: &Index) {
    index.tokenizers().register(
        PAIRS_TOKENIZER,
        TextAnalyzer::from(PairTokenizer {
            words: summary_analyzer(),
        }),
    );
}

/// Emits "first second" for each two words of the analyzer at consecutive positions.
#[derive(Clone)]
pub struct PairTokenizer {
    words: TextAnalyzer,
}

pub struct PairStream<'a> {
    words: BoxTokenStream<'a>,
    /// The previous word and its position.
    prev: Option<(String, usize)>,
    token: Token,
}

impl Tokenizer for PairTokenizer {
    type TokenStream<'a> = PairStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PairStream<'a> {
        PairStream {
            words: self.words.token_stream(text),
            prev: None,
            token: Token::default(),
        }
    }
}

impl TokenStream for PairStream<'_> {
    fn advance(&mut self) -> bool {
        while self.words.advance() {
            let word = self.words.token();
            let made = match &self.prev {
                Some((prev, pos)) if pos + 1 == word.position => {
                    self.token.text.clear();
                    self.token.text.push_str(prev);
                    self.token.text.push(' ');
                    self.token.text.push_str(&word.text);
                    self.token.position = *pos;
                    self.token.offset_to = word.offset_to;
                    true
                }
                _ => false,
            };
            let (text, offset_from, position) =
                (word.text.as_str(), word.offset_from, word.position);
            match &mut self.prev {
                Some((prev, pos)) => {
                    prev.clear();
                    prev.push_str(text);
                    *pos = position;
                }
                None => self.prev = Some((text.to_string(), position)),
            }
            if made {
                return true;
            }
            self.token.offset_from = offset_from;
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, usize)> {
        let mut t = TextAnalyzer::from(PairTokenizer {
            words: summary_analyzer(),
        });
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            out.push((s.token().text.clone(), s.token().position));
        }
        out
    }

    #[test]
    fn pairs_are_consecutive_words_lower_cased() {
        assert_eq!(
            pairs("Failed password for root"),
            vec![
                ("failed password".to_string(), 0),
                ("password for".to_string(), 1),
                ("for root".to_string(), 2)
            ]
        );
        assert!(pairs("one").is_empty());
        assert!(pairs("").is_empty());
        // A token longer than the analyzer keeps is dropped and leaves a gap: no pair across.
        let long = "x".repeat(60);
        assert_eq!(
            pairs(&format!("a {long} b c")),
            vec![("b c".to_string(), 2)]
        );
    }
}
