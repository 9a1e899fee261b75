//! The tantivy schema of a partition.
//!
//! MozDef's Elasticsearch mapping (`defaultMappingTemplate.json`) made `summary` analysed text and
//! every other string an exact keyword; `details.sourceipaddress` and
//! `details.destinationipaddress` were IP-typed. Here:
//! - `summary`: text, lower-cased word tokens with positions (phrases);
//! - `utctimestamp`, `receivedtimestamp`: dates (fast fields, not indexed) for time filters,
//!   sort, histograms;
//! - `timestamp` (the event's own time; MozDef maps it as a date too): a date, fast only, so
//!   that nearly every event does not add a term of its own to the inverted index that only
//!   time ranges on `timestamp` would use. A value
//!   that is not a date tantivy can hold (a custom document's non-RFC 3339 string, a year
//!   outside 1677–2262) stays in `f`; queries on `timestamp` look in both. Partitions created
//!   before the field existed keep `timestamp` in `f` (queries follow each partition's schema);
//! - `f`: a JSON field holding every other field of the document (top-level keywords such as
//!   `category`, `hostname`, `tags`, and all of `details.*`), indexed untokenized (exact,
//!   case-sensitive) and fast (terms aggregations, range queries, `_exists_`); numbers and
//!   RFC 3339 strings are also indexed as numbers and dates;
//! - `ip_src`, `ip_dst`: the two IP-typed fields, for CIDR and IP range search; indexed only:
//!   CIDR and range queries walk the sorted address terms. They are not fast fields: a fast IP
//!   column makes every merge build a map of all the distinct addresses, whose memory grows
//!   with their number (BENCHMARKS.md). Partitions written with fast IP fields still read and
//!   write (queries follow each partition's schema);
//! - `summary_pairs`: the pairs of consecutive words of `summary`, one term each, documents
//!   only (no positions): a phrase of two words is one term (see `pairs.rs`). Partitions
//!   created before the field existed answer phrases from `summary`'s positions;
//! - `_source`: the document as JSON, stored, returned by searches.

use ferrodef_event::{IpField, DESTINATION_IP, SOURCE_IP};
use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, IpAddrOptions, JsonObjectOptions,
    Schema, TextFieldIndexing, TextOptions, STORED,
};

/// Name of the JSON field holding all keyword and `details.*` fields.
pub const JSON_FIELD: &str = "f";
/// Handles to the fields of the schema.
#[derive(Debug, Clone)]
pub struct Fields {
    pub schema: Schema,
    pub source: Field,
    pub summary: Field,
    pub utctimestamp: Field,
    pub receivedtimestamp: Field,
    pub json: Field,
    pub ip_src: Field,
    pub ip_dst: Field,
    /// `None` in partitions created before `timestamp` had a field of its own.
    pub timestamp: Option<Field>,
    /// `None` in partitions created before phrases had their word pairs indexed.
    pub summary_pairs: Option<Field>,
}

impl Fields {
    /// Builds the schema.
    pub fn new() -> Fields {
        let mut b = Schema::builder();
        let source = b.add_bytes_field("_source", STORED);
        let summary = b.add_text_field(
            "summary",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        );
        // Fast only: time filters, exact times, `_exists_`, sorting and histograms all run on
        // the fast field (tantivy's range queries use it when there is one); an inverted index
        // of the times would be written and merged but never read.
        let date = DateOptions::default()
            .set_fast()
            .set_precision(DateTimePrecision::Milliseconds);
        let utctimestamp = b.add_date_field("utctimestamp", date.clone());
        let receivedtimestamp = b.add_date_field("receivedtimestamp", date.clone());
        let json = b.add_json_field(
            JSON_FIELD,
            JsonObjectOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("raw")
                        .set_index_option(IndexRecordOption::Basic),
                )
                .set_fast("raw"),
        );
        let ip = IpAddrOptions::default().set_indexed();
        let ip_src = b.add_ip_addr_field("ip_src", ip.clone());
        let ip_dst = b.add_ip_addr_field("ip_dst", ip);
        // Last, so that the fields before them keep the numbers they have in older partitions.
        let timestamp = b.add_date_field("timestamp", date);
        let summary_pairs = b.add_text_field(
            "summary_pairs",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(super::pairs::PAIRS_TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        );
        Fields {
            schema: b.build(),
            source,
            summary,
            utctimestamp,
            receivedtimestamp,
            json,
            ip_src,
            ip_dst,
            timestamp: Some(timestamp),
            summary_pairs: Some(summary_pairs),
        }
    }

    /// Resolves a handle from an existing index's schema (same names).
    pub fn from_schema(schema: Schema) -> Option<Fields> {
        Some(Fields {
            source: schema.get_field("_source").ok()?,
            summary: schema.get_field("summary").ok()?,
            utctimestamp: schema.get_field("utctimestamp").ok()?,
            receivedtimestamp: schema.get_field("receivedtimestamp").ok()?,
            json: schema.get_field(JSON_FIELD).ok()?,
            ip_src: schema.get_field("ip_src").ok()?,
            ip_dst: schema.get_field("ip_dst").ok()?,
            timestamp: schema.get_field("timestamp").ok(),
            summary_pairs: schema.get_field("summary_pairs").ok(),
            schema,
        })
    }

    /// The IP-typed fields of the event ([`ferrodef_event::IP_FIELDS`]), each with the tantivy
    /// field that indexes it.
    pub fn ip_fields(&self) -> [(IpField, Field); 2] {
        [(SOURCE_IP, self.ip_src), (DESTINATION_IP, self.ip_dst)]
    }

    /// The IP field for a document field name, if that field is IP-typed.
    pub fn ip_field(&self, name: &str) -> Option<Field> {
        self.ip_fields()
            .into_iter()
            .find(|(ip, _)| ip.path == name)
            .map(|(_, field)| field)
    }
}

impl Default for Fields {
    fn default() -> Self {
        Fields::new()
    }
}
