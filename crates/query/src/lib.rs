//! ferrodef's Lucene-like query language: parser, AST and relative time expressions
