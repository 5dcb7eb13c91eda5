//! A block's arguments after baskerville's global defaults are merged in, with typed
//! getters whose errors name the block and the key.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Args {
    /// Where the block sits, e.g. `model.trunk[1] (res_tower)`.
    pub location: String,
    pub source: String,
    pub values: Map<String, Value>,
}

impl Args {
    pub fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::config(&self.source, format!("{}: {msg}", self.location))
    }

    fn present(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    pub fn usize_or(&self, key: &str, default: usize) -> Result<usize> {
        Ok(self.opt_usize(key)?.unwrap_or(default))
    }

    pub fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        match self.present(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) => Ok(Some(n as usize)),
                None => match v.as_f64() {
                    Some(f) if f >= 0.0 && f.fract() == 0.0 => Ok(Some(f as usize)),
                    _ => Err(self.err(format!("\"{key}\" must be a non-negative integer, got {v}"))),
                },
            },
        }
    }

    /// A width or length that baskerville allows as a one-element list (`[5]`).
    pub fn usize_or_single(&self, key: &str, default: usize) -> Result<usize> {
        match self.present(key) {
            Some(Value::Array(list)) if list.len() == 1 => list[0]
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| self.err(format!("\"{key}\" must be an integer"))),
            _ => self.usize_or(key, default),
        }
    }

    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.present(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.err(format!("\"{key}\" must be a number, got {v}"))),
        }
    }

    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64> {
        Ok(self.opt_f64(key)?.unwrap_or(default))
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.present(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(format!("\"{key}\" must be true or false, got {v}"))),
        }
    }

    pub fn present_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.present(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.bool_or(key, false).map(Some),
        }
    }

    /// A string key; JSON `null` means "none" and is returned as `None`.
    pub fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        match self.present(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.err(format!("\"{key}\" must be a string, got {v}"))),
        }
    }

    /// Like `opt_str`, but an absent key takes the block's default while `null` stays none.
    pub fn str_or<'a>(&'a self, key: &str, default: Option<&'a str>) -> Result<Option<&'a str>> {
        match self.present(key) {
            None => Ok(default),
            _ => self.opt_str(key),
        }
    }

    /// Refuses a key that would change the computation in a way not implemented.
    pub fn require(&self, key: &str, ok: bool, what: &str) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(self.err(format!("\"{key}\": {what} is not supported")))
        }
    }
}
