//! Case-insensitive HTTP header map; mirrors `http::Headers` in `3rdparty/libprocess/include/process/http.hpp`.

/// HTTP headers. Names compare case-insensitively; setting a name again replaces its value
/// (the decoder's "last one wins" rule). Insertion order is kept, so responses are written
/// in a stable order.
///
/// Past a handful of entries a lower-cased index is kept, so a hostile request with tens of
/// thousands of distinct header names costs linear, not quadratic, time.
#[derive(Clone, Debug, Default)]
pub struct Headers {
    entries: Vec<(String, String)>,
    index: Option<std::collections::HashMap<String, usize>>,
}

const INDEX_THRESHOLD: usize = 16;

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.entries == other.entries
    }
}

impl Eq for Headers {}

impl Headers {
    pub fn new() -> Headers {
        Headers { entries: Vec::new(), index: None }
    }

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&name.to_ascii_lowercase()).copied(),
            None => self.entries.iter().position(|(k, _)| k.eq_ignore_ascii_case(name)),
        }
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).map(|i| self.entries[i].1.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` to `value`, replacing an earlier value of the same name.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.position(&name) {
            Some(i) => self.entries[i].1 = value,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(name.to_ascii_lowercase(), self.entries.len());
                }
                self.entries.push((name, value));
                if self.index.is_none() && self.entries.len() > INDEX_THRESHOLD {
                    self.index =
                        Some(self.entries.iter().enumerate().map(|(i, (k, _))| (k.to_ascii_lowercase(), i)).collect());
                }
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        let position = self.position(name)?;
        let (_, value) = self.entries.remove(position);
        if self.index.is_some() {
            self.index = Some(self.entries.iter().enumerate().map(|(i, (k, _))| (k.to_ascii_lowercase(), i)).collect());
        }
        Some(value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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
    }
}
