//! Case-insensitive HTTP header map; mirrors `http::Headers` in `3rdparty/libprocess/include/process/http.hpp`.

use std::collections::HashMap;
use std::ops::Range;

/// HTTP headers. Names compare case-insensitively; setting a name again replaces its value
/// (the decoder's "last one wins" rule). Insertion order is kept, so responses are written
/// in a stable order.
///
/// All names and values live in one string buffer, so decoding a request's headers costs
/// two allocations however many there are. Past a handful of entries a lower-cased index
/// is kept, so a hostile request with tens of thousands of distinct names costs linear,
/// not quadratic, time.
#[derive(Clone, Debug, Default)]
pub struct Headers {
    text: String,
    entries: Vec<(Range<u32>, Range<u32>)>,
    index: Option<HashMap<String, usize>>,
}

const INDEX_THRESHOLD: usize = 16;

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Headers with room for `bytes` of names and values and `count` entries.
    pub fn with_capacity(bytes: usize, count: usize) -> Headers {
        Headers { text: String::with_capacity(bytes), entries: Vec::with_capacity(count), index: None }
    }

    fn slice(&self, range: &Range<u32>) -> &str {
        &self.text[range.start as usize..range.end as usize]
    }

    fn push_text(&mut self, s: &str) -> Range<u32> {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        start..self.text.len() as u32
    }

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&name.to_ascii_lowercase()).copied(),
            None => self.entries.iter().position(|(n, _)| self.slice(n).eq_ignore_ascii_case(name)),
        }
    }

    fn rebuild_index(&mut self) {
        let index =
            self.entries.iter().enumerate().map(|(i, (n, _))| (self.slice(n).to_ascii_lowercase(), i)).collect();
        self.index = Some(index);
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.slice(&self.entries[i].1))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name.
    pub fn set(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let (name, value) = (name.as_ref(), value.as_ref());
        match self.position(name) {
            Some(i) => {
                let value = self.push_text(value);
                self.entries[i].1 = value;
            }
            None => {
                let name_range = self.push_text(name);
                let value_range = self.push_text(value);
                if let Some(index) = &mut self.index {
                    index.insert(name.to_ascii_lowercase(), self.entries.len());
                }
                self.entries.push((name_range, value_range));
                if self.index.is_none() && self.entries.len() > INDEX_THRESHOLD {
                    self.rebuild_index();
                }
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        let position = self.position(name)?;
        let (_, value) = self.entries.remove(position);
        let value = self.slice(&value).to_string();
        if self.index.is_some() {
            self.rebuild_index();
        }
        Some(value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (self.slice(n), self.slice(v)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_last_wins_with_and_without_index() {
        let mut h = Headers::new();
        h.set("Content-Type", "a");
        h.set("content-type", "b");
        assert_eq!(h.get("CONTENT-TYPE"), Some("b"));
        for i in 0..100 {
            h.set(format!("X-{i}"), i.to_string());
        }
        h.set("x-50", "again");
        assert_eq!(h.get("X-50"), Some("again"));
        assert_eq!(h.get("Content-Type"), Some("b"));
        assert_eq!(h.remove("content-TYPE"), Some("b".to_string()));
        assert_eq!(h.get("x-99"), Some("99"));
        assert_eq!(h.len(), 100);
        assert_eq!(h.iter().next(), Some(("X-0", "0")));
    }

    #[test]
    fn equality_ignores_storage_history() {
        let mut a = Headers::new();
        a.set("A", "1");
        a.set("A", "2");
        let mut b = Headers::new();
        b.set("A", "2");
        assert_eq!(a, b);
    }
}
