//! Agent attributes (`--attributes`): parsing with type inference, lookup and order-independent equality; mirrors `src/common/attributes.cpp` (`include/mesos/attributes.hpp`).
//!
//! Where C++ aborts the agent (`LOG(FATAL)`) on a bad attribute text, [`Attributes::parse`]
//! returns an [`AttributesError`].

use std::fmt;

use crate::proto::value::{Ranges, Scalar, Text, Type};
use crate::proto::Attribute;
use crate::values::{self, MesosValue, ValueError};

/// Why an attributes text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributesError {
    /// A `;`-separated token is not `name:value` with both parts non-empty.
    #[error("invalid attribute key:value pair '{0}'")]
    BadPair(String),
    /// The value did not parse.
    #[error("failed to parse attribute '{name}' text '{text}': {source}")]
    Value {
        /// The attribute name.
        name: String,
        /// The value text as given.
        text: String,
        /// What was wrong with it.
        #[source]
        source: ValueError,
    },
    /// The value is a set (`{a,b}`), which attributes cannot be.
    #[error("bad type for attribute '{name}' text '{text}': attributes cannot be sets")]
    SetValue {
        /// The attribute name.
        name: String,
        /// The value text as given.
        text: String,
    },
}

/// An ordered list of attributes. Names need not be unique (`dedicated:a;dedicated:b`).
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    attributes: Vec<Attribute>,
}

impl Attributes {
    /// Parses `name:value;name:value` (also separated by newlines). Only the first `:` of a
    /// pair separates, so `attr:foo:bar` is the text `foo:bar`. The value's type is inferred as
    /// by [`values::parse`]: `[a-b,...]` ranges, a non-negative number a scalar, anything else
    /// text (spaces removed); sets are refused.
    pub fn parse(text: &str) -> Result<Attributes, AttributesError> {
        let mut result = Attributes::default();
        for token in values::tokenize(text, &[';', '\n']) {
            match token.split_once(':') {
                Some((name, value)) if !name.is_empty() && !value.is_empty() => {
                    result.add(Attributes::parse_attribute(name, value)?);
                }
                _ => return Err(AttributesError::BadPair(token.to_owned())),
            }
        }
        Ok(result)
    }

    /// Parses one attribute value.
    pub fn parse_attribute(name: &str, text: &str) -> Result<Attribute, AttributesError> {
        let value = values::parse(text).map_err(|source| AttributesError::Value {
            name: name.to_owned(),
            text: text.to_owned(),
            source,
        })?;
        let mut attribute = Attribute { name: name.to_owned(), r#type: value.r#type, ..Attribute::default() };
        match value.r#type() {
            Type::Scalar => attribute.scalar = value.scalar,
            Type::Ranges => attribute.ranges = value.ranges,
            Type::Text => attribute.text = value.text,
            Type::Set => return Err(AttributesError::SetValue { name: name.to_owned(), text: text.to_owned() }),
        }
        Ok(attribute)
    }

    /// Whether an attribute is well-formed: a name, and a value of its (non-set) type.
    pub fn is_valid(attribute: &Attribute) -> bool {
        if attribute.name.is_empty() {
            return false;
        }
        match Type::try_from(attribute.r#type) {
            Ok(Type::Scalar) => attribute.scalar.is_some(),
            Ok(Type::Ranges) => attribute.ranges.is_some(),
            Ok(Type::Text) => attribute.text.is_some(),
            Ok(Type::Set) | Err(_) => false,
        }
    }

    /// Appends an attribute (no de-duplication).
    pub fn add(&mut self, attribute: Attribute) {
        self.attributes.push(attribute);
    }

    /// The number of attributes.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// The attributes in order.
    pub fn iter(&self) -> impl Iterator<Item = &Attribute> + '_ {
        self.attributes.iter()
    }

    /// The attributes as protobufs.
    pub fn to_vec(&self) -> Vec<Attribute> {
        self.attributes.clone()
    }

    /// The first attribute with this name and type.
    pub fn get(&self, name: &str, kind: Type) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name && a.r#type == kind as i32)
    }

    /// The first scalar attribute named `name`.
    pub fn get_scalar(&self, name: &str) -> Option<&Scalar> {
        self.get(name, Type::Scalar).and_then(|a| a.scalar.as_ref())
    }

    /// The first ranges attribute named `name`.
    pub fn get_ranges(&self, name: &str) -> Option<&Ranges> {
        self.get(name, Type::Ranges).and_then(|a| a.ranges.as_ref())
    }

    /// The first text attribute named `name`.
    pub fn get_text(&self, name: &str) -> Option<&Text> {
        self.get(name, Type::Text).and_then(|a| a.text.as_ref())
    }

    /// Whether an attribute with the same name, type and (Mesos-equal) value is present.
    /// Set attributes are never contained (C++ aborts on them).
    pub fn contains(&self, attribute: &Attribute) -> bool {
        self.attributes.iter().any(|a| {
            a.name == attribute.name
                && a.r#type == attribute.r#type
                && match a.r#type() {
                    Type::Scalar => a.scalar.unwrap_or_default().mesos_eq(&attribute.scalar.unwrap_or_default()),
                    Type::Ranges => {
                        a.ranges.clone().unwrap_or_default().mesos_eq(&attribute.ranges.clone().unwrap_or_default())
                    }
                    Type::Text => a.text == attribute.text,
                    Type::Set => false,
                }
        })
    }
}

impl PartialEq for Attributes {
    /// Same size and each side contains every attribute of the other, in any order.
    /// Duplicates are not counted, as in C++.
    fn eq(&self, other: &Attributes) -> bool {
        self.len() == other.len()
            && self.attributes.iter().all(|a| other.contains(a))
            && other.attributes.iter().all(|a| self.contains(a))
    }
}

impl FromIterator<Attribute> for Attributes {
    fn from_iter<I: IntoIterator<Item = Attribute>>(iter: I) -> Attributes {
        Attributes { attributes: iter.into_iter().collect() }
    }
}

/// Formats an attribute as C++ `operator<<` does: `name=value`.
pub struct DisplayAttribute<'a>(pub &'a Attribute);

impl fmt::Display for DisplayAttribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(f, "{}=", a.name)?;
        match a.r#type() {
            Type::Scalar => write!(f, "{}", a.scalar.unwrap_or_default()),
            Type::Ranges => write!(f, "{}", a.ranges.clone().unwrap_or_default()),
            Type::Set => write!(f, "{}", a.set.clone().unwrap_or_default()),
            Type::Text => write!(f, "{}", a.text.clone().unwrap_or_default()),
        }
    }
}
