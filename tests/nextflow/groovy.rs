//! Reads an nf-core-style module's `main.nf` and renders its `script:` / `stub:` blocks the
//! way Nextflow would, for the small Groovy subset nextflow/modules/shorkie/CONVENTIONS.md
//! allows. Anything outside that subset is an error, not a guess: a module that drifts from
//! the conventions fails here rather than running a command Nextflow would not.

use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    List(Vec<String>),
    Null,
}

impl Value {
    pub fn s(s: &str) -> Value {
        Value::Str(s.to_string())
    }

    pub fn files(names: &[&str]) -> Value {
        Value::List(names.iter().map(|s| s.to_string()).collect())
    }

    /// Groovy truth: null, '' and [] are false.
    fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Null => false,
        }
    }

    fn render(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            // A staged list of files interpolates as its names separated by spaces.
            Value::List(l) => l.join(" "),
            Value::Null => "null".to_string(),
        }
    }
}

/// What the harness binds: input names, `meta.*`, `task.*`. Missing `task.ext.*` and
/// `task.accelerator` read as null, as in Nextflow.
pub type Bindings = HashMap<String, Value>;

#[derive(Debug)]
pub struct Section {
    pub defs: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug)]
pub struct OutputDecl {
    pub pattern: String,
    pub optional: bool,
    pub line: String,
}

#[derive(Debug)]
pub struct Module {
    pub path: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<OutputDecl>,
    pub evals: Vec<String>,
    pub script: Section,
    pub stub: Option<Section>,
}

impl Module {
    pub fn read(path: &Path) -> Module {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        parse(&text, &path.display().to_string())
    }

    /// The shell command of the `script:` block with these bindings.
    pub fn script(&self, b: &Bindings) -> Result<String, String> {
        self.check_inputs(b)?;
        render_section(&self.script, b).map_err(|e| format!("{}: script: {e}", self.path))
    }

    pub fn stub(&self, b: &Bindings) -> Result<String, String> {
        self.check_inputs(b)?;
        let stub = self.stub.as_ref().ok_or_else(|| format!("{}: no stub: block", self.path))?;
        render_section(stub, b).map_err(|e| format!("{}: stub: {e}", self.path))
    }

    /// Output patterns with the script's defs (e.g. `prefix`) in scope.
    pub fn output_patterns(&self, b: &Bindings) -> Result<Vec<(String, bool, String)>, String> {
        let scope = with_defs(&self.script, b)?;
        self.outputs
            .iter()
            .map(|o| Ok((interpolate(&o.pattern, &scope)?, o.optional, o.line.clone())))
            .collect()
    }

    fn check_inputs(&self, b: &Bindings) -> Result<(), String> {
        for name in &self.inputs {
            let prefix = format!("{name}.");
            if !b.contains_key(name) && !b.keys().any(|k| k.starts_with(&prefix)) {
                return Err(format!("{}: input `{name}` is not bound by the test", self.path));
            }
        }
        Ok(())
    }
}

fn parse(text: &str, path: &str) -> Module {
    let mut section = "";
    let mut sections: HashMap<&str, Vec<&str>> = HashMap::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_suffix(':') {
            if ["input", "output", "when", "script", "stub"].contains(&name) {
                section = ["input", "output", "when", "script", "stub"].into_iter().find(|s| *s == name).unwrap();
                continue;
            }
        }
        if !section.is_empty() {
            sections.entry(section).or_default().push(line);
        }
    }
    let get = |s: &str| sections.get(s).cloned().unwrap_or_default();
    let inputs = get("input").iter().flat_map(|l| input_names(l)).collect();
    let mut outputs = Vec::new();
    let mut evals = Vec::new();
    for l in get("output") {
        let optional = l.contains("optional: true") || l.contains("optional:true");
        for p in quoted_calls(l, "path") {
            outputs.push(OutputDecl { pattern: p, optional, line: l.trim().to_string() });
        }
        evals.extend(quoted_calls(l, "eval"));
    }
    let script = section_of(&get("script"), path, "script");
    let stub = sections.get("stub").map(|l| section_of(l, path, "stub"));
    Module { path: path.to_string(), inputs, outputs, evals, script, stub }
}

