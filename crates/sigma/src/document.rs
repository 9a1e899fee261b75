//! Reading rule files: YAML documents (several per file, `---`), Sigma rule collections
//! (`action: global` / `reset` / `repeat`), the document kind (detection rule, correlation,
//! filter) and the line of a key for messages.

use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping as YamlMap, Value as Yaml};

/// Largest rule file accepted (hostile input).
pub(crate) const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// One YAML document of a rule file, after collection actions were applied.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) path: PathBuf,
    /// 1-based line where the document starts in the file.
    pub(crate) start_line: usize,
    /// The document's own text (to find the lines of keys).
    pub(crate) text: String,
    pub(crate) map: YamlMap,
}

impl Document {
    /// The 1-based line of the first line that starts with `key` (after indentation, a list
    /// dash or a quote), else the document's first line.
    pub(crate) fn line_of(&self, key: Option<&str>) -> usize {
        let Some(key) = key else {
            return self.start_line;
        };
        self.text
            .lines()
            .position(|l| {
                let t = l.trim_start().trim_start_matches("- ").trim_start();
                let t = t.trim_start_matches(['\'', '"']);
                t.starts_with(key)
            })
            .map(|i| self.start_line + i)
            .unwrap_or(self.start_line)
    }

    /// A string field.
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(Yaml::as_str)
    }
}

/// A problem reading a file: (line, reason).
pub(crate) type ReadProblem = (Option<usize>, String);

/// Splits `text` into YAML documents at `---` lines and parses each; applies collection
/// actions. Documents that are empty are left out.
pub(crate) fn read_documents(path: &Path, text: &str) -> (Vec<Document>, Vec<ReadProblem>) {
    let mut docs = Vec::new();
    let mut problems = Vec::new();
    if text.len() > MAX_FILE_BYTES {
        problems.push((None, format!("file larger than {MAX_FILE_BYTES} bytes")));
        return (docs, problems);
    }
    let mut global: Option<YamlMap> = None;
    let mut previous: Option<YamlMap> = None;
    for (start_line, chunk) in split_documents(text) {
        if chunk.trim().is_empty()
            || chunk
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let value: Yaml = match serde_yaml_ng::from_str(&chunk) {
            Ok(v) => v,
            Err(e) => {
                let line = e.location().map(|l| start_line + l.line() - 1);
                problems.push((line, format!("invalid YAML: {e}")));
                continue;
            }
        };
        let map = match value {
            Yaml::Mapping(m) => m,
            Yaml::Null => continue,
            _ => {
                problems.push((
                    Some(start_line),
                    "a rule document must be a YAML map".into(),
                ));
                continue;
            }
        };
        let action = map.get("action").and_then(Yaml::as_str).map(str::to_string);
        match action.as_deref() {
            Some("global") => {
                let mut g = map;
                g.remove("action");
                global = Some(g);
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => {
                let Some(prev) = previous.clone() else {
                    problems.push((
                        Some(start_line),
                        "`action: repeat` without a previous document".into(),
                    ));
                    continue;
                };
                let mut m = map;
                m.remove("action");
                let merged = merge(prev, m);
                previous = Some(merged.clone());
                docs.push(Document {
                    path: path.to_path_buf(),
                    start_line,
                    text: chunk,
                    map: merged,
                });
                continue;
            }
            Some(other) => {
                problems.push((
                    Some(start_line),
                    format!("unknown collection action `{other}`"),
                ));
                continue;
            }
            None => {}
        }
        let merged = match &global {
            Some(g) => merge(g.clone(), map),
            None => map,
        };
        previous = Some(merged.clone());
        docs.push(Document {
            path: path.to_path_buf(),
            start_line,
            text: chunk,
            map: merged,
        });
    }
    (docs, problems)
}

/// `(first line, text)` of each `---`-separated document.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") || t == "..." {
            out.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    out.push((start, cur));
    out
}

/// Deep merge: maps merge key by key, anything else in `over` replaces `base`.
fn merge(mut base: YamlMap, over: YamlMap) -> YamlMap {
    for (k, v) in over {
        let merged = match (base.remove(&k), v) {
            (Some(Yaml::Mapping(b)), Yaml::Mapping(o)) => Yaml::Mapping(merge(b, o)),
            (_, v) => v,
        };
        base.insert(k, merged);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_merge_global_and_repeat() {
        let text = "action: global\ntitle: T\nlogsource:\n  product: windows\n---\nid: a\ndetection: {s: {A: 1}, condition: s}\n---\naction: repeat\nid: b\n---\naction: reset\n---\ntitle: U\n";
        let (docs, problems) = read_documents(Path::new("x.yml"), text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].str("title"), Some("T"));
        assert_eq!(docs[1].str("id"), Some("b"));
        assert!(docs[1].map.get("detection").is_some());
        assert_eq!(docs[2].str("title"), Some("U"));
        assert!(docs[2].map.get("logsource").is_none());
        assert_eq!(docs[1].start_line, 9);
    }

    #[test]
    fn yaml_errors_carry_the_file_line() {
        let text = "title: a\n---\ntitle: b\n  bad: [\n";
        let (_, problems) = read_documents(Path::new("x.yml"), text);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].0.is_some_and(|l| l >= 3), "{problems:?}");
    }
}
