//! The flags every binary shares mean one thing and say it in the same words, and a
//! repeated flag is not an error: the last one wins, so a pipeline's `ext.args` can
//! override what a module sets.

use std::process::Command;

const ALL: &[(&str, &str)] = &[
    ("shorkie-convert", env!("CARGO_BIN_EXE_shorkie-convert")),
    ("shorkie-embed", env!("CARGO_BIN_EXE_shorkie-embed")),
    ("shorkie-eval", env!("CARGO_BIN_EXE_shorkie-eval")),
    ("shorkie-ism", env!("CARGO_BIN_EXE_shorkie-ism")),
    ("shorkie-predict", env!("CARGO_BIN_EXE_shorkie-predict")),
    ("shorkie-pretrain", env!("CARGO_BIN_EXE_shorkie-pretrain")),
    ("shorkie-probe", env!("CARGO_BIN_EXE_shorkie-probe")),
    ("shorkie-score", env!("CARGO_BIN_EXE_shorkie-score")),
    ("shorkie-simulate", env!("CARGO_BIN_EXE_shorkie-simulate")),
    ("shorkie-train", env!("CARGO_BIN_EXE_shorkie-train")),
];

/// Binaries that run a model on batches of sequences.
const BATCHED: &[&str] = &["shorkie-convert", "shorkie-embed", "shorkie-eval", "shorkie-ism", "shorkie-predict", "shorkie-score"];
/// Binaries with `--device`.
const ON_A_DEVICE: &[&str] = &[
    "shorkie-convert", "shorkie-embed", "shorkie-eval", "shorkie-ism", "shorkie-predict", "shorkie-pretrain", "shorkie-score", "shorkie-train",
];

fn help(bin: &str, extra: &[&str]) -> String {
    let out = Command::new(bin).args(extra).arg("--help").output().unwrap();
    assert!(out.status.success(), "{bin} {extra:?} --help: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The help entry of `flag`: its line in `--help` and the indented description below it.
fn entry(text: &str, flag: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| {
        let l = l.trim_start();
        l.starts_with(flag) || l.split(", ").any(|part| part.starts_with(flag))
    })?;
    let mut out = vec![lines[at].trim().to_string()];
    out.extend(lines[at + 1..].iter().take_while(|l| l.starts_with("          ")).map(|l| l.trim().to_string()));
    // clap puts a short description on the flag's line or below it, by the widest entry.
    Some(out.join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
}

#[test]
fn shared_flags_have_one_help_text_everywhere() {
    let mut seen: std::collections::HashMap<&str, (String, &str)> = Default::default();
    for &(name, bin) in ALL {
        let text = help(bin, &[]);
        let mut flags = vec!["--threads", "-q, --quiet"];
        if BATCHED.contains(&name) {
            flags.push("--batch-size");
        }
        if ON_A_DEVICE.contains(&name) {
            flags.push("--device");
        }
        for flag in flags {
            let e = entry(&text, flag).unwrap_or_else(|| panic!("{name}: no {flag} in --help:\n{text}"));
            let long = flag.rsplit(", ").next().unwrap();
            let listed = text.lines().filter(|l| l.trim_start().split([' ', ',']).any(|w| w == long)).count();
            assert_eq!(listed, 1, "{name}: {flag} listed once");
            match seen.get(flag) {
                None => {
                    seen.insert(flag, (e, name));
                }
                Some((first, who)) => assert_eq!(&e, first, "{flag}: {name} and {who} differ"),
            }
        }
    }
    assert_eq!(seen["--threads"].0, "--threads <N> Compute threads (default: all cores)");
    assert!(seen["--device"].0.contains("cpu, cuda or cuda:N"), "{}", seen["--device"].0);
}

#[test]
fn a_repeated_flag_is_not_an_error_the_last_one_wins() {
    for &(name, bin) in ALL {
        // Parsing stops at --help; a rejected repeat would fail before it.
        help(bin, &["--threads", "1", "--threads", "2", "-q", "-q"]);
        if BATCHED.contains(&name) {
            help(bin, &["--batch-size", "2", "--batch-size", "4"]);
        }
        if ON_A_DEVICE.contains(&name) {
            help(bin, &["--device", "cuda", "--device", "cpu"]);
        }
    }
    // The last value is the one used: an impossible batch size, then a good one, runs.
    let dir = tempfile::tempdir().unwrap();
    let fasta = dir.path().join("one.fa");
    std::fs::write(&fasta, ">s\nACGTACGTAC\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shorkie-score"))
        .args(["--batch-size", "0", "--batch-size", "2", "-f"])
        .arg(&fasta)
        .arg("-")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("--batch-size"), "the first --batch-size was used: {err}");
}

