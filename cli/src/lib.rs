//! VPP-style command line interface core ("vppctl" habits).
//!
//! A [`Registry`] maps space separated command paths (`show interface`,
//! `set interface ip address`, ...) to handlers over an engine-supplied
//! context type `C`. Typed words may be any unique prefix of the registered
//! word (`sh int`), an exact word wins over prefixes, the longest matching
//! path runs and the remaining input is handed to the handler as [`Args`],
//! an unformat-style cursor.
//!
//! The daemon serves the registry on a unix socket with [`server::CliServer`];
//! [`client::Client`] and the `dpctl` binary ([`dpctl`]) talk to it.
//!
//! Built-in commands: `comment { ... }`, `echo TEXT`, `exec FILE`,
//! `help [WORDS]` and `?`; a line ending in `?` lists the possible next words.
//!
//! ```
//! use cli::{Args, CliError, Registry};
//!
//! struct Engine { mtu: u32 }
//!
//! fn set_mtu(e: &mut Engine, args: &mut Args) -> Result<String, CliError> {
//!     let mtu = args.u32()?;
//!     args.expect_end()?;
//!     e.mtu = mtu;
//!     Ok(String::new())
//! }
//! fn show_mtu(e: &mut Engine, args: &mut Args) -> Result<String, CliError> {
//!     args.expect_end()?;
//!     Ok(format!("mtu {}", e.mtu))
//! }
//!
//! let mut r = Registry::new();
//! r.register("set interface mtu", "set interface mtu N", set_mtu).unwrap();
//! r.register("show mtu", "show the MTU", show_mtu).unwrap();
//! let mut e = Engine { mtu: 1500 };
//! r.execute(&mut e, "set int mtu 9000").unwrap();
//! assert_eq!(r.execute(&mut e, "sh mtu").unwrap(), "mtu 9000");
//! assert_eq!(r.exec_script(&mut e, "# c\nset int mtu 0x10\nsh mtu").unwrap(), "mtu 16");
//! assert!(r.execute(&mut e, "s mtu").unwrap_err().to_string().contains("ambiguous"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod args;
pub mod client;
pub mod dpctl;
mod proto;
pub mod server;
pub mod stream;
pub mod telnet;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

pub use args::Args;

/// Maximum nesting of `exec` (a script exec-ing a script ...), to stop recursion.
pub const MAX_EXEC_DEPTH: usize = 16;

/// Longest piece of user input quoted verbatim in an error message.
const SNIPPET_MAX: usize = 80;