/// Names declared by `val(x)`, `path(x)`, `path x` (qualifiers like `stageAs:` aside).
fn input_names(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let t = line.trim();
    for kw in ["val", "path"] {
        let mut rest = t;
        while let Some(i) = rest.find(kw) {
            let before_ok = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_';
            let after = &rest[i + kw.len()..];
            rest = after;
            if !before_ok {
                continue;
            }
            let arg = if let Some(a) = after.strip_prefix('(') {
                a.split([')', ',']).next().unwrap_or("")
            } else if let Some(a) = after.strip_prefix(' ') {
                a.split([',', ' ']).next().unwrap_or("")
            } else {
                continue;
            };
            let arg = arg.trim();
            if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                names.push(arg.to_string());
            }
        }
    }
    names
}

/// The string arguments of `name("...")`, `name('...')` or `name "..."` on a line.
fn quoted_calls(line: &str, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(name) {
        let boundary = i == 0 || !(rest.as_bytes()[i - 1].is_ascii_alphanumeric() || rest.as_bytes()[i - 1] == b'_');
        let after = rest[i + name.len()..].trim_start_matches(['(', ' ']);
        rest = &rest[i + name.len()..];
        if !boundary {
            continue;
        }
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
        if let Some(end) = after[1..].find(q) {
            found.push(after[1..1 + end].to_string());
        }
    }
    found
}

fn section_of(lines: &[&str], path: &str, what: &str) -> Section {
    let mut defs = Vec::new();
    let mut body = Vec::new();
    let mut inside = false;
    let mut done = false;
    for l in lines {
        let t = l.trim();
        if done {
            // The process's closing brace (and blank lines) may follow the block.
            assert!(t.is_empty() || t == "}", "{path}: {what}: unexpected line after the command block: {t}");
            continue;
        }
        if t == "\"\"\"" {
            if inside {
                done = true;
            }
            inside = !inside;
            continue;
        }
        if inside {
            body.push(*l);
        } else if let Some(d) = t.strip_prefix("def ") {
            let (name, expr) = d.split_once('=').unwrap_or_else(|| panic!("{path}: {what}: bad def: {t}"));
            defs.push((name.trim().to_string(), expr.trim().to_string()));
        } else {
            assert!(t.is_empty() || t.starts_with("//"), "{path}: {what}: only `def` lines may precede the command block, found: {t}");
        }
    }
    assert!(done, "{path}: {what}: no \"\"\" command block");
    Section { defs, body: body.join("\n") }
}

fn render_section(s: &Section, b: &Bindings) -> Result<String, String> {
    let scope = with_defs(s, b)?;
    interpolate(&s.body, &scope)
}

fn with_defs(s: &Section, b: &Bindings) -> Result<Bindings, String> {
    let mut scope = b.clone();
    for (name, expr) in &s.defs {
        let v = eval(expr, &scope).map_err(|e| format!("def {name}: {e}"))?;
        scope.insert(name.clone(), v);
    }
    Ok(scope)
}

fn lookup(r: &str, scope: &Bindings) -> Result<Value, String> {
    if let Some(v) = scope.get(r) {
        return Ok(v.clone());
    }
    if r.starts_with("task.ext.") || r == "task.accelerator" {
        return Ok(Value::Null);
    }
    Err(format!("unbound reference `{r}`"))
}

fn is_ref(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !p.starts_with(|c: char| c.is_ascii_digit()))
}

