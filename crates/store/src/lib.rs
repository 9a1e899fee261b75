//! Storage behind one trait: the embedded tantivy backend, partitioned by day