/// Shortens `s` for quoting in a one-line message.
pub(crate) fn snippet(s: &str) -> String {
    match s.char_indices().nth(SNIPPET_MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// A command failure: a single-line message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError {
    msg: String,
}

impl CliError {
    /// Makes an error; control characters (newlines, tabs, ...) are replaced by spaces
    /// so the message is always one line.
    pub fn new(msg: impl Into<String>) -> Self {
        let msg: String = msg.into();
        let msg = if msg.chars().any(char::is_control) {
            msg.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        } else {
            msg
        };
        CliError { msg }
    }

    /// The message text.
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for CliError {}

/// A command handler: gets the engine context and the arguments after the
/// command path; returns the output text (may be empty).
pub type Handler<C> = fn(&mut C, &mut Args) -> Result<String, CliError>;

/// One possible next word of a partial command line, for `?` and tab completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The word.
    pub word: String,
    /// Its short help: the command's help, or `{a|b|...}` for a word that only prefixes commands.
    pub help: String,
}

enum Action<C> {
    User(Handler<C>),
    Comment,
    Echo,
    Exec,
    Help,
    Question,
}

impl<C> Clone for Action<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Action<C> {}

struct Cmd<C> {
    path: String,
    help: String,
    action: Action<C>,
}

impl<C> Clone for Cmd<C> {
    fn clone(&self) -> Self {
        Cmd {
            path: self.path.clone(),
            help: self.help.clone(),
            action: self.action,
        }
    }
}

struct Node<C> {
    children: BTreeMap<String, Node<C>>,
    cmd: Option<Cmd<C>>,
}

impl<C> Clone for Node<C> {
    fn clone(&self) -> Self {
        Node {
            children: self.children.clone(),
            cmd: self.cmd.clone(),
        }
    }
}

enum Lookup<'a, C> {
    Found(&'a Node<C>),
    Ambiguous(Vec<&'a str>),
    NotFound,
}

impl<C> Node<C> {
    fn new() -> Self {
        Node {
            children: BTreeMap::new(),
            cmd: None,
        }
    }

    /// Exact word first, else a unique prefix.
    fn lookup(&self, w: &str) -> Lookup<'_, C> {
        if let Some(n) = self.children.get(w) {
            return Lookup::Found(n);
        }
        let mut cands = self
            .children
            .iter()
            .filter(|(k, _)| k.starts_with(w))
            .map(|(k, n)| (k.as_str(), n));
        match (cands.next(), cands.next()) {
            (None, _) => Lookup::NotFound,
            (Some((_, n)), None) => Lookup::Found(n),
            (Some((a, _)), Some((b, _))) => {
                let mut v = vec![a, b];
                v.extend(cands.map(|(k, _)| k));
                Lookup::Ambiguous(v)
            }
        }
    }

    fn child_words(&self) -> String {
        self.children
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Short help shown next to this node's word.
    fn summary(&self) -> String {
        if let Some(c) = &self.cmd {
            return c.help.clone();
        }
        let words: Vec<&str> = self.children.keys().map(String::as_str).collect();
        snippet(&format!("{{{}}}", words.join("|")))
    }

    fn collect<'a>(&'a self, out: &mut Vec<(&'a str, &'a str)>) {
        if let Some(c) = &self.cmd {
            out.push((&c.path, &c.help));
        }
        for n in self.children.values() {
            n.collect(out);
        }
    }
}

/// Why a walk down the command tree stopped.
enum Stop<'a> {
    /// All words were matched.
    End,
    /// Word `at` matched nothing.
    NoMatch,
    /// Word `at` matched several words.
    Ambiguous(Vec<&'a str>),
}

struct Walk<'a, C> {
    /// The deepest node reached.
    node: &'a Node<C>,
    /// Words matched to reach `node`.
    depth: usize,
    /// The deepest command on the way (node, words matched).
    last_cmd: Option<(&'a Node<C>, usize)>,
    stop: Stop<'a>,
}

impl<'a, C> Walk<'a, C> {
    /// The command to run (longest matching command path) and how many words it took.
    fn command(&self) -> Option<(&'a Cmd<C>, usize)> {
        let (n, d) = self.last_cmd?;
        n.cmd.as_ref().map(|c| (c, d))
    }
}

/// What may follow a partial line.
enum Next<'a, C> {
    /// Possible next words.
    Words(Vec<(&'a str, &'a Node<C>)>),
    /// The line already names this command; the rest is its arguments.
    Command(&'a Cmd<C>),
}

/// Formats rows as a two-column table: word left-aligned, then help.
fn table<'a>(rows: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let rows: Vec<(&str, String)> = rows.into_iter().collect();
    let width = rows
        .iter()
        .map(|(w, _)| w.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(w, h)| format!("{w:<width$}  {h}").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The VPP-style command registry, generic over the engine context `C`.
pub struct Registry<C> {
    root: Node<C>,
    /// Called between the commands of a script with the time the script has run; false stops
    /// the script.
    between: Option<fn(&mut C, std::time::Duration) -> bool>,
}

impl<C> Clone for Registry<C> {
    fn clone(&self) -> Self {
        Registry {
            root: self.root.clone(),
            between: self.between,
        }
    }
}

impl<C> fmt::Debug for Registry<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field(
                "commands",
                &self.commands().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> Registry<C> {
    /// A registry with the built-ins registered: `comment`, `echo`, `exec`, `help`, `?`.
    pub fn new() -> Self {
        let mut r = Registry {
            root: Node::new(),
            between: None,
        };
        let builtins: [(&str, &str, Action<C>); 5] = [
            ("comment", "comment { ... }: ignored", Action::Comment),
            ("echo", "echo TEXT: print TEXT", Action::Echo),
            ("exec", "exec FILE: run the commands in FILE", Action::Exec),
            (
                "help",
                "help [WORDS]: list commands [under WORDS]",
                Action::Help,
            ),
            ("?", "? [WORDS]: list possible next words", Action::Question),
        ];
        for (path, help, action) in builtins {
            // Cannot fail: fresh registry, distinct single words.
            let _ = r.insert(&[path], help, action);
        }
        r
    }

    fn insert(&mut self, words: &[&str], help: &str, action: Action<C>) -> Result<(), CliError> {
        let mut node = &mut self.root;
        for w in words {
            node = node
                .children
                .entry((*w).to_string())
                .or_insert_with(Node::new);
        }
        let path = words.join(" ");
        if node.cmd.is_some() {
            return Err(CliError::new(format!(
                "command `{}` already registered",
                snippet(&path)
            )));
        }
        node.cmd = Some(Cmd {
            path,
            help: CliError::new(help).msg,
            action,
        });
        Ok(())
    }

    /// Registers a command. `path` is space separated words, e.g. `"set interface ip address"`;
    /// `help` is a one-line short help. Fails on an empty path, a word containing
    /// `{`, `}`, `,` or `?`, or a path that is already registered.
    pub fn register(
        &mut self,
        path: &str,
        help: &str,
        handler: Handler<C>,
    ) -> Result<(), CliError> {
        let words: Vec<&str> = path.split_whitespace().collect();
        if words.is_empty() {
            return Err(CliError::new("cannot register an empty command path"));
        }
        if let Some(w) = words
            .iter()
            .find(|w| w.contains(['{', '}', ',', '?']) || w.chars().any(char::is_control))
        {
            return Err(CliError::new(format!(
                "invalid word `{}` in command path `{}`",
                snippet(w),
                snippet(path)
            )));
        }
        self.insert(&words, help, Action::User(handler))
    }

    /// All registered commands as `(path, help)`, in word order.
    pub fn commands(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut v = Vec::new();
        self.root.collect(&mut v);
        v.into_iter()
    }

    fn walk<'a>(&'a self, words: &[&str]) -> Walk<'a, C> {
        let mut node = &self.root;
        let mut last_cmd = None;
        let mut depth = 0;
        loop {
            if node.cmd.is_some() {
                last_cmd = Some((node, depth));
            }
            let Some(w) = words.get(depth) else {
                return Walk {
                    node,
                    depth,
                    last_cmd,
                    stop: Stop::End,
                };
            };
            match node.lookup(w) {
                Lookup::Found(n) => {
                    node = n;
                    depth += 1;
                }
                Lookup::Ambiguous(c) => {
                    return Walk {
                        node,
                        depth,
                        last_cmd,
                        stop: Stop::Ambiguous(c),
                    }
                }
                Lookup::NotFound => {
                    return Walk {
                        node,
                        depth,
                        last_cmd,
                        stop: Stop::NoMatch,
                    }
                }
            }
        }
    }

    /// Error for a walk that found no command (or an ambiguous word).
    fn walk_error(line: &str, words: &[&str], w: &Walk<'_, C>) -> CliError {
        let line = snippet(line.trim());
        match &w.stop {
            Stop::Ambiguous(c) => CliError::new(format!(
                "ambiguous command `{line}`: `{}` could be: {}",
                snippet(words.get(w.depth).copied().unwrap_or_default()),
                c.join(", ")
            )),
            Stop::End if w.depth > 0 => CliError::new(format!(
                "incomplete command `{line}`: expected one of: {}",
                w.node.child_words()
            )),
            _ if w.depth > 0 => CliError::new(format!(
                "unknown command `{line}`: after `{}` expected one of: {}",
                words[..w.depth].join(" "),
                w.node.child_words()
            )),
            _ => CliError::new(format!(
                "unknown command `{line}`: expected one of: {}",
                w.node.child_words()
            )),
        }
    }

    /// Runs one command line and returns its output (may be empty). An empty
    /// line gives `Ok("")`; a line ending in `?` gives the possible next words.
    pub fn execute(&self, ctx: &mut C, line: &str) -> Result<String, CliError> {
        self.execute_at(ctx, line, 0)
    }

    fn execute_at(&self, ctx: &mut C, line: &str, depth: usize) -> Result<String, CliError> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(String::new());
        }
        if let Some(q) = line.strip_suffix('?') {
            return self.question(q);
        }
        let mut args = Args::new(line)?;
        let (cmd, n) = {
            let words = args.leading_words();
            let w = self.walk(&words);
            match (&w.stop, w.command()) {
                (Stop::Ambiguous(_), _) | (_, None) => {
                    return Err(Self::walk_error(line, &words, &w))
                }
                (_, Some(c)) => c,
            }
        };
        args.advance(n);
        match cmd.action {
            Action::User(h) => h(ctx, &mut args),
            Action::Comment => Ok(String::new()),
            Action::Echo => Ok(args.take_rest()),
            Action::Help => self.help(&args),
            Action::Question => self.question(&args.remaining()),
            Action::Exec => {
                let Some(path) = args.next_word() else {
                    return Err(CliError::new("exec: missing FILE"));
                };
                args.expect_end()?;
                if depth >= MAX_EXEC_DEPTH {
                    return Err(CliError::new(format!(
                        "exec `{}`: nesting deeper than {MAX_EXEC_DEPTH} levels (recursive exec?)",
                        snippet(&path)
                    )));
                }
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    CliError::new(format!("exec: cannot read `{}`: {e}", snippet(&path)))
                })?;
                self.exec_script_at(ctx, &text, depth + 1)
                    .map_err(|e| CliError::new(format!("{}: {e}", snippet(&path))))
            }
        }
    }

    /// Call `f` between the commands of every script ([`Registry::exec_script`], `exec FILE`),
    /// with the time the script has run so far: a long script then lets the context do other
    /// work as it goes (the forwarder keeps forwarding); when `f` returns false the script
    /// stops with an error.
    pub fn set_between_commands(&mut self, f: fn(&mut C, std::time::Duration) -> bool) {
        self.between = Some(f);
    }

    /// Runs a script (the text of an exec file): one command per line; blank lines
    /// and lines starting with `#` are skipped; a line whose `{` are not yet closed
    /// continues on the following lines (joined with a space) until braces balance.
    /// Returns the outputs of the commands, each on its own line(s). Stops at the
    /// first failing command; the error names the line number and the command.
    pub fn exec_script(&self, ctx: &mut C, text: &str) -> Result<String, CliError> {
        self.exec_script_at(ctx, text, 0)
    }

    fn exec_script_at(&self, ctx: &mut C, text: &str, depth: usize) -> Result<String, CliError> {
        let started = std::time::Instant::now();
        let mut out = String::new();
        let mut cmd = String::new();
        let mut start = 0;
        let mut braces: usize = 0;
        let mut broken = false;
        for (idx, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if cmd.is_empty() {
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                start = idx + 1;
            } else {
                cmd.push(' ');
            }
            cmd.push_str(l);
            for c in l.chars() {
                match c {
                    '{' => braces += 1,
                    '}' => match braces.checked_sub(1) {
                        Some(b) => braces = b,
                        None => broken = true,
                    },
                    _ => {}
                }
            }
            if braces > 0 && !broken {
                continue;
            }
            let o = self
                .execute_at(ctx, &cmd, depth)
                .map_err(|e| CliError::new(format!("line {start}: `{}`: {e}", snippet(&cmd))))?;
            if !o.is_empty() {
                out.push_str(&o);
                if !o.ends_with('\n') {
                    out.push('\n');
                }
            }
            cmd.clear();
            braces = 0;
            broken = false;
            if let Some(f) = self.between {
                if !f(ctx, started.elapsed()) {
                    return Err(CliError::new(format!(
                        "line {start}: stopped: the process is shutting down"
                    )));
                }
            }
        }
        if !cmd.is_empty() {
            return Err(CliError::new(format!(
                "line {start}: `{}`: unbalanced `{{`",
                snippet(&cmd)
            )));
        }
        if out.ends_with('\n') {
            out.pop();
        }
        Ok(out)
    }

    /// The command whose arguments the line is in, or the walk's error.
    fn in_command<'a>(line: &str, all: &[&str], w: &Walk<'a, C>) -> Result<Next<'a, C>, CliError> {
        match w.command() {
            Some((c, _)) => Ok(Next::Command(c)),
            None => Err(Self::walk_error(line, all, w)),
        }
    }

    /// What may follow `line`. With `exact_descends`, a last word typed without a
    /// trailing space that exactly names a word is taken as complete (`show?`).
    fn next(&self, line: &str, exact_descends: bool) -> Result<Next<'_, C>, CliError> {
        let args = Args::new(line)?;
        let all = args.leading_words();
        let in_args = all.len() < args.tokens_left();
        let open_word = !in_args && !all.is_empty() && !line.ends_with(char::is_whitespace);
        let (full, partial) = match all.split_last() {
            Some((p, rest)) if open_word => (rest, Some(*p)),
            _ => (&all[..], None),
        };
        let mut w = self.walk(full);
        match w.stop {
            Stop::Ambiguous(_) => return Err(Self::walk_error(line, &all, &w)),
            Stop::NoMatch => return Self::in_command(line, &all, &w),
            Stop::End if in_args => return Self::in_command(line, &all, &w),
            Stop::End => {}
        }
        let mut node = w.node;
        if let Some(p) = partial {
            match node.children.get(p) {
                Some(n) if exact_descends => node = n,
                _ => {
                    let cands: Vec<_> = node
                        .children
                        .iter()
                        .filter(|(k, _)| k.starts_with(p))
                        .map(|(k, n)| (k.as_str(), n))
                        .collect();
                    if cands.is_empty() {
                        w.stop = Stop::NoMatch;
                        return Self::in_command(line, &all, &w);
                    }
                    return Ok(Next::Words(cands));
                }
            }
        }
        if node.children.is_empty() {
            if let Some(c) = &node.cmd {
                return Ok(Next::Command(c));
            }
        }
        Ok(Next::Words(
            node.children.iter().map(|(k, n)| (k.as_str(), n)).collect(),
        ))
    }

    /// Output of `LINE?`: possible next words with help, or the command's help line.
    fn question(&self, line: &str) -> Result<String, CliError> {
        Ok(match self.next(line, true)? {
            Next::Words(v) => table(v.into_iter().map(|(k, n)| (k, n.summary()))),
            Next::Command(c) => table([(c.path.as_str(), c.help.clone())]),
        })
    }

    /// `help [WORDS]`: the commands under the prefix WORDS (all if none).
    fn help(&self, args: &Args) -> Result<String, CliError> {
        let words = args.leading_words();
        let w = self.walk(&words);
        if !matches!(w.stop, Stop::End) || words.len() < args.tokens_left() {
            return Err(CliError::new(format!(
                "help: no commands match `{}`",
                snippet(&args.remaining())
            )));
        }
        let mut v = Vec::new();
        w.node.collect(&mut v);
        Ok(table(v.into_iter().map(|(p, h)| (p, h.to_string()))))
    }

    /// Possible next words after `line` (a partial command), each with its help, for
    /// `?` and tab completion. If `line` ends in a partly typed word (no trailing
    /// space), the words completing it are returned; after a space, the words that
    /// may follow. Empty when the line is already in a command's arguments or
    /// matches nothing.
    pub fn complete(&self, line: &str) -> Vec<Completion> {
        match self.next(line.trim_start(), false) {
            Ok(Next::Words(v)) => v
                .into_iter()
                .map(|(k, n)| Completion {
                    word: k.to_string(),
                    help: n.summary(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}