/// `script` (util-linux) gives the scorer a terminal as standard input: with no file and
/// nothing piped in it prints its usage and exits 2 rather than waiting for typing.
#[test]
fn the_scorer_at_a_terminal_with_no_input_prints_usage() {
    let dir = tempfile::tempdir().unwrap();
    let fasta = dir.path().join("one.fa");
    std::fs::write(&fasta, ">s\nACGTACGTAC\n").unwrap();
    let cmd = format!("{} -q -f {}", env!("CARGO_BIN_EXE_shorkie-score"), fasta.display());
    let out = Command::new("timeout").args(["60", "script", "-qec", &cmd, "/dev/null"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("Usage: shorkie-score") && text.contains("no input"), "{text}");
}

/// `scripts/install-docs` writes completions and man pages that the shells and man accept.
#[test]
fn completions_and_man_pages_install_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_shorkie-score")).parent().unwrap();
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-docs"))
        .arg(dir.path())
        .env("SHORKIE_BIN_DIR", bin_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "install-docs prints on stderr only");
    for &(name, _) in ALL {
        let bash = dir.path().join(format!("share/bash-completion/completions/{name}"));
        // Sourcing the completion registers it, and it offers the flags.
        let script = format!("source {}; complete -p {name}; COMP_WORDS=({name} --thr); COMP_CWORD=1; COMP_LINE='{name} --thr'; COMP_POINT=${{#COMP_LINE}}; _{f} {name} --thr {name}; echo \"${{COMPREPLY[@]}}\"", bash.display(), f = name.replace('-', "__"));
        let out = Command::new("bash").args(["-c", &script]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("--threads"), "{name}: {text} {}", String::from_utf8_lossy(&out.stderr));
        let man = std::fs::read_to_string(dir.path().join(format!("share/man/man1/{name}.1"))).unwrap();
        assert!(man.starts_with(".ie") || man.contains(&format!(".TH {name}")), "{name}: {}", &man[..man.len().min(200)]);
        assert!(man.contains("threads"), "{name}: the man page lists the flags");
        for shell in ["zsh/site-functions/_", "fish/vendor_completions.d/"] {
            let f = dir.path().join(format!("share/{shell}{name}{}", if shell.starts_with("fish") { ".fish" } else { "" }));
            assert!(std::fs::metadata(&f).unwrap().len() > 100, "{}", f.display());
        }
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_shorkie-score")).args(["--generate-completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected bash, zsh"));
}

/// Every binary that runs a model refuses `--device cuda` in a CPU-only build with how to
/// get one, before reading any input.
#[test]
fn device_cuda_in_a_cpu_build_says_how_to_build_with_cuda() {
    if cfg!(feature = "cuda") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none");
    let n = none.to_str().unwrap();
    let runs: &[(&str, Vec<&str>)] = &[
        (env!("CARGO_BIN_EXE_shorkie-score"), vec!["-f", n, n]),
        (env!("CARGO_BIN_EXE_shorkie-predict"), vec!["-f", n, n]),
        (env!("CARGO_BIN_EXE_shorkie-embed"), vec![n]),
        (env!("CARGO_BIN_EXE_shorkie-ism"), vec!["-f", n, "-o", n, n]),
        (env!("CARGO_BIN_EXE_shorkie-convert"), vec!["-p", n, "--check", n, n]),
        (env!("CARGO_BIN_EXE_shorkie-eval"), vec!["-m", n, "-p", n, "--targets", n, "--fasta", n, "--sequences", n, "-o", n]),
    ];
    for (bin, args) in runs {
        let out = Command::new(bin).args(args).args(["--device", "cuda:1"]).output().unwrap();
        assert!(!none.exists(), "{bin} wrote before checking --device");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bin}: {err}");
        assert!(err.contains("--device cuda:1") && err.contains("--features cuda"), "{bin}: {err}");
    }
}
