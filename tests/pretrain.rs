//! shorkie-pretrain: a tiny LM learns on real chrI, resume equals an uninterrupted run,
//! the published LM architecture trains through the same code, and bad input is named.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_one_line_error, data, trainer_weights};
use shorkie::train::adam::AdamConfig;
use shorkie::train::data::{read_genome_table, Corpus, CorpusOptions, MaskOptions};
use shorkie::train::lm::LmTask;
use shorkie::train::trainer::{Task, TrainOptions, Trainer};
use shorkie::Params;

const TINY: &str = r#"{"train": {"batch_size": 8, "learning_rate": 0.002, "warmup_steps": 10, "global_clipnorm": 1.0},
 "model": {"seq_length": 256, "activation": "gelu", "norm_type": "batch", "bn_momentum": 0.9,
  "trunk": [{"name": "conv_dna", "filters": 32, "kernel_size": 11, "norm_type": null, "activation": "linear"},
            {"name": "res_tower", "filters_init": 32, "filters_end": 48, "divisible_by": 16, "kernel_size": 5, "repeat": 2},
            {"name": "transformer_tower", "key_size": 8, "heads": 2, "num_position_features": 16, "repeat": 1},
            {"name": "unet_conv", "kernel_size": 3, "upsample_conv": true},
            {"name": "unet_conv", "kernel_size": 3, "upsample_conv": true}],
  "head_human": {"name": "final", "units": 4, "activation": "softmax"}}}"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn table(dir: &Path) -> PathBuf {
    write(dir, "genomes.tsv", &format!("name\tfasta\tgtf\tspecies\nScer\t{}\t{}\t0\n", data("chrI.fa.gz").display(), data("chrI.genes.gtf").display()))
}

fn options(out: &Path, steps_per_epoch: usize, epochs: usize, max_steps: Option<u64>) -> TrainOptions {
    TrainOptions {
        out_dir: out.to_path_buf(),
        seed: 11,
        batch_size: 8,
        steps_per_epoch,
        max_epochs: epochs,
        min_epochs: 1,
        patience: 100,
        adam: AdamConfig { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-7, weight_decay: 0.0, warmup_steps: 10, clip_norm: 1.0 },
        progress: false,
        max_steps,
        device: candle_core::Device::Cpu,
    }
}

fn corpus(dir: &Path, seq_len: usize, num_species: usize) -> LmTask {
    let specs = read_genome_table(&table(dir)).unwrap();
    let corpus = Corpus::load(
        &specs,
        &CorpusOptions { seq_len, stride: seq_len, max_n_frac: 0.1, valid_contigs: vec![], test_contigs: vec![], num_species },
    )
    .unwrap();
    LmTask::new(corpus, MaskOptions { rate: 0.15, exon_weight: 0.1, repeat_weight: 0.1, reverse_complement: true }, 16)
}

#[test]
fn tiny_lm_loss_goes_down_on_real_chri() {
    let tmp = tempfile::tempdir().unwrap();
    let params = Params::from_json_str(TINY, "tiny.json").unwrap();
    let c = corpus(tmp.path(), 256, 1);
    let probe: Vec<_> = c.corpus.train.iter().step_by(25).take(32).copied().collect();
    let mut t = Trainer::new(&params, c, options(&tmp.path().join("run"), 40, 2, None), false, None).unwrap();
    let (before, _) = t.task.evaluate(&t.model, &probe, 8, 11, &candle_core::Device::Cpu).unwrap();
    let logs = t.run().unwrap();
    let (after, acc) = t.task.evaluate(&t.model, &probe, 8, 11, &candle_core::Device::Cpu).unwrap();
    eprintln!("masked loss {before:.4} -> {after:.4}, accuracy {acc:.3}; epochs {}", logs.len());
    assert!(after < before - 0.02, "loss did not go down: {before} -> {after}");
    assert!(tmp.path().join("run/train_log.tsv").exists());
    let svg = std::fs::read_to_string(tmp.path().join("run/train_curves.svg")).unwrap();
    assert!(svg.contains("<polyline"));
}

