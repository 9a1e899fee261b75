//! Sinks of the ferrodef pipeline: the write-ahead log and the indexer that feeds the store