/// One expression of the allowed forms: a string literal, a reference, `a ?: b`,
/// `c ? a : b`, or `ref.collect { "...${it}..." }.join('sep')`.
fn eval(expr: &str, scope: &Bindings) -> Result<Value, String> {
    let e = expr.trim();
    if let Some(v) = literal(e, scope)? {
        return Ok(v);
    }
    if is_ref(e) {
        return lookup(e, scope);
    }
    if let Some((l, r)) = split_top(e, "?:") {
        let lv = eval(l, scope)?;
        return if lv.truthy() { Ok(lv) } else { eval(r, scope) };
    }
    if let Some((c, rest)) = split_top(e, "?") {
        let (a, b) = split_top(rest, ":").ok_or_else(|| format!("ternary without `:` in `{e}`"))?;
        let c = c.trim();
        if !is_ref(c) {
            return Err(format!("condition `{c}` is not a plain reference"));
        }
        return if lookup(c, scope)?.truthy() { eval(a, scope) } else { eval(b, scope) };
    }
    if let Some((r, rest)) = e.split_once(".collect") {
        let rest = rest.trim_start();
        let close = rest.rfind('}').ok_or_else(|| format!("unclosed collect in `{e}`"))?;
        let template = rest[..close].trim().strip_prefix('{').ok_or_else(|| format!("collect without a closure in `{e}`"))?.trim();
        let join = rest[close + 1..].trim().strip_prefix(".join(").and_then(|s| s.strip_suffix(')')).ok_or_else(|| format!("collect must end in .join('sep') in `{e}`"))?;
        let sep = match literal(join.trim(), scope)? {
            Some(Value::Str(s)) => s,
            _ => return Err(format!("join separator must be a string in `{e}`")),
        };
        let items = match lookup(r.trim(), scope)? {
            Value::List(l) => l,
            Value::Str(s) if !s.is_empty() => vec![s],
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for it in items {
            let mut inner = scope.clone();
            inner.insert("it".to_string(), Value::Str(it));
            match literal(template, &inner)? {
                Some(v) => out.push(v.render()),
                None => return Err(format!("collect closure must be a string in `{e}`")),
            }
        }
        return Ok(Value::Str(out.join(&sep)));
    }
    Err(format!("expression outside the allowed subset: `{e}`"))
}

/// A whole-expression string literal, if `e` is one.
fn literal(e: &str, scope: &Bindings) -> Result<Option<Value>, String> {
    for q in ['\'', '"'] {
        if e.len() >= 2 && e.starts_with(q) && e.ends_with(q) && !e[1..e.len() - 1].contains(q) {
            let inner = &e[1..e.len() - 1];
            return Ok(Some(Value::Str(if q == '"' { interpolate(inner, scope)? } else { inner.to_string() })));
        }
    }
    Ok(None)
}

/// Splits at the first top-level occurrence of `op` outside quotes and braces.
fn split_top<'a>(e: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let bytes = e.as_bytes();
    let (mut quote, mut depth) = (None, 0i32);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '{' | '(' => depth += 1,
                '}' | ')' => depth -= 1,
                _ if depth == 0 && e[i..].starts_with(op) => {
                    // `?` must not match the first half of `?:`.
                    if op == "?" && e[i..].starts_with("?:") {
                        i += 2;
                        continue;
                    }
                    return Some((&e[..i], &e[i + op.len()..]));
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Groovy GString interpolation: `${ref}`, `$ref.prop`, `\\` and `\$` escapes.
fn interpolate(s: &str, scope: &Bindings) -> Result<String, String> {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() && (chars[i + 1] == '\\' || chars[i + 1] == '$' || chars[i + 1] == '"') {
            out.push(chars[i + 1]);
            i += 2;
        } else if c == '$' && i + 1 < chars.len() && chars[i + 1] == '{' {
            let end = chars[i..].iter().position(|c| *c == '}').ok_or("unclosed ${")? + i;
            let r: String = chars[i + 2..end].iter().collect();
            let r = r.trim();
            if !is_ref(r) {
                return Err(format!("only references may appear in ${{}}: `{r}`"));
            }
            out.push_str(&lookup(r, scope)?.render());
            i = end + 1;
        } else if c == '$' && i + 1 < chars.len() && (chars[i + 1].is_ascii_alphabetic() || chars[i + 1] == '_') {
            // Groovy takes a dotted property chain greedily: "$prefix.vcf" reads prefix.vcf.
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_' || (chars[j] == '.' && j + 1 < chars.len() && (chars[j + 1].is_ascii_alphabetic() || chars[j + 1] == '_'))) {
                j += 1;
            }
            let r: String = chars[i + 1..j].iter().collect();
            out.push_str(&lookup(&r, scope)?.render());
            i = j;
        } else if c == '$' {
            return Err(format!("bare `$` in `{s}` (escape shell variables as \\$)"));
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(&str, Value)]) -> Bindings {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn renders_the_subset() {
        let scope = b(&[("meta.id", Value::s("s1")), ("gtf", Value::files(&[])), ("models", Value::files(&["a.st", "b.st"])), ("task.cpus", Value::s("2"))]);
        assert_eq!(eval("task.ext.args ?: ''", &scope).unwrap(), Value::s(""));
        assert_eq!(eval("task.ext.prefix ?: \"${meta.id}\"", &scope).unwrap(), Value::s("s1"));
        assert_eq!(eval("gtf ? \"--gtf ${gtf}\" : ''", &scope).unwrap(), Value::s(""));
        assert_eq!(eval("models.collect { \"-m ${it}\" }.join(' ')", &scope).unwrap(), Value::s("-m a.st -m b.st"));
        assert_eq!(interpolate("x \\\\\n  --threads $task.cpus \\$HOME ${meta.id}.vcf", &scope).unwrap(), "x \\\n  --threads 2 $HOME s1.vcf");
        assert!(interpolate("$prefix.vcf", &scope).is_err());
        assert!(eval("gtf.name", &scope).is_err());
        assert!(eval("foo(1)", &scope).is_err());
    }
}