#[test]
fn resume_after_a_checkpoint_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let params = Params::from_json_str(TINY, "tiny.json").unwrap();
    let mut straight = Trainer::new(&params, corpus(tmp.path(), 256, 1), options(&tmp.path().join("a"), 3, 2, None), false, None).unwrap();
    straight.run().unwrap();
    // Stopped inside the second epoch, then resumed from the checkpoint by a new trainer.
    let mut first = Trainer::new(&params, corpus(tmp.path(), 256, 1), options(&tmp.path().join("b"), 3, 2, Some(4)), false, None).unwrap();
    first.run().unwrap();
    assert_eq!(first.state.step, 4);
    drop(first);
    let mut resumed = Trainer::new(&params, corpus(tmp.path(), 256, 1), options(&tmp.path().join("b"), 3, 2, None), true, None).unwrap();
    assert_eq!(resumed.state.step, 4);
    resumed.run().unwrap();
    assert_eq!(resumed.state, straight.state);
    assert_eq!(resumed.adam.step, straight.adam.step);
    let (a, b) = (trainer_weights(&straight), trainer_weights(&resumed));
    assert_eq!(a.len(), b.len());
    for ((na, va), (nb, vb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(va == vb, "{na} differs after resume");
    }
    // The batch-norm moving statistics were trained too.
    let mv = a.iter().find(|(n, _)| n.ends_with("moving_variance")).unwrap();
    assert!(mv.1.iter().any(|v| (*v - 1.0).abs() > 1e-6));
}

#[test]
fn published_lm_architecture_trains_one_step() {
    let tmp = tempfile::tempdir().unwrap();
    let params = Params::from_file(data("shorkie/params_lm.json")).unwrap();
    let mut opts = options(&tmp.path().join("run"), 1, 1, Some(1));
    opts.batch_size = 1;
    let c = corpus(tmp.path(), 16384, 165);
    assert_eq!(c.channels(), 170);
    let mut t = Trainer::new(&params, c, opts, false, None).unwrap();
    let before = trainer_weights(&t);
    let loss = t.train_step().unwrap();
    assert!(loss.is_finite() && loss > 0.5 && loss < 3.0, "loss {loss}");
    let after = trainer_weights(&t);
    let changed = before.iter().zip(&after).filter(|(a, b)| a.1 != b.1).count();
    assert!(changed > before.len() / 2, "only {changed} of {} tensors moved", before.len());
}

fn pretrain(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shorkie-pretrain")).args(args).output().unwrap()
}

#[test]
fn bad_input_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let tiny = write(p, "tiny.json", TINY);
    let run = |genomes: &Path, params: &Path| {
        let out = p.join("run");
        let _ = std::fs::remove_dir_all(&out);
        pretrain(&["--genomes", genomes.to_str().unwrap(), "-p", params.to_str().unwrap(), "-o", out.to_str().unwrap(), "-q", "--epochs", "1", "--steps-per-epoch", "1"])
    };
    // FASTA with no sequences.
    let empty = write(p, "empty.fa", "");
    let g = write(p, "g1.tsv", &format!("Scer\t{}\t-\t0\n", empty.display()));
    assert_one_line_error(&run(&g, &tiny), &["empty.fa", "no sequences"]);
    // A species index beyond the species channels.
    let g = write(p, "g2.tsv", &format!("Scer\t{}\t-\t3\n", data("chrI.fa.gz").display()));
    let out = pretrain(&["--genomes", g.to_str().unwrap(), "-p", tiny.to_str().unwrap(), "-o", p.join("r2").to_str().unwrap(), "--num-species", "2", "-q"]);
    assert_one_line_error(&out, &["species Scer has index 3", "2 species channels"]);
    // Window longer than every contig.
    let short = write(p, "short.fa", ">c1\nACGTACGTAC\n>c2\nACGT\n");
    let g = write(p, "g3.tsv", &format!("x\t{}\t-\t0\n", short.display()));
    assert_one_line_error(&run(&g, &tiny), &["window (256 bp) is longer than every contig"]);
    // Unreadable GTF.
    let gtf = write(p, "bad.gtf", "chrI\tSGD\texon\tone\ttwo\t.\t+\t.\tgene_id \"x\";\n");
    let g = write(p, "g4.tsv", &format!("Scer\t{}\t{}\t0\n", data("chrI.fa.gz").display(), gtf.display()));
    assert_one_line_error(&run(&g, &tiny), &["bad.gtf", "line 1", "bad start"]);
    // Params without a 4-base head.
    let g = table(p);
    let out = run(&g, &data("small_finetuned/params.json"));
    assert_one_line_error(&out, &["4 bases"]);
    // A malformed table.
    let g = write(p, "g5.tsv", "Scer\tonly-two-columns\n");
    assert_one_line_error(&run(&g, &tiny), &["g5.tsv", "line 1", "4 tab-separated columns"]);
}
